package dev.telemetry.flink.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.BooleanType;
import org.apache.flink.table.types.logical.DoubleType;
import org.apache.flink.table.types.logical.IntType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.VarCharType;
import org.junit.jupiter.api.Test;

/**
 * The partials against a plain recomputation from the events: every event counted once, in the
 * partial of its car, lap and window, emitted once its window closed and never before.
 */
class WindowPartialsTest {

    static final long WINDOW = 5_000;
    static final long T0 = 1_700_000_000_000L; // a window boundary (divisible by 5 s)
    /** The fields the partials read, in another order than the job's, and one they ignore. */
    static final RowType EVENTS = RowType.of(
            new LogicalType[] {new DoubleType(), new IntType(), new VarCharType(), new IntType(), new IntType(),
                new DoubleType(), new DoubleType(), new BooleanType(), new IntType()},
            new String[] {"speed", "car_id", "error", "rpm", "gear", "throttle", "brake", "drs", "lap"});

    record Emitted(RowData row, long timestamp) {}

    final List<Emitted> emitted = new ArrayList<>();
    final WindowPartials partials = new WindowPartials(EVENTS, WINDOW);

    static GenericRowData event(int car, Integer lap, double speed, int rpm, int gear, Double throttle,
            Double brake, Boolean drs) {
        return GenericRowData.of(speed, car, null, rpm, gear, throttle, brake, drs, lap);
    }

    void emitClosed(long watermark) {
        partials.emitClosed(watermark, (row, ts) -> emitted.add(new Emitted(row, ts)));
    }

    void emitAll() {
        partials.emitAll((row, ts) -> emitted.add(new Emitted(row, ts)));
    }

    static int col(String name) {
        return WindowPartials.ROW_TYPE.getFieldIndex(name);
    }

    @Test
    void aWindowIsEmittedOnceTheWatermarkReachesItsLastMillisecond() {
        partials.add(event(7, 3, 100, 9000, 5, 50.0, 0.0, true), T0 + 10);
        emitClosed(T0 + WINDOW - 2);
        assertTrue(emitted.isEmpty(), "window not closed yet");
        emitClosed(T0 + WINDOW - 1);
        assertEquals(1, emitted.size());
        assertEquals(T0 + WINDOW - 1, emitted.get(0).timestamp(), "stamped with its last millisecond");
        emitClosed(T0 + 10 * WINDOW);
        assertEquals(1, emitted.size(), "emitted once");
        assertEquals(0, partials.openCount());
    }

    @Test
    void aPartialHoldsEveryAggregateOfItsEvents() {
        partials.add(event(7, 3, 100.0, 9000, 5, 50.0, 0.0, true), T0 + 10);
        partials.add(event(7, 3, 200.0, 11000, 6, null, 20.0, false), T0 + 20);
        partials.add(event(7, 3, 150.0, 10000, 7, 70.0, null, null), T0 + 5);
        emitAll();
        RowData row = emitted.get(0).row();
        assertEquals(7, row.getInt(col("car_id")));
        assertEquals(3, row.getInt(col("lap")));
        assertEquals(3, row.getLong(col("event_count")));
        assertEquals(450.0, row.getDouble(col("sum_speed")));
        assertEquals(100.0, row.getDouble(col("min_speed")));
        assertEquals(200.0, row.getDouble(col("max_speed")));
        assertEquals(100.0 * 100 + 200.0 * 200 + 150.0 * 150, row.getDouble(col("sum_speed_squares")));
        assertEquals(30000.0, row.getDouble(col("sum_rpm")));
        assertEquals(9000, row.getInt(col("min_rpm")));
        assertEquals(11000, row.getInt(col("max_rpm")));
        assertEquals(18.0, row.getDouble(col("sum_gear")));
        assertEquals(120.0, row.getDouble(col("sum_throttle")));
        assertEquals(2, row.getLong(col("throttle_count")));
        assertEquals(20.0, row.getDouble(col("sum_brake")));
        assertEquals(2, row.getLong(col("brake_count")));
        assertEquals(1, row.getLong(col("braking_count")), "brake above 0, not at 0 or null");
        assertEquals(2, row.getLong(col("drs_count")));
        assertEquals(1, row.getLong(col("drs_open_count")));
        assertEquals(T0 + 5, row.getTimestamp(col("first_event"), 3).getMillisecond(), "earliest, not first");
    }

    @Test
    void sumsOfFieldsThatWereAlwaysNullAreNullAsInSql() {
        partials.add(event(1, null, 100.0, 9000, 5, null, null, null), T0);
        emitAll();
        RowData row = emitted.get(0).row();
        assertTrue(row.isNullAt(col("lap")), "no lap number: a partial of its own, lap null");
        assertTrue(row.isNullAt(col("sum_throttle")));
        assertTrue(row.isNullAt(col("sum_brake")));
        assertEquals(0, row.getLong(col("throttle_count")));
        assertEquals(0, row.getLong(col("drs_count")));
    }

