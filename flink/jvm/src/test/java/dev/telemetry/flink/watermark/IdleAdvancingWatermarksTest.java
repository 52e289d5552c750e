package dev.telemetry.flink.watermark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.types.logical.BigIntType;
import org.apache.flink.table.types.logical.DoubleType;
import org.apache.flink.table.types.logical.IntType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.VarCharType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The watermark rules against a scripted broker: event time follows the clock only after the
 * broker has confirmed the partition drained for the idle timeout, and holds while it does not.
 */
class IdleAdvancingWatermarksTest {

    static final long OUT_OF_ORDERNESS = 2_000;
    static final long IDLE_TIMEOUT = 10_000;
    static final long PROBE = IdleAdvancingWatermarks.probeInterval(IDLE_TIMEOUT);
    static final long T0 = 1_700_000_000_000L; // event time of the first event, ms
    static final int PARTITION = 3;
    /** The rows' layout: the fields the strategy reads, in another order than the job's. */
    static final RowType ROWS = RowType.of(
            new LogicalType[] {new IntType(), new BigIntType(), new DoubleType(), VarCharType.STRING_TYPE,
                new IntType(), new BigIntType()},
            new String[] {"car_id", "kafka_timestamp", "timestamp", "error", "kafka_partition", "kafka_offset"});

    static final AtomicLong NOW = new AtomicLong(); // the fake wall clock, ms
    static final FakeProbe PROBES = new FakeProbe();
    final Output output = new Output();
    IdleAdvancingWatermarks strategy;
    WatermarkGenerator<RowData> generator;
    TimestampAssigner<RowData> assigner;
    long nextOffset;

    @BeforeEach
    void createGenerator() {
        NOW.set(5_000_000);
        PROBES.reset();
        strategy = new IdleAdvancingWatermarks(
                ROWS, "timestamp", OUT_OF_ORDERNESS, IDLE_TIMEOUT, NOW::get, () -> PROBES);
        generator = strategy.createWatermarkGenerator(null);
        assigner = strategy.createTimestampAssigner(null);
        nextOffset = 0;
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
        assertTrue(PROBES.watched.isEmpty(), "a partition with records flowing is not probed");
    }

    @Test
    void drainedPartitionFollowsTheClockOnlyAfterTheIdleTimeoutOfConfirmations() {
        feed(T0);
        long base = T0 - OUT_OF_ORDERNESS - 1;
        quietFor(PROBE); // quiet: the generator asks for its position to be probed
        assertEquals(Map.of(PARTITION, 1L), PROBES.watched);

        long confirmedFrom = NOW.get();
        PROBES.confirmDrained(PARTITION, 1, confirmedFrom, NOW.get() + IDLE_TIMEOUT - 1);
        quietFor(IDLE_TIMEOUT - 1);
        assertEquals(base, output.last(), "not yet confirmed for the whole idle timeout");

        PROBES.confirmDrained(PARTITION, 1, confirmedFrom, NOW.get() + 1);
        quietFor(1);
        long followed = base + PROBE + IDLE_TIMEOUT; // wall time from the last event to the last confirmation
        assertEquals(followed, output.last());

        PROBES.confirmDrained(PARTITION, 1, confirmedFrom, NOW.get() + 5_000);
        quietFor(5_000);
        assertEquals(followed + 5_000, output.last());
        assertEquals(0, output.idleMarks);
        assertMonotonic(output.watermarks);
    }

    @Test
    void silenceWithoutTheBrokersWordNeverMovesEventTime() {
        feed(T0);
        quietFor(IDLE_TIMEOUT * 10); // a broker outage: nothing arrives, nothing is confirmed
        assertEquals(List.of(T0 - OUT_OF_ORDERNESS - 1), output.watermarks);
        assertEquals(0, output.idleMarks);
    }

    @Test
    void anOutageEndsTheStreakAndTheWatermarkHoldsWhereTheLastConfirmationLeftIt() {
        feed(T0);
        long quietSince = NOW.get();
        quietFor(PROBE);
        long from = NOW.get();
        PROBES.confirmDrained(PARTITION, 1, from, from + IDLE_TIMEOUT + 2_000);
        quietFor(IDLE_TIMEOUT + 2_000);
        long held = output.last();
        assertEquals(T0 - OUT_OF_ORDERNESS - 1 + (from + IDLE_TIMEOUT + 2_000 - quietSince), held);

        PROBES.fail(); // broker gone: producers buffer, the job sees nothing
        quietFor(30_000);
        assertEquals(held, output.last());

        // Back: a new streak must again last the idle timeout before the clock is followed.
        long back = NOW.get();
        PROBES.confirmDrained(PARTITION, 1, back, back + IDLE_TIMEOUT - 1);
        quietFor(IDLE_TIMEOUT - 1);
        assertEquals(held, output.last());
    }

