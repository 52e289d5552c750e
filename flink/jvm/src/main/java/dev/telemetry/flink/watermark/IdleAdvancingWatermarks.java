package dev.telemetry.flink.watermark;

import dev.telemetry.flink.source.RowFields;
import java.io.Serializable;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;
import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.common.eventtime.TimestampAssignerSupplier;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;

/**
 * Bounded out-of-orderness watermarks for the rows of {@link
 * dev.telemetry.flink.source.ConfluentAvroRecordDeserializer}
 * that keep advancing with the wall clock once a partition is drained, so the last windows close
 * when traffic stops, and that hold while the broker cannot confirm it, so an outage never turns
 * buffered events late.
 *
 * <p>Event time is read from a DOUBLE field of epoch seconds ({@code timestampField}) and rounded
 * to milliseconds. Rows that are not valid events (their {@code error} field is set, or the
 * timestamp is null or not finite) are stamped with their {@code kafka_timestamp} and never move
 * the watermark. Every row's {@code kafka_partition} and {@code kafka_offset} tell the generator
 * its partition and position. The fields' positions come from the rows' type, once.
 *
 * <p>One generator runs per Kafka partition (KafkaSource creates one per split). Each periodic
 * emit ({@code pipeline.auto-watermark-interval}), with {@code quiet} meaning no row for at least
 * one probe interval:
 *
 * <ul>
 *   <li>records flowing: emit {@code maxTimestamp - outOfOrderness - 1};
 *   <li>quiet: ask the {@link DrainProbe} to check the partition at its position. Only once the
 *       broker has confirmed, without a gap, for {@code idleTimeout}, that nothing lies beyond
 *       the position does event time follow the clock: {@code maxTimestamp - outOfOrderness - 1 +
 *       (lastConfirmed - lastEventWallClock)}. Confirmations stop while the broker (or the
 *       partition's leader) does not answer, and so does the watermark;
 *   <li>no row yet (position unknown): mark the partition idle once it has existed for {@code
 *       idleTimeout} and the broker has confirmed for {@code idleTimeout} that no partition of the
 *       topic holds records nobody reads ({@link DrainProbe#settled}): so an empty partition does
 *       not hold back the others, while a reader slow to make its first fetch holds the watermark
 *       rather than have its records turn late. Such an idle partition becomes active again as
 *       soon as the broker shows records nobody reads, before its first row arrives. A partition
 *       with only error rows is marked idle once drained for {@code idleTimeout}.
 * </ul>
 *
 * The watermark never goes back.
 *
 * <p>Bound: when every partition stops at wall time T, the window ending at E closes once the
 * clock passes both {@code T + idleTimeout + probe interval} and {@code E + outOfOrderness}, plus
 * at most one probe interval. Events a producer still buffers more than {@code idleTimeout} after
 * the broker answers again can be late; they go to the late-data sink, never lost.
 *
 * <p>Trade-off: a partition that resumes after being drained for {@code idleTimeout}, with event
 * times below the clock-advanced watermark (a paused producer, a replay), delivers late rows until
 * its event time catches up. Unlike {@code WatermarkStrategy.withIdleness}, a drained partition
 * that has had data does not become idle, so the job's watermark still advances when every
 * partition is drained.
 */
public final class IdleAdvancingWatermarks implements WatermarkStrategy<RowData> {

    private static final long serialVersionUID = 3L;

    /** A wall clock in epoch milliseconds that Flink can ship with the strategy. */
    @FunctionalInterface
    public interface Clock extends LongSupplier, Serializable {}

    static final String ERROR_FIELD = "error";
    static final String KAFKA_TIMESTAMP_FIELD = "kafka_timestamp";
    static final String KAFKA_PARTITION_FIELD = "kafka_partition";
    static final String KAFKA_OFFSET_FIELD = "kafka_offset";

    private final int timestampPos;
    private final int errorPos;
    private final int kafkaTimestampPos;
    private final int kafkaPartitionPos;
    private final int kafkaOffsetPos;
    private final long outOfOrdernessMillis;
    private final long idleTimeoutMillis;
    private final long probeIntervalMillis;
    private final Clock clock;
    private final DrainProbe.Factory probes;

    public static Builder builder() {
        return new Builder();
    }

    /** Named setters for the strategy; every one is required. */
    public static final class Builder {
        private RowType rowType;
        private String timestampField;
        private Long outOfOrdernessMillis;
        private Long idleTimeoutMillis;
        private String topic;
        private String consumerGroup;
        private Map<String, String> kafkaProperties;

