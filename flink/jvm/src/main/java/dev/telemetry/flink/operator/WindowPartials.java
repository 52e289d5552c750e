package dev.telemetry.flink.operator;

import dev.telemetry.flink.source.RowFields;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.BigIntType;
import org.apache.flink.table.types.logical.DoubleType;
import org.apache.flink.table.types.logical.IntType;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;

/**
 * Partial aggregates of telemetry events per car, lap and tumbling event-time window, held in
 * memory until the watermark closes their window: the one aggregation every event goes through.
 *
 * <p>Here, next to the decoder, an event costs a few field reads and additions; Flink SQL's local
 * window aggregation would wrap each row with its rowtime, project it, serialize key and value to
 * binary rows and hash their bytes. What leaves is small: one row per car, lap and window, and
 * more only where a checkpoint barrier split a window (its rows are merged downstream by SQL, which
 * sums sums and takes the minimum of minima, so a split changes nothing).
 *
 * <p>Windows are {@code [start, start + size)}, aligned to the epoch (SQL's TUMBLE in UTC). A window
 * is closed once the watermark reaches its last millisecond, when Flink fires it; its partials are
 * emitted with that millisecond as their timestamp, before the watermark goes on, so they are on
 * time downstream. An event of a closed window is late and never given here.
 *
 * <p>Output row ({@link #ROW_TYPE}): {@code car_id INT, lap INT} (null for events without a lap
 * number, which form partials of their own), then {@link #COLUMNS}' aggregates in order. A sum of a
 * nullable field is null when the field was null in every event, as SQL's SUM.
 */
public final class WindowPartials {

    /** The aggregates, in the output's order after car_id and lap, with their SQL types. */
    public static final List<String> COLUMNS = List.of(
            "event_count", "sum_speed", "min_speed", "max_speed", "sum_speed_squares",
            "sum_rpm", "min_rpm", "max_rpm", "sum_gear",
            "sum_throttle", "throttle_count", "sum_brake", "brake_count", "braking_count",
            "drs_count", "drs_open_count", "first_event");

    private static final LogicalType[] COLUMN_TYPES = {
        new BigIntType(false), new DoubleType(false), new DoubleType(false), new DoubleType(false),
        new DoubleType(false), new DoubleType(false), new IntType(false), new IntType(false),
        new DoubleType(false), new DoubleType(), new BigIntType(false), new DoubleType(),
        new BigIntType(false), new BigIntType(false), new BigIntType(false), new BigIntType(false),
        new LocalZonedTimestampType(false, 3)
    };

    /** The emitted rows' type: car_id, lap, then {@link #COLUMNS}. */
    public static final RowType ROW_TYPE = rowType();

    /** Receives each emitted partial with its timestamp (its window's last millisecond). */
    public interface Emitter {
        void emit(RowData partial, long timestamp);
    }

    private final long windowMillis;
    private final int carPos;
    private final int lapPos;
    private final int speedPos;
    private final int rpmPos;
    private final int gearPos;
    private final int throttlePos;
    private final int brakePos;
    private final int drsPos;

    /** Open partials per car; a car has a few (the windows and laps the watermark left open). */
    private final Map<Integer, List<Partial>> open = new HashMap<>();
    /** The earliest end of an open window: a watermark before it closes nothing. */
    private long earliestEnd = Long.MAX_VALUE;

    /**
     * @param events the rows given to {@link #add} (ConfluentAvroRecordDeserializer's): car_id INT,
     *     lap INT, speed DOUBLE, rpm INT, gear INT, throttle DOUBLE, brake DOUBLE, drs BOOLEAN
     * @param windowMillis the tumbling windows' size
     * @throws IllegalArgumentException if a field is missing or has another type, or the size is not
     *     positive
     */
    public WindowPartials(RowType events, long windowMillis) {
        if (windowMillis <= 0) {
            throw new IllegalArgumentException("window size must be positive, not " + windowMillis + " ms");
        }
        this.windowMillis = windowMillis;
        carPos = RowFields.position(events, "car_id", LogicalTypeRoot.INTEGER);
        lapPos = RowFields.position(events, "lap", LogicalTypeRoot.INTEGER);
        speedPos = RowFields.position(events, "speed", LogicalTypeRoot.DOUBLE);
        rpmPos = RowFields.position(events, "rpm", LogicalTypeRoot.INTEGER);
        gearPos = RowFields.position(events, "gear", LogicalTypeRoot.INTEGER);
        throttlePos = RowFields.position(events, "throttle", LogicalTypeRoot.DOUBLE);
        brakePos = RowFields.position(events, "brake", LogicalTypeRoot.DOUBLE);
        drsPos = RowFields.position(events, "drs", LogicalTypeRoot.BOOLEAN);
    }