    @Test
    void bufferedEventsDeliveredAfterAnOutageAreOnTime() {
        feed(T0); // event time follows the wall clock: T0 is now
        long lastEventAt = NOW.get();
        quietFor(PROBE);
        long from = NOW.get();
        // Drained and confirmed past the idle timeout: event time follows the clock up to
        // the outage, so a watermark that went on with the clock during it would pass the
        // events the producer buffers meanwhile.
        PROBES.confirmDrained(PARTITION, 1, from, from + IDLE_TIMEOUT + 2_000);
        quietFor(IDLE_TIMEOUT + 2_000);
        long outageAt = T0 + (NOW.get() - lastEventAt); // the event time of the outage's start
        assertEquals(outageAt - OUT_OF_ORDERNESS - 1, output.last(), "followed the clock until then");

        PROBES.fail();
        quietFor(23_000); // the broker is down 23 s; the producer keeps one event a second
        long watermark = output.last();
        assertEquals(outageAt - OUT_OF_ORDERNESS - 1, watermark, "held while the broker is away");
        long[] buffered = new long[24];
        for (int i = 0; i < buffered.length; i++) {
            buffered[i] = outageAt + i * 1_000L;
            assertTrue(buffered[i] > watermark, "event at " + buffered[i] + " late behind " + watermark);
        }
        feed(buffered); // delivered: ordinary watermarks again
        generator.onPeriodicEmit(output);
        assertEquals(outageAt + 23_000 - OUT_OF_ORDERNESS - 1, output.last());
        assertTrue(PROBES.watched.isEmpty(), "probing stops when records flow");
    }

    @Test
    void aConfirmationOfAnOlderPositionDoesNotCount() {
        feed(T0);
        quietFor(PROBE);
        PROBES.confirmDrained(PARTITION, 1, NOW.get(), NOW.get() + IDLE_TIMEOUT * 2);
        feed(T0 + 100); // a record arrived: position 2, the streak was about position 1
        quietFor(PROBE);
        quietFor(IDLE_TIMEOUT * 2);
        assertEquals(T0 + 100 - OUT_OF_ORDERNESS - 1, output.last());
        assertEquals(Map.of(PARTITION, 2L), PROBES.watched);
    }

    @Test
    void watermarkNeverGoesBackWhenTrafficResumesBehindTheAdvancedWatermark() {
        feed(T0);
        quietFor(PROBE);
        PROBES.confirmDrained(PARTITION, 1, NOW.get(), NOW.get() + IDLE_TIMEOUT + 20_000);
        quietFor(IDLE_TIMEOUT + 20_000);
        long advanced = output.last();
        int emittedSoFar = output.watermarks.size();

        feed(T0 + 1_000); // resumes: the late row is the job's to route, the watermark stays
        generator.onPeriodicEmit(output);
        assertEquals(advanced, output.last());
        assertEquals(emittedSoFar, output.watermarks.size(), "no lower watermark emitted");

        feed(advanced + OUT_OF_ORDERNESS + 500); // event time overtakes it: normal again
        generator.onPeriodicEmit(output);
        assertEquals(advanced + 500 - 1, output.last());
        assertMonotonic(output.watermarks);
    }

    @Test
    void emptyPartitionIsIdleOnlyOnceTheBrokerSettledEveryOtherForTheIdleTimeout() {
        NOW.addAndGet(IDLE_TIMEOUT * 3);
        generator.onPeriodicEmit(output);
        assertEquals(0, output.idleMarks, "records nobody reads, perhaps ours: not idle");
        assertEquals(5_000_000 + IDLE_TIMEOUT, PROBES.settledSince,
                "commits within the idle timeout of the generator's creation do not count");

        long from = NOW.get();
        PROBES.settled = new DrainProbe.Streak(from, from + IDLE_TIMEOUT - 1);
        generator.onPeriodicEmit(output);
        assertEquals(0, output.idleMarks);
        PROBES.settled = new DrainProbe.Streak(from, from + IDLE_TIMEOUT);
        generator.onPeriodicEmit(output);
        assertEquals(1, output.idleMarks);
        assertEquals(List.of(), output.watermarks);

        feed(T0); // data arrives: watermarks again (emitting one makes the output active)
        generator.onPeriodicEmit(output);
        assertEquals(List.of(T0 - OUT_OF_ORDERNESS - 1), output.watermarks);
    }

    @Test
    void aNewEmptyPartitionWaitsTheIdleTimeoutEvenIfTheBrokersAnsweredLongBefore() {
        PROBES.settled = new DrainProbe.Streak(NOW.get() - 100_000, NOW.get());
        generator.onPeriodicEmit(output);
        assertEquals(0, output.idleMarks);
        NOW.addAndGet(IDLE_TIMEOUT);
        generator.onPeriodicEmit(output);
        assertEquals(1, output.idleMarks);
    }

