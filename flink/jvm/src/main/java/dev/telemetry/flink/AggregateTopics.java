package dev.telemetry.flink;

import java.util.Map;
import java.util.Properties;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.types.Row;

/**
 * The job's aggregates on Kafka: each row of a stream to a topic, keyed and valued as
 * Confluent-framed Avro under the subjects' registered schemas, exactly once (one Kafka transaction
 * per checkpoint, so a {@code read_committed} consumer sees a row once its checkpoint completed).
 */
public final class AggregateTopics {

    /** Broker default maximum (transaction.max.timeout.ms): a long recovery does not abort it. */
    static final String TRANSACTION_TIMEOUT_MS = "900000";

    private AggregateTopics() {}

    /**
     * Append a sink of {@code rows} to {@code topic}.
     *
     * @param properties the Kafka client properties (bootstrap servers and security included)
     * @param registry the registry's URL, its CA file (or null) and the environment variable that
     *     holds its credentials (or null), in this order
     */
    public static void append(
            DataStream<Row> rows,
            String uid,
            String topic,
            Map<String, String> properties,
            String[] registry,
            String keySubject,
            String keySchema,
            String valueSubject,
            String valueSchema,
            String transactionalIdPrefix) {
        Properties producer = new Properties();
        producer.putAll(properties);
        producer.setProperty("transaction.timeout.ms", TRANSACTION_TIMEOUT_MS);
        KafkaSink<Row> sink = KafkaSink.<Row>builder()
                .setBootstrapServers(properties.get("bootstrap.servers"))
                .setKafkaProducerConfig(producer)
                .setRecordSerializer(KafkaRecordSerializationSchema.<Row>builder()
                        .setTopic(topic)
                        .setKeySerializationSchema(
                                new ConfluentAvroRowSerializer(registry[0], keySubject, keySchema, registry[1], registry[2]))
                        .setValueSerializationSchema(
                                new ConfluentAvroRowSerializer(registry[0], valueSubject, valueSchema, registry[1], registry[2]))
                        .build())
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(transactionalIdPrefix)
                .build();
        rows.sinkTo(sink).uid(uid).name("kafka: " + topic);
    }
}
