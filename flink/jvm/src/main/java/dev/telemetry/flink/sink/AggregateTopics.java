package dev.telemetry.flink.sink;

import dev.telemetry.flink.registry.RegistrySettings;
import java.util.Map;
import java.util.Objects;
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
 *
 * <pre>{@code
 * AggregateTopics.builder()
 *     .topic("telemetry-windows")
 *     .kafkaProperties(properties)          // bootstrap servers and security
 *     .registry(registrySettings)
 *     .key("telemetry_window-key", keySchema)
 *     .value("telemetry_window-value", valueSchema)
 *     .transactionalIdPrefix("telemetry-window-topic")
 *     .build()
 *     .appendTo(rows, "telemetry-window-topic");
 * }</pre>
 */
public final class AggregateTopics {

    /** Broker default maximum (transaction.max.timeout.ms): a long recovery does not abort it. */
    static final String TRANSACTION_TIMEOUT_MS = "900000";

    private final String topic;
    private final Properties producerConfig;
    private final ConfluentAvroRowSerializer key;
    private final ConfluentAvroRowSerializer value;
    private final String transactionalIdPrefix;

    private AggregateTopics(Builder builder) {
        topic = required(builder.topic, "topic");
        Map<String, String> properties = required(builder.kafkaProperties, "kafkaProperties");
        required(properties.get("bootstrap.servers"), "kafkaProperties' bootstrap.servers");
        RegistrySettings registry = required(builder.registry, "registry");
        producerConfig = new Properties();
        producerConfig.putAll(properties);
        producerConfig.setProperty("transaction.timeout.ms", TRANSACTION_TIMEOUT_MS);
        // Built here, so that a schema that does not parse fails the submission.
        key = new ConfluentAvroRowSerializer(
                registry, required(builder.keySubject, "key subject"), required(builder.keySchema, "key schema"));
        value = new ConfluentAvroRowSerializer(
                registry, required(builder.valueSubject, "value subject"), required(builder.valueSchema, "value schema"));
        transactionalIdPrefix = required(builder.transactionalIdPrefix, "transactionalIdPrefix");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Append the sink of {@code rows} to the topic, as operator {@code uid}. */
    public void appendTo(DataStream<Row> rows, String uid) {
        rows.sinkTo(sink()).uid(uid).name("kafka: " + topic);
    }

    KafkaSink<Row> sink() {
        return KafkaSink.<Row>builder()
                .setBootstrapServers(producerConfig.getProperty("bootstrap.servers"))
                .setKafkaProducerConfig(producerConfig)
                .setRecordSerializer(recordSerializer())
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(transactionalIdPrefix)
                .build();
    }

    KafkaRecordSerializationSchema<Row> recordSerializer() {
        return KafkaRecordSerializationSchema.<Row>builder()
                .setTopic(topic)
                .setKeySerializationSchema(key)
                .setValueSerializationSchema(value)
                .build();
    }

    /** The producer's properties: the given ones, with the transaction timeout. */
    Properties producerConfig() {
        Properties copy = new Properties();
        copy.putAll(producerConfig);
        return copy;
    }

    private static <T> T required(T value, String what) {
        return Objects.requireNonNull(value, () -> "AggregateTopics: " + what + " is not set");
    }

    /** Named setters for {@link AggregateTopics}; every one is required. */
    public static final class Builder {
        private String topic;
        private Map<String, String> kafkaProperties;
        private RegistrySettings registry;
        private String keySubject;
        private String keySchema;
        private String valueSubject;
        private String valueSchema;
        private String transactionalIdPrefix;

        private Builder() {}

        public Builder topic(String topic) {
            this.topic = topic;
            return this;
        }

        /** The Kafka client properties, bootstrap servers and security included. */
        public Builder kafkaProperties(Map<String, String> kafkaProperties) {
            this.kafkaProperties = Map.copyOf(kafkaProperties);
            return this;
        }

        public Builder registry(RegistrySettings registry) {
            this.registry = registry;
            return this;
        }

        /** The keys' subject and the Avro schema it holds (never registered by the job). */
        public Builder key(String subject, String schemaJson) {
            this.keySubject = subject;
            this.keySchema = schemaJson;
            return this;
        }

        /** The values' subject and the Avro schema it holds (never registered by the job). */
        public Builder value(String subject, String schemaJson) {
            this.valueSubject = subject;
            this.valueSchema = schemaJson;
            return this;
        }

        public Builder transactionalIdPrefix(String transactionalIdPrefix) {
            this.transactionalIdPrefix = transactionalIdPrefix;
            return this;
        }

        public AggregateTopics build() {
            return new AggregateTopics(this);
        }
    }
}