    @Test
    void anIdleEmptyPartitionIsActiveAgainOnceRecordsNobodyReadsAppear() {
        NOW.addAndGet(IDLE_TIMEOUT);
        PROBES.settled = new DrainProbe.Streak(NOW.get() - IDLE_TIMEOUT, NOW.get());
        generator.onPeriodicEmit(output);
        assertEquals(1, output.idleMarks);
        generator.onPeriodicEmit(output);
        assertEquals(0, output.activeMarks);

        PROBES.settled = null; // the producer wrote to a partition no reader has fetched from yet
        generator.onPeriodicEmit(output);
        generator.onPeriodicEmit(output);
        assertEquals(1, output.activeMarks, "active once: the others' watermark waits for this split");
        assertEquals(List.of(), output.watermarks);

        PROBES.settled = new DrainProbe.Streak(NOW.get() - IDLE_TIMEOUT, NOW.get()); // another's, read
        generator.onPeriodicEmit(output);
        assertEquals(3, output.idleMarks);
    }

    @Test
    void aGeneratorWithRowsClaimsItsPartitionAtEveryEmit() {
        generator.onPeriodicEmit(output);
        assertEquals(0, PROBES.claims);
        feed(T0);
        generator.onPeriodicEmit(output);
        quietFor(IDLE_TIMEOUT);
        assertEquals(1 + IDLE_TIMEOUT / 200, PROBES.claims);
        assertEquals(PARTITION, PROBES.claimed);
    }

    @Test
    void errorRowsAndRowsWithoutTimeUseTheKafkaTimestampAndDoNotMoveTheWatermark() {
        RowData error = row(null, "corrupt: x", 42L);
        RowData noTime = row(null, null, 43L);
        RowData errorWithTime = row(T0 / 1000.0 + 500, "incompatible-schema: x", 44L);
        assertEquals(42L, assigner.extractTimestamp(error, -1));
        assertEquals(43L, assigner.extractTimestamp(noTime, -1));
        assertEquals(44L, assigner.extractTimestamp(errorWithTime, -1));

        for (RowData row : List.of(error, noTime, errorWithTime)) {
            generator.onEvent(row, assigner.extractTimestamp(row, -1), output);
        }
        quietFor(PROBE);
        assertEquals(Map.of(PARTITION, 3L), PROBES.watched, "error rows move the position");
        PROBES.confirmDrained(PARTITION, 3, NOW.get(), NOW.get() + IDLE_TIMEOUT);
        quietFor(IDLE_TIMEOUT);
        assertEquals(List.of(), output.watermarks);
        assertTrue(output.idleMarks >= 1, "only error rows, drained: idle like an empty partition");

        nextOffset = 3;
        feed(T0);
        for (RowData row : List.of(error, errorWithTime)) {
            generator.onEvent(row, assigner.extractTimestamp(row, -1), output);
        }
        generator.onPeriodicEmit(output);
        assertEquals(List.of(T0 - OUT_OF_ORDERNESS - 1), output.watermarks);
    }

