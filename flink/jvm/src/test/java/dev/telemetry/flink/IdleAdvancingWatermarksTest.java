package dev.telemetry.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class IdleAdvancingWatermarksTest {

    static final long OUT_OF_ORDERNESS = 2_000;
    static final long IDLE_TIMEOUT = 10_000;
    static final long T0 = 1_700_000_000_000L; // event time of the first event, ms

    static final AtomicLong NOW = new AtomicLong(); // the fake wall clock, ms
    final Output output = new Output();
    IdleAdvancingWatermarks strategy;
    WatermarkGenerator<Row> generator;
    TimestampAssigner<Row> assigner;

    @BeforeEach
    void createGenerator() {
        NOW.set(5_000_000);
        strategy = new IdleAdvancingWatermarks("timestamp", OUT_OF_ORDERNESS, IDLE_TIMEOUT, NOW::get);
        generator = strategy.createWatermarkGenerator(null);
        assigner = strategy.createTimestampAssigner(null);
    }

    @Test
    void eventTimeIsTheTimestampFieldInSecondsRoundedToMillis() {
        assertEquals(T0 + 125, assigner.extractTimestamp(event(T0 / 1000.0 + 0.125), -1));
        assertEquals(T0 + 1, assigner.extractTimestamp(event(T0 / 1000.0 + 0.0006), -1));
    }

    @Test
    void watermarkTrailsTheNewestEventByTheOutOfOrderness() {
        feed(T0 + 10_000, T0 + 8_000, T0 + 12_000, T0 + 11_000);
        generator.onPeriodicEmit(output);
        assertEquals(List.of(T0 + 12_000 - OUT_OF_ORDERNESS - 1), output.watermarks);
    }

    @Test
    void quietPartitionFollowsTheWallClockAfterTheIdleTimeout() {
        feed(T0);
        NOW.addAndGet(IDLE_TIMEOUT - 1);
        generator.onPeriodicEmit(output);
        NOW.addAndGet(1);
        generator.onPeriodicEmit(output);
        NOW.addAndGet(5_000);
        generator.onPeriodicEmit(output);

        long base = T0 - OUT_OF_ORDERNESS - 1;
        assertEquals(List.of(base, base + IDLE_TIMEOUT, base + IDLE_TIMEOUT + 5_000), output.watermarks);
        assertEquals(0, output.idleMarks);
    }

    @Test
    void watermarkNeverGoesBackWhenTrafficResumesBehindTheAdvancedWatermark() {
        feed(T0);
        NOW.addAndGet(IDLE_TIMEOUT + 20_000);
        generator.onPeriodicEmit(output);
        long advanced = output.last();

        feed(T0 + 1_000); // resumes: the late row is the job's to route, the watermark stays
        generator.onPeriodicEmit(output);
        assertEquals(advanced, output.last());
        assertEquals(1, output.watermarks.size(), "no lower watermark emitted");

        feed(advanced + OUT_OF_ORDERNESS + 500); // event time overtakes it: normal again
        generator.onPeriodicEmit(output);
        assertEquals(advanced + 500 - 1, output.last());
        assertMonotonic(output.watermarks);
    }

    @Test
    void emptyPartitionIsMarkedIdleOnlyAfterTheIdleTimeout() {
        NOW.addAndGet(IDLE_TIMEOUT - 1);
        generator.onPeriodicEmit(output);
        assertEquals(0, output.idleMarks);
        NOW.addAndGet(1);
        generator.onPeriodicEmit(output);
        assertEquals(1, output.idleMarks);
        assertEquals(List.of(), output.watermarks);

        feed(T0); // data arrives: watermarks again (emitting one makes the output active)
        generator.onPeriodicEmit(output);
        assertEquals(List.of(T0 - OUT_OF_ORDERNESS - 1), output.watermarks);
    }

    @Test
    void errorRowsAndRowsWithoutTimeUseTheKafkaTimestampAndDoNotMoveTheWatermark() {
        Row error = row(null, "corrupt: x", 42L);
        Row noTime = row(null, null, 43L);
        Row errorWithTime = row(T0 / 1000.0 + 500, "incompatible-schema: x", 44L);
        assertEquals(42L, assigner.extractTimestamp(error, -1));
        assertEquals(43L, assigner.extractTimestamp(noTime, -1));
        assertEquals(44L, assigner.extractTimestamp(errorWithTime, -1));

        NOW.addAndGet(IDLE_TIMEOUT);
        for (Row row : List.of(error, noTime, errorWithTime)) {
            generator.onEvent(row, assigner.extractTimestamp(row, -1), output);
        }
        generator.onPeriodicEmit(output);
        assertEquals(List.of(), output.watermarks);
        assertEquals(1, output.idleMarks, "only error rows so far: still an empty partition");

        feed(T0);
        for (Row row : List.of(error, errorWithTime)) {
            generator.onEvent(row, assigner.extractTimestamp(row, -1), output);
        }
        generator.onPeriodicEmit(output);
        assertEquals(List.of(T0 - OUT_OF_ORDERNESS - 1), output.watermarks);
    }

    @Test
    void survivesJavaSerializationWithTheDefaultClock() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(new IdleAdvancingWatermarks("timestamp", 1, 2));
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            IdleAdvancingWatermarks copy = (IdleAdvancingWatermarks) in.readObject();
            copy.createWatermarkGenerator(null).onPeriodicEmit(output);
        }
    }

    @Test
    void refusesNonsenseArguments() {
        assertThrows(IllegalArgumentException.class, () -> new IdleAdvancingWatermarks("", 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new IdleAdvancingWatermarks("t", -1, 1));
        assertThrows(IllegalArgumentException.class, () -> new IdleAdvancingWatermarks("t", 0, 0));
    }

    // --- helpers ------------------------------------------------------------------------------

    void feed(long... eventTimesMillis) {
        for (long ms : eventTimesMillis) {
            Row row = event(ms / 1000.0);
            generator.onEvent(row, assigner.extractTimestamp(row, -1), output);
        }
    }

    static Row event(double seconds) {
        return row(seconds, null, 0L);
    }

    static Row row(Double seconds, String error, Long kafkaTimestamp) {
        Row row = Row.withNames();
        row.setField("car_id", 1);
        row.setField("timestamp", seconds);
        row.setField("error", error);
        row.setField("kafka_timestamp", kafkaTimestamp);
        return row;
    }

    static void assertMonotonic(List<Long> watermarks) {
        for (int i = 1; i < watermarks.size(); i++) {
            assertEquals(true, watermarks.get(i) > watermarks.get(i - 1), "watermarks " + watermarks);
        }
    }

    static final class Output implements WatermarkOutput {
        final List<Long> watermarks = new ArrayList<>();
        int idleMarks;

        @Override
        public void emitWatermark(Watermark watermark) {
            watermarks.add(watermark.getTimestamp());
        }

        @Override
        public void markIdle() {
            idleMarks++;
        }

        @Override
        public void markActive() {}

        long last() {
            return watermarks.get(watermarks.size() - 1);
        }
    }
}