    @Test
    void carsLapsAndWindowsArePartialsOfTheirOwn() {
        partials.add(event(1, 2, 100, 9000, 5, null, null, null), T0 + 1);
        partials.add(event(1, 3, 100, 9000, 5, null, null, null), T0 + 2); // crossed the line
        partials.add(event(2, 3, 100, 9000, 5, null, null, null), T0 + 3);
        partials.add(event(1, null, 100, 9000, 5, null, null, null), T0 + 4);
        partials.add(event(1, 0, 100, 9000, 5, null, null, null), T0 + 4); // lap 0 is not "no lap"
        partials.add(event(1, 3, 100, 9000, 5, null, null, null), T0 + WINDOW); // next window
        assertEquals(6, partials.openCount());
        emitClosed(T0 + WINDOW - 1);
        assertEquals(5, emitted.size());
        assertEquals(1, partials.openCount());
    }

    @Test
    void windowsAlignToTheEpochAlsoBeforeIt() {
        partials.add(event(1, 1, 100, 9000, 5, null, null, null), -1);
        emitClosed(-2);
        assertTrue(emitted.isEmpty());
        emitClosed(-1);
        assertEquals(-1, emitted.get(0).timestamp(), "[-5000, 0) ends at -1");
    }

    @Test
    void emitAllEmptiesTheBuffer() {
        partials.add(event(1, 1, 100, 9000, 5, null, null, null), T0);
        partials.add(event(1, 1, 100, 9000, 5, null, null, null), T0 + 3 * WINDOW);
        emitAll();
        assertEquals(2, emitted.size());
        assertEquals(0, partials.openCount());
        emitClosed(Long.MAX_VALUE);
        assertEquals(2, emitted.size());
    }

    @Test
    void refusesRowsWithoutTheFieldsItReads() {
        RowType noLap = RowType.of(new LogicalType[] {new IntType(), new DoubleType()}, new String[] {"car_id", "speed"});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new WindowPartials(noLap, WINDOW));
        assertTrue(e.getMessage().contains("'lap'"), e.getMessage());
        RowType wrongType = RowType.of(
                new LogicalType[] {new VarCharType(), new IntType()}, new String[] {"car_id", "lap"});
        assertThrows(IllegalArgumentException.class, () -> new WindowPartials(wrongType, WINDOW));
        assertThrows(IllegalArgumentException.class, () -> new WindowPartials(EVENTS, 0));
    }

    /**
     * Random events, split by random barriers (emitAll) and watermarks, merged as SQL merges
     * them: every car, lap and window comes out with the counts and sums of a recomputation, and
     * no partial before its window closed.
     */
    @Test
    void splitPartialsMergeToTheEventsAggregates() {
        Random random = new Random(42);
        long now = T0;
        long watermark = Long.MIN_VALUE;
        Map<String, long[]> truth = new TreeMap<>();
        for (int i = 0; i < 20_000; i++) {
            now += random.nextInt(40);
            int car = random.nextInt(5);
            int lap = (int) ((now - T0) / 7_000) + car;
            int rpm = 8000 + random.nextInt(4000);
            long ts = now - random.nextInt(1000); // out of order by up to 1 s
            if (ts <= watermark) {
                continue; // late: the split never gives it
            }
            partials.add(event(car, lap, 100, rpm, 5, null, null, null), ts);
            long start = ts - Math.floorMod(ts, WINDOW);
            long[] agg = truth.computeIfAbsent(car + "/" + lap + "/" + start, k -> new long[2]);
            agg[0]++;
            agg[1] += rpm;
            if (random.nextInt(500) == 0) {
                emitAll();
            }
            if (random.nextInt(50) == 0) {
                watermark = Math.max(watermark, now - 1000);
                int from = emitted.size();
                emitClosed(watermark);
                for (Emitted e : emitted.subList(from, emitted.size())) {
                    assertTrue(e.timestamp() <= watermark, "only closed windows");
                }
            }
        }
        emitAll();
        Map<String, long[]> merged = new TreeMap<>();
        for (Emitted e : emitted) {
            RowData row = e.row();
            long start = e.timestamp() - WINDOW + 1;
            long[] agg = merged.computeIfAbsent(
                    row.getInt(col("car_id")) + "/" + row.getInt(col("lap")) + "/" + start, k -> new long[2]);
            agg[0] += row.getLong(col("event_count"));
            agg[1] += (long) row.getDouble(col("sum_rpm"));
        }
        assertEquals(truth.keySet(), merged.keySet());
        for (String key : truth.keySet()) {
            assertEquals(truth.get(key)[0], merged.get(key)[0], key);
            assertEquals(truth.get(key)[1], merged.get(key)[1], key);
        }
    }
}
