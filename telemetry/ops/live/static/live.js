// The live timing page: applies the server's events (SSE) to the DOM and the uPlot chart.
// Every number arrives formatted by the server (telemetry/ops/live/display.py); this file
// only places it. `window.liveTiming` exposes the receive delays for the latency bench.
"use strict";

(() => {
  const MAX_DELAYS = 10000;
  const state = {
    fields: {},            // window field -> column heading
    traces: new Map(),     // car id -> Map(window_end_ms -> avg_speed)
    traceMs: 5 * 60 * 1000,
    newestEndMs: null,
    chart: null,
    chartCars: "",         // the cars the chart was built for, "1,2,3"
    dirty: false,
    receiveDelays: [],     // Kafka timestamp -> this page got the window, ms
    transportDelays: [],   // server pushed -> this page got it, ms
    windows: 0,
    laps: 0,
    snapshots: 0,
  };
  window.liveTiming = state;

  const $ = (selector) => document.querySelector(selector);

  function cell(tag, text, field) {
    const td = document.createElement(tag);
    td.textContent = text;
    if (field) td.dataset.field = field;
    return td;
  }

  // Timing tower ---------------------------------------------------------------

  function renderTower(rows, flashCar) {
    const body = $("#tower tbody");
    const lines = rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.car = row.car_id;
      if (row.overall_best) tr.dataset.overallBest = "true";
      tr.append(
        cell("td", row.position, "position"),
        cell("td", row.car_id, "car"),
        cell("td", row.laps, "laps"),
        cell("td", row.last_lap, "last_lap"),
        cell("td", row.best_lap, "best_lap"),
        cell("td", row.gap, "gap"),
      );
      if (row.overall_best) tr.querySelector('[data-field="best_lap"]').classList.add("overall-best");
      if (row.car_id === flashCar) tr.classList.add("flash");
      return tr;
    });
    body.replaceChildren(...lines);
  }

  // Per-car telemetry ----------------------------------------------------------

  function renderFields(fields) {
    state.fields = fields;
    const head = $("#cars thead tr");
    head.replaceChildren(cell("th", "Car"), cell("th", "Window end (UTC)"));
    for (const heading of Object.values(fields)) head.append(cell("th", heading));
  }

  function renderCar(car) {
    const body = $("#cars tbody");
    let tr = body.querySelector(`tr[data-car="${car.car_id}"]`);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.car = car.car_id;
      const after = [...body.children].find((row) => Number(row.dataset.car) > car.car_id);
      body.insertBefore(tr, after || null);
    }
    const cells = [cell("td", car.car_id, "car"), cell("td", car.window_end, "window_end")];
    for (const name of Object.keys(state.fields)) cells.push(cell("td", car.cells[name], name));
    tr.replaceChildren(...cells);
  }

  // Speed trace (uPlot) --------------------------------------------------------

  function addPoint(carId, endMs, speed) {
    if (!state.traces.has(carId)) state.traces.set(carId, new Map());
    state.traces.get(carId).set(endMs, speed);
    if (state.newestEndMs === null || endMs > state.newestEndMs) state.newestEndMs = endMs;
    const start = state.newestEndMs - state.traceMs;
    for (const trace of state.traces.values()) {
      for (const end of trace.keys()) if (end <= start) trace.delete(end);
    }
    state.dirty = true;
  }

  function carColor(carId) {
    return `hsl(${(carId * 137.508) % 360}, 75%, 62%)`;
  }

  // One [x, y] table per car, aligned on their window ends by uPlot's own join.
  function chartData(cars) {
    const tables = cars.map((car) => {
      const points = [...state.traces.get(car)].sort((a, b) => a[0] - b[0]);
      return [points.map(([end]) => end / 1000), points.map(([, speed]) => speed)];
    });
    return uPlot.join(tables);
  }

  function chartWidth() {
    return Math.max(320, $("#trace-chart").clientWidth);
  }

  function drawChart() {
    if (!state.dirty) return;
    state.dirty = false;
    const cars = [...state.traces.keys()].sort((a, b) => a - b);
    if (cars.length === 0) return;
    const data = chartData(cars);
    const key = cars.join(",");
    if (state.chart && state.chartCars === key) {
      state.chart.setData(data);
      return;
    }
    if (state.chart) state.chart.destroy();
    state.chartCars = key;
    state.chart = new uPlot(
      {
        width: chartWidth(),
        height: 280,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
        scales: { x: { time: true } },
        series: [
          { label: "window end (UTC)" },
          ...cars.map((car) => ({
            label: `#${car}`,
            stroke: carColor(car),
            width: 1.5,
            spanGaps: true,
            value: (_u, v) => (v == null ? "—" : v.toFixed(1)),
          })),
        ],
        axes: [
          { stroke: "#aab", grid: { stroke: "#2a2f3a" } },
          { stroke: "#aab", grid: { stroke: "#2a2f3a" }, label: "km/h" },
        ],
      },
      data,
      $("#trace-chart"),
    );
  }

  function tick() {
    drawChart();
    requestAnimationFrame(tick);
  }

  window.addEventListener("resize", () => {
    if (state.chart) state.chart.setSize({ width: chartWidth(), height: 280 });
  });

  // Health ---------------------------------------------------------------------

  function count(value) {
    return value === null || value === undefined ? "—" : String(value);
  }

  function ms(value) {
    return value === null || value === undefined ? "—" : `${Math.round(value)}`;
  }

  function renderHealth(h) {
    const job = $("#job-state");
    if (h.job_state) {
      job.textContent = h.job_state;
      job.title = h.job_detail || "";
      job.dataset.state = h.job_state === "RUNNING" ? "ok" : "warn";
    }
    $("#freshness").textContent =
      h.freshness_ms === null || h.freshness_ms === undefined
        ? "no window yet"
        : `${(h.freshness_ms / 1000).toFixed(1)} s`;
    $("#late-events").textContent = count(h.late_events);
    $("#late-events").title = h.late_detail || "";
    $("#dead-letters").textContent = count(h.dead_letters);
    const push = h.push || {};
    $("#push-latency").textContent = push.count ? `${ms(push.p50_ms)} / ${ms(push.p99_ms)} ms` : "—";
    const feed = $("#connection");
    if (h.feed_error) {
      feed.textContent = "Kafka error";
      feed.title = h.feed_error;
      feed.dataset.state = "warn";
    } else if (feed.textContent === "Kafka error") {
      feed.textContent = "live";
      feed.title = "";
      feed.dataset.state = "ok";
    }
  }

  // Events ---------------------------------------------------------------------

  function onSnapshot(s) {
    state.snapshots += 1;
    state.traceMs = s.trace_ms;
    $("#trace-minutes").textContent = String(Math.round(s.trace_ms / 60000));
    renderFields(s.fields);
    renderTower(s.tower, null);
    $("#cars tbody").replaceChildren();
    for (const car of s.cars) renderCar(car);
    state.traces = new Map();
    state.newestEndMs = null;
    for (const [car, points] of Object.entries(s.traces)) {
      for (const [end, speed] of points) addPoint(Number(car), end, speed);
    }
    state.dirty = true;
    renderHealth(s.health);
  }

  function onWindow(w) {
    const now = Date.now();
    state.windows += 1;
    if (w.kafka_ts_ms != null && state.receiveDelays.length < MAX_DELAYS) {
      state.receiveDelays.push(now - w.kafka_ts_ms);
      state.transportDelays.push(now - w.pushed_ms);
    }
    if (w.latest) renderCar(w.car);
    if (w.tower) renderTower(w.tower, null);
    addPoint(w.car_id, w.window_end_ms, w.avg_speed);
  }

  function onLap(l) {
    state.laps += 1;
    renderTower(l.tower, l.car_id);
  }

  function connect() {
    const source = new EventSource("/events");
    const feed = $("#connection");
    source.addEventListener("snapshot", (e) => onSnapshot(JSON.parse(e.data)));
    source.addEventListener("window", (e) => onWindow(JSON.parse(e.data)));
    source.addEventListener("lap", (e) => onLap(JSON.parse(e.data)));
    source.addEventListener("health", (e) => renderHealth(JSON.parse(e.data)));
    source.onopen = () => {
      feed.textContent = "live";
      feed.dataset.state = "ok";
    };
    source.onerror = () => {
      feed.textContent = "reconnecting";
      feed.dataset.state = "warn";
    };
  }

  connect();
  requestAnimationFrame(tick);
})();