    @Test
    void survivesJavaSerializationWithTheKafkaProbe() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Map<String, String> kafka = new HashMap<>(Map.of("bootstrap.servers", "127.0.0.1:1"));
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(built("timestamp", 1, 2).kafkaProperties(kafka).build());
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            IdleAdvancingWatermarks copy = (IdleAdvancingWatermarks) in.readObject();
            WatermarkGenerator<RowData> copied = copy.createWatermarkGenerator(null);
            copied.onPeriodicEmit(output); // opens the shared probe; nothing confirmed: no idle
            assertEquals(0, output.idleMarks);
        }
    }

    /** The builder as the job fills it, with these field and durations. */
    static IdleAdvancingWatermarks.Builder built(String timestampField, long outOfOrderness, long idleTimeout) {
        return IdleAdvancingWatermarks.builder()
                .rowType(ROWS)
                .timestampField(timestampField)
                .outOfOrdernessMillis(outOfOrderness)
                .idleTimeoutMillis(idleTimeout)
                .topic("t")
                .consumerGroup("g")
                .kafkaProperties(Map.of());
    }

    @Test
    void refusesNonsenseArguments() {
        assertThrows(IllegalArgumentException.class, () -> built("", 1, 1).build());
        assertThrows(IllegalArgumentException.class, () -> built("timestamp", -1, 1).build());
        assertThrows(IllegalArgumentException.class, () -> built("timestamp", 0, 0).build());
        IllegalArgumentException noField =
                assertThrows(IllegalArgumentException.class, () -> built("event_time", 1, 1).build());
        assertTrue(noField.getMessage().startsWith("the rows have no field 'event_time'"), noField.getMessage());
        IllegalArgumentException wrongType =
                assertThrows(IllegalArgumentException.class, () -> built("car_id", 1, 1).build());
        assertTrue(wrongType.getMessage().startsWith("field 'car_id' must be DOUBLE, not INTEGER"),
                wrongType.getMessage());
    }

    @Test
    void theBuilderNamesASettingThatIsMissing() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> IdleAdvancingWatermarks.builder()
                .rowType(ROWS).timestampField("timestamp").outOfOrdernessMillis(1).topic("t").consumerGroup("g")
                .kafkaProperties(Map.of()).build());
        assertTrue(e.getMessage().contains("idleTimeoutMillis"), e.getMessage());
        e = assertThrows(NullPointerException.class, () -> built("timestamp", 1, 1).consumerGroup(null).build());
        assertTrue(e.getMessage().contains("consumerGroup"), e.getMessage());
    }

    // --- helpers ------------------------------------------------------------------------------

    /** Let {@code millis} of wall time pass without records, emitting as Flink would. */
    void quietFor(long millis) {
        long step = 200;
        for (long passed = 0; passed < millis; passed += Math.min(step, millis - passed)) {
            NOW.addAndGet(Math.min(step, millis - passed));
            generator.onPeriodicEmit(output);
        }
    }

    void feed(long... eventTimesMillis) {
        for (long ms : eventTimesMillis) {
            GenericRowData row = event(ms / 1000.0);
            row.setField(ROWS.getFieldIndex("kafka_partition"), PARTITION);
            row.setField(ROWS.getFieldIndex("kafka_offset"), nextOffset++);
            generator.onEvent(row, assigner.extractTimestamp(row, -1), output);
        }
    }

    static GenericRowData event(double seconds) {
        return row(seconds, null, 0L);
    }

    static GenericRowData row(Double seconds, String error, Long kafkaTimestamp) {
        GenericRowData row = new GenericRowData(ROWS.getFieldCount());
        row.setField(ROWS.getFieldIndex("car_id"), 1);
        row.setField(ROWS.getFieldIndex("timestamp"), seconds);
        row.setField(ROWS.getFieldIndex("error"), error == null ? null : StringData.fromString(error));
        row.setField(ROWS.getFieldIndex("kafka_timestamp"), kafkaTimestamp);
        row.setField(ROWS.getFieldIndex("kafka_partition"), PARTITION);
        row.setField(ROWS.getFieldIndex("kafka_offset"), kafkaTimestamp == null ? 0L : kafkaTimestamp - 42L);
        return row;
    }

    static void assertMonotonic(List<Long> watermarks) {
        for (int i = 1; i < watermarks.size(); i++) {
            assertTrue(watermarks.get(i) > watermarks.get(i - 1), "watermarks " + watermarks);
        }
    }

    /** A scripted broker: tests say what was confirmed, and when. */
    static final class FakeProbe implements DrainProbe {
        final Map<Integer, Long> watched = new HashMap<>();
        final Map<Integer, long[]> drained = new HashMap<>(); // partition -> {next, since, last}
        Streak settled;
        long settledSince;
        int claims;
        int claimed = -1;

        void reset() {
            watched.clear();
            drained.clear();
            settled = null;
            settledSince = 0;
            claims = 0;
            claimed = -1;
        }

        /** The broker confirmed partition drained at next from since through last (wall ms). */
        void confirmDrained(int partition, long next, long since, long last) {
            drained.put(partition, new long[] {next, since, last});
        }

        void fail() {
            drained.clear();
            settled = null;
        }

        @Override
        public void watch(int partition, long nextOffset) {
            watched.put(partition, nextOffset);
        }

        @Override
        public void unwatch(int partition) {
            watched.remove(partition);
        }

        @Override
        public Streak drained(int partition, long nextOffset) {
            long[] d = drained.get(partition);
            if (d == null || d[0] != nextOffset || d[2] > NOW.get()) {
                // Not confirmed at this position, or not yet (the script is ahead of the clock).
                return d != null && d[0] == nextOffset && NOW.get() >= d[1]
                        ? new Streak(d[1], Math.min(d[2], NOW.get()))
                        : null;
            }
            return new Streak(d[1], d[2]);
        }

        @Override
        public void claim(int partition) {
            claims++;
            claimed = partition;
        }

        @Override
        public Streak settled(long since) {
            settledSince = since;
            return settled;
        }
    }

    static final class Output implements WatermarkOutput {
        final List<Long> watermarks = new ArrayList<>();
        int idleMarks;
        int activeMarks;

        @Override
        public void emitWatermark(Watermark watermark) {
            watermarks.add(watermark.getTimestamp());
        }

        @Override
        public void markIdle() {
            idleMarks++;
        }

        @Override
        public void markActive() {
            activeMarks++;
        }

        long last() {
            return watermarks.get(watermarks.size() - 1);
        }
    }
}