    /** Adds a decoded event (no error) at event time {@code timestamp} (ms) to its partial. */
    public void add(RowData event, long timestamp) {
        long start = timestamp - Math.floorMod(timestamp, windowMillis);
        boolean hasLap = !event.isNullAt(lapPos);
        int lap = hasLap ? event.getInt(lapPos) : 0;
        Integer car = event.getInt(carPos);
        List<Partial> partials = open.computeIfAbsent(car, c -> new ArrayList<>(4));
        Partial partial = null;
        for (int i = partials.size() - 1; i >= 0; i--) {
            Partial candidate = partials.get(i);
            if (candidate.start == start && candidate.hasLap == hasLap && candidate.lap == lap) {
                partial = candidate;
                break;
            }
        }
        if (partial == null) {
            partial = new Partial(car, hasLap, lap, start, timestamp);
            partials.add(partial);
            earliestEnd = Math.min(earliestEnd, start + windowMillis);
        }
        partial.add(event, timestamp);
    }

    /** Emits (and forgets) the partials of every window the watermark closed. */
    public void emitClosed(long watermark, Emitter out) {
        if (watermark < earliestEnd - 1) {
            return;
        }
        emitWhere(watermark, out);
    }

    /** Emits (and forgets) every partial: before a checkpoint barrier, and at the end of input. */
    public void emitAll(Emitter out) {
        if (!open.isEmpty()) {
            emitWhere(Long.MAX_VALUE, out);
        }
    }

    /** How many partials are open (for tests). */
    public int openCount() {
        int count = 0;
        for (List<Partial> partials : open.values()) {
            count += partials.size();
        }
        return count;
    }

    private void emitWhere(long watermark, Emitter out) {
        long earliest = Long.MAX_VALUE;
        Iterator<List<Partial>> cars = open.values().iterator();
        while (cars.hasNext()) {
            List<Partial> partials = cars.next();
            Iterator<Partial> each = partials.iterator();
            while (each.hasNext()) {
                Partial partial = each.next();
                long last = partial.start + windowMillis - 1;
                if (last <= watermark) {
                    out.emit(partial.row(), last);
                    each.remove();
                } else {
                    earliest = Math.min(earliest, partial.start + windowMillis);
                }
            }
            if (partials.isEmpty()) {
                cars.remove();
            }
        }
        earliestEnd = earliest;
    }

    /** One car's aggregates over one lap (or none) in one window. */
    private final class Partial {
        final Integer car;
        final boolean hasLap;
        final int lap;
        final long start;
        long eventCount;
        double sumSpeed;
        double minSpeed = Double.POSITIVE_INFINITY;
        double maxSpeed = Double.NEGATIVE_INFINITY;
        double sumSpeedSquares;
        double sumRpm;
        int minRpm = Integer.MAX_VALUE;
        int maxRpm = Integer.MIN_VALUE;
        double sumGear;
        double sumThrottle;
        long throttleCount;
        double sumBrake;
        long brakeCount;
        long brakingCount;
        long drsCount;
        long drsOpenCount;
        long firstEvent;

        Partial(Integer car, boolean hasLap, int lap, long start, long firstEvent) {
            this.car = car;
            this.hasLap = hasLap;
            this.lap = lap;
            this.start = start;
            this.firstEvent = firstEvent;
        }

        void add(RowData event, long timestamp) {
            eventCount++;
            double speed = event.getDouble(speedPos);
            sumSpeed += speed;
            minSpeed = Math.min(minSpeed, speed);
            maxSpeed = Math.max(maxSpeed, speed);
            sumSpeedSquares += speed * speed;
            int rpm = event.getInt(rpmPos);
            sumRpm += rpm;
            minRpm = Math.min(minRpm, rpm);
            maxRpm = Math.max(maxRpm, rpm);
            sumGear += event.getInt(gearPos);
            if (!event.isNullAt(throttlePos)) {
                sumThrottle += event.getDouble(throttlePos);
                throttleCount++;
            }
            if (!event.isNullAt(brakePos)) {
                double brake = event.getDouble(brakePos);
                sumBrake += brake;
                brakeCount++;
                if (brake > 0) {
                    brakingCount++;
                }
            }
            if (!event.isNullAt(drsPos)) {
                drsCount++;
                if (event.getBoolean(drsPos)) {
                    drsOpenCount++;
                }
            }
            firstEvent = Math.min(firstEvent, timestamp);
        }

        RowData row() {
            return GenericRowData.of(
                    car,
                    hasLap ? lap : null,
                    eventCount,
                    sumSpeed,
                    minSpeed,
                    maxSpeed,
                    sumSpeedSquares,
                    sumRpm,
                    minRpm,
                    maxRpm,
                    sumGear,
                    throttleCount == 0 ? null : sumThrottle,
                    throttleCount,
                    brakeCount == 0 ? null : sumBrake,
                    brakeCount,
                    brakingCount,
                    drsCount,
                    drsOpenCount,
                    TimestampData.fromEpochMillis(firstEvent));
        }
    }

    private static RowType rowType() {
        LogicalType[] types = new LogicalType[COLUMNS.size() + 2];
        String[] names = new String[types.length];
        types[0] = new IntType(false);
        names[0] = "car_id";
        types[1] = new IntType();
        names[1] = "lap";
        for (int i = 0; i < COLUMNS.size(); i++) {
            types[i + 2] = COLUMN_TYPES[i];
            names[i + 2] = COLUMNS.get(i);
        }
        return RowType.of(types, names);
    }
}