        private Builder() {}

        /** The rows' type ({@link dev.telemetry.flink.source.ConfluentAvroRecordDeserializer#rowType()}). */
        public Builder rowType(RowType rowType) {
            this.rowType = rowType;
            return this;
        }

        /** The name of the DOUBLE field with the event time in epoch seconds. */
        public Builder timestampField(String timestampField) {
            this.timestampField = timestampField;
            return this;
        }

        /** How far behind the newest event an event may be and still be on time. */
        public Builder outOfOrdernessMillis(long outOfOrdernessMillis) {
            this.outOfOrdernessMillis = outOfOrdernessMillis;
            return this;
        }

        /**
         * How long the broker must confirm a quiet partition drained before event time follows
         * the clock (or, if it never had a record, before it is idle).
         */
        public Builder idleTimeoutMillis(long idleTimeoutMillis) {
            this.idleTimeoutMillis = idleTimeoutMillis;
            return this;
        }

        /** The source topic, probed for end offsets. */
        public Builder topic(String topic) {
            this.topic = topic;
            return this;
        }

        /**
         * The source's consumer group, whose committed offsets tell where a partition that has
         * delivered nothing yet starts.
         */
        public Builder consumerGroup(String consumerGroup) {
            this.consumerGroup = consumerGroup;
            return this;
        }

        /** Consumer properties for the probe: bootstrap servers and security. */
        public Builder kafkaProperties(Map<String, String> kafkaProperties) {
            this.kafkaProperties = Map.copyOf(kafkaProperties);
            return this;
        }

        /**
         * @throws NullPointerException if a setting is missing, naming it
         * @throws IllegalArgumentException if the fields or durations cannot work
         */
        public IdleAdvancingWatermarks build() {
            long idle = required(idleTimeoutMillis, "idleTimeoutMillis");
            DrainProbe.Factory probes = KafkaDrainProbe.factory(required(topic, "topic"),
                    required(consumerGroup, "consumerGroup"), required(kafkaProperties, "kafkaProperties"),
                    probeInterval(idle));
            return new IdleAdvancingWatermarks(required(rowType, "rowType"), timestampField,
                    required(outOfOrdernessMillis, "outOfOrdernessMillis"), idle, System::currentTimeMillis, probes);
        }

        private static <T> T required(T value, String what) {
            return Objects.requireNonNull(value, () -> "IdleAdvancingWatermarks: " + what + " is not set");
        }
    }

    /**
     * A strategy with the wall clock and the probe given (for tests; the job uses {@link #builder()}).
     *
     * @param timestampField name of the DOUBLE field with the event time in epoch seconds
     */
    public IdleAdvancingWatermarks(
            RowType rowType,
            String timestampField,
            long outOfOrdernessMillis,
            long idleTimeoutMillis,
            Clock clock,
            DrainProbe.Factory probes) {
        if (timestampField == null || timestampField.isBlank()) {
            throw new IllegalArgumentException("timestampField is empty");
        }
        this.timestampPos = RowFields.position(rowType, timestampField, LogicalTypeRoot.DOUBLE);
        this.errorPos = RowFields.position(rowType, ERROR_FIELD, LogicalTypeRoot.VARCHAR);
        this.kafkaTimestampPos = RowFields.position(rowType, KAFKA_TIMESTAMP_FIELD, LogicalTypeRoot.BIGINT);
        this.kafkaPartitionPos = RowFields.position(rowType, KAFKA_PARTITION_FIELD, LogicalTypeRoot.INTEGER);
        this.kafkaOffsetPos = RowFields.position(rowType, KAFKA_OFFSET_FIELD, LogicalTypeRoot.BIGINT);
        if (outOfOrdernessMillis < 0) {
            throw new IllegalArgumentException("outOfOrdernessMillis must be >= 0, got " + outOfOrdernessMillis);
        }
        if (idleTimeoutMillis <= 0) {
            throw new IllegalArgumentException("idleTimeoutMillis must be > 0, got " + idleTimeoutMillis);
        }
        this.outOfOrdernessMillis = outOfOrdernessMillis;
        this.idleTimeoutMillis = idleTimeoutMillis;
        this.probeIntervalMillis = probeInterval(idleTimeoutMillis);
        this.clock = clock;
        this.probes = probes;
    }

