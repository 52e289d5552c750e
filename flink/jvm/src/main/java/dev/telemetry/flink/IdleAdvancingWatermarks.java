package dev.telemetry.flink;

import java.io.Serializable;
import java.util.function.LongSupplier;
import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.common.eventtime.TimestampAssignerSupplier;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.types.Row;

/**
 * Bounded out-of-orderness watermarks for the rows of {@link ConfluentAvroRecordDeserializer},
 * which keep advancing with the wall clock when a partition goes quiet, so the last windows close
 * when traffic stops.
 *
 * <p>Event time is read from a DOUBLE field of epoch seconds ({@code timestampField}) and rounded
 * to milliseconds. Rows that are not valid events (their {@code error} field is set, or the
 * timestamp is null or not finite) are stamped with their {@code kafka_timestamp} and never move
 * the watermark. Fields are looked up by name, so rows must carry their field names, as the
 * deserializer's rows and every row Flink deserializes with a {@code RowTypeInfo} do.
 *
 * <p>One generator runs per Kafka partition (KafkaSource creates one per split). Each periodic
 * emit ({@code pipeline.auto-watermark-interval}):
 *
 * <ul>
 *   <li>no valid event yet, and {@code idleTimeout} passed since the generator was created: mark
 *       the partition idle, so an empty partition does not hold back the watermark;
 *   <li>the last valid event arrived less than {@code idleTimeout} ago (wall clock): emit {@code
 *       maxTimestamp - outOfOrderness - 1};
 *   <li>otherwise the partition has gone quiet: emit {@code maxTimestamp - outOfOrderness - 1 +
 *       (now - lastEventWallClock)}, i.e. event time follows the wall clock. When every partition
 *       stops, each open window closes within about {@code idleTimeout + window + outOfOrderness}
 *       of the last event.
 * </ul>
 *
 * The watermark never goes back.
 *
 * <p>Trade-off: a partition that resumes after going quiet, with event times below the watermark
 * it advanced to (a producer that was paused, a replay, a car whose clock lags), delivers late
 * rows until its event time catches up. The job routes late rows to a late-data sink, so they are
 * kept, not dropped; choose {@code idleTimeout} longer than any normal gap in a partition's
 * traffic. Unlike {@code WatermarkStrategy.withIdleness}, a quiet partition that has had data does
 * not become idle, so the job's watermark still advances when every partition is quiet.
 */
public final class IdleAdvancingWatermarks implements WatermarkStrategy<Row> {

    private static final long serialVersionUID = 1L;

    /** A wall clock in epoch milliseconds that Flink can ship with the strategy. */
    @FunctionalInterface
    public interface Clock extends LongSupplier, Serializable {}

    static final String ERROR_FIELD = "error";
    static final String KAFKA_TIMESTAMP_FIELD = "kafka_timestamp";

    private final String timestampField;
    private final long outOfOrdernessMillis;
    private final long idleTimeoutMillis;
    private final Clock clock;

    /**
     * @param timestampField name of the DOUBLE field with the event time in epoch seconds
     * @param outOfOrdernessMillis how far behind the newest event an event may be and still be on time
     * @param idleTimeoutMillis wall-clock quiet time after which a partition is idle (never had an
     *     event) or its watermark follows the clock (had events)
     */
    public IdleAdvancingWatermarks(String timestampField, long outOfOrdernessMillis, long idleTimeoutMillis) {
        this(timestampField, outOfOrdernessMillis, idleTimeoutMillis, System::currentTimeMillis);
    }

    /** As above, with the wall clock given (for tests). */
    public IdleAdvancingWatermarks(
            String timestampField, long outOfOrdernessMillis, long idleTimeoutMillis, Clock clock) {
        if (timestampField == null || timestampField.isBlank()) {
            throw new IllegalArgumentException("timestampField is empty");
        }
        if (outOfOrdernessMillis < 0) {
            throw new IllegalArgumentException("outOfOrdernessMillis must be >= 0, got " + outOfOrdernessMillis);
        }
        if (idleTimeoutMillis <= 0) {
            throw new IllegalArgumentException("idleTimeoutMillis must be > 0, got " + idleTimeoutMillis);
        }
        this.timestampField = timestampField;
        this.outOfOrdernessMillis = outOfOrdernessMillis;
        this.idleTimeoutMillis = idleTimeoutMillis;
        this.clock = clock;
    }

    @Override
    public TimestampAssigner<Row> createTimestampAssigner(TimestampAssignerSupplier.Context context) {
        return (row, recordTimestamp) -> {
            long eventTime = eventTime(row);
            if (eventTime != NO_EVENT_TIME) {
                return eventTime;
            }
            Object kafkaTimestamp = row.getField(KAFKA_TIMESTAMP_FIELD);
            return kafkaTimestamp instanceof Long ms ? ms : recordTimestamp;
        };
    }

    @Override
    public WatermarkGenerator<Row> createWatermarkGenerator(WatermarkGeneratorSupplier.Context context) {
        return new Generator();
    }

    private static final long NO_EVENT_TIME = Long.MIN_VALUE;

    /** The row's event time in ms, or NO_EVENT_TIME if it is an error row or has no usable time. */
    private long eventTime(Row row) {
        if (row.getField(ERROR_FIELD) != null) {
            return NO_EVENT_TIME;
        }
        if (!(row.getField(timestampField) instanceof Number seconds)) {
            return NO_EVENT_TIME;
        }
        double s = seconds.doubleValue();
        return Double.isFinite(s) ? Math.round(s * 1000.0) : NO_EVENT_TIME;
    }

    /** Watermarks for one partition. Not thread-safe (Flink calls it from one thread). */
    final class Generator implements WatermarkGenerator<Row> {
        private final long createdAt = clock.getAsLong();
        private long maxTimestamp = Long.MIN_VALUE;
        private long lastEventAt = Long.MIN_VALUE; // wall clock; MIN_VALUE: no valid event yet
        private long emitted = Long.MIN_VALUE;

        @Override
        public void onEvent(Row row, long eventTimestamp, WatermarkOutput output) {
            long eventTime = eventTime(row);
            if (eventTime == NO_EVENT_TIME) {
                return;
            }
            maxTimestamp = Math.max(maxTimestamp, eventTime);
            lastEventAt = clock.getAsLong();
        }

        @Override
        public void onPeriodicEmit(WatermarkOutput output) {
            long now = clock.getAsLong();
            if (lastEventAt == Long.MIN_VALUE) {
                if (now - createdAt >= idleTimeoutMillis) {
                    output.markIdle();
                }
                return;
            }
            long watermark = maxTimestamp - outOfOrdernessMillis - 1;
            long quietFor = now - lastEventAt;
            if (quietFor >= idleTimeoutMillis) {
                watermark = saturatedAdd(watermark, quietFor);
            }
            if (watermark > emitted) {
                emitted = watermark;
                output.emitWatermark(new Watermark(watermark));
            }
        }
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
    }
}