    /**
     * Ten probes per idle timeout, at least two a second: event time follows the clock at most
     * about two probe intervals after the idle timeout (300 ms each at the default 3 s). A probe
     * is one end-offsets request per topic and TaskManager.
     */
    static long probeInterval(long idleTimeoutMillis) {
        return Math.max(50, Math.min(500, idleTimeoutMillis / 10));
    }

    @Override
    public TimestampAssigner<RowData> createTimestampAssigner(TimestampAssignerSupplier.Context context) {
        return (row, recordTimestamp) -> {
            long eventTime = eventTime(row);
            if (eventTime != NO_EVENT_TIME) {
                return eventTime;
            }
            return row.isNullAt(kafkaTimestampPos) ? recordTimestamp : row.getLong(kafkaTimestampPos);
        };
    }

    @Override
    public WatermarkGenerator<RowData> createWatermarkGenerator(WatermarkGeneratorSupplier.Context context) {
        return new Generator();
    }

    private static final long NO_EVENT_TIME = Long.MIN_VALUE;

    /** The row's event time in ms, or NO_EVENT_TIME if it is an error row or has no usable time. */
    private long eventTime(RowData row) {
        if (!row.isNullAt(errorPos) || row.isNullAt(timestampPos)) {
            return NO_EVENT_TIME;
        }
        double s = row.getDouble(timestampPos);
        return Double.isFinite(s) ? Math.round(s * 1000.0) : NO_EVENT_TIME;
    }

    /** Watermarks for one partition. Not thread-safe (Flink calls it from one thread). */
    final class Generator implements WatermarkGenerator<RowData> {
        private final long createdAt = clock.getAsLong();
        private DrainProbe probe;
        private int partition = -1; // -1: no row yet
        private long nextOffset = -1;
        private long lastRowAt = Long.MIN_VALUE; // wall clock of the last row of any kind
        private long maxTimestamp = Long.MIN_VALUE;
        private long lastEventAt = Long.MIN_VALUE; // wall clock; MIN_VALUE: no valid event yet
        private long emitted = Long.MIN_VALUE;
        private boolean watching;
        private boolean idle; // marked idle while it had no row

        @Override
        public void onEvent(RowData row, long eventTimestamp, WatermarkOutput output) {
            lastRowAt = clock.getAsLong();
            if (!row.isNullAt(kafkaPartitionPos) && !row.isNullAt(kafkaOffsetPos)) {
                partition = row.getInt(kafkaPartitionPos);
                nextOffset = row.getLong(kafkaOffsetPos) + 1;
            }
            long eventTime = eventTime(row);
            if (eventTime == NO_EVENT_TIME) {
                return;
            }
            maxTimestamp = Math.max(maxTimestamp, eventTime);
            lastEventAt = lastRowAt;
        }

        @Override
        public void onPeriodicEmit(WatermarkOutput output) {
            long now = clock.getAsLong();
            if (partition < 0) {
                // Commits observed within the idle timeout of our creation may be the last ones
                // of this split's previous reader (a failover): they do not count.
                DrainProbe.Streak settled = probe().settled(createdAt + idleTimeoutMillis);
                if (now - createdAt >= idleTimeoutMillis && settled != null
                        && settled.length() >= idleTimeoutMillis) {
                    output.markIdle();
                    idle = true;
                } else if (idle && settled == null) {
                    // Records nobody reads appeared (perhaps ours, the reader slow to fetch them):
                    // active again, so the others' event time waits for ours.
                    output.markActive();
                    idle = false;
                }
                return;
            }
            probe().claim(partition);
            DrainProbe.Streak drained = null;
            if (now - lastRowAt >= probeIntervalMillis) {
                probe().watch(partition, nextOffset);
                watching = true;
                drained = probe.drained(partition, nextOffset);
            } else if (watching) {
                probe.unwatch(partition);
                watching = false;
            }
            boolean drainedLongEnough = drained != null && drained.length() >= idleTimeoutMillis;
            if (lastEventAt == Long.MIN_VALUE) { // only error rows so far
                if (drainedLongEnough) {
                    output.markIdle();
                }
                return;
            }
            long watermark = maxTimestamp - outOfOrdernessMillis - 1;
            if (drainedLongEnough) {
                watermark = saturatedAdd(watermark, Math.max(0, drained.lastConfirmed() - lastEventAt));
            }
            if (watermark > emitted) {
                emitted = watermark;
                output.emitWatermark(new Watermark(watermark));
            }
        }

        private DrainProbe probe() {
            if (probe == null) {
                probe = probes.open();
            }
            return probe;
        }
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
    }
}
