package dev.telemetry.flink.sink;

import static dev.telemetry.flink.sink.ConfluentAvroRowSerializerTest.LAP;
import static dev.telemetry.flink.sink.ConfluentAvroRowSerializerTest.LAP_ID;
import static dev.telemetry.flink.sink.ConfluentAvroRowSerializerTest.LAP_KEY;
import static dev.telemetry.flink.sink.ConfluentAvroRowSerializerTest.LAP_SUBJECT;
import static dev.telemetry.flink.sink.ConfluentAvroRowSerializerTest.decode;
import static dev.telemetry.flink.sink.ConfluentAvroRowSerializerTest.lap;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.telemetry.flink.registry.FakeRegistry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.dag.Transformation;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.transformations.SinkTransformation;
import org.apache.flink.types.Row;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The aggregates' Kafka sink: what it writes where, and the transaction it writes in. */
class AggregateTopicsTest {

    static final String KEY_SUBJECT = "telemetry_lap-key";
    static final int KEY_ID = 20;
    static final Map<String, String> KAFKA = Map.of(
            "bootstrap.servers", "127.0.0.1:9092", "security.protocol", "PLAINTEXT", "transaction.timeout.ms", "60000");

    FakeRegistry registry;

    @BeforeEach
    void startRegistry() throws IOException {
        registry = new FakeRegistry().register(LAP_SUBJECT, LAP_ID, LAP).register(KEY_SUBJECT, KEY_ID, LAP_KEY);
    }

    @AfterEach
    void stopRegistry() {
        registry.close();
    }

    AggregateTopics.Builder laps() {
        return AggregateTopics.builder()
                .topic("telemetry_lap")
                .kafkaProperties(KAFKA)
                .registry(registry.settings())
                .key(KEY_SUBJECT, LAP_KEY.toString())
                .value(LAP_SUBJECT, LAP.toString())
                .transactionalIdPrefix("job-lap-topic");
    }

    @Test
    void aRowBecomesARecordOnTheTopicKeyedByItsCarUnderBothSubjects() throws Exception {
        KafkaRecordSerializationSchema<Row> serializer = laps().build().recordSerializer();
        serializer.open(null, null);
        ProducerRecord<byte[], byte[]> record =
                serializer.serialize(lap(Instant.ofEpochMilli(1_700_000_000_500L), 50.0), null, null);
        assertEquals("telemetry_lap", record.topic());
        assertEquals(KEY_ID, ByteBuffer.wrap(record.key(), 1, 4).getInt());
        assertEquals(16, decode(LAP_KEY, record.key()).get("car_id"));
        assertEquals(LAP_ID, ByteBuffer.wrap(record.value(), 1, 4).getInt());
        assertEquals(4, decode(LAP, record.value()).get("lap"));
    }

    @Test
    void theTransactionTimeoutIsTheBrokersMaximumWhateverThePropertiesSay() {
        Properties producer = laps().build().producerConfig();
        assertEquals(AggregateTopics.TRANSACTION_TIMEOUT_MS, producer.getProperty("transaction.timeout.ms"));
        assertEquals("900000", AggregateTopics.TRANSACTION_TIMEOUT_MS, "the broker's transaction.max.timeout.ms");
        assertEquals("PLAINTEXT", producer.getProperty("security.protocol"), "security kept");
    }

    @Test
    void appendToAddsOneSinkWithTheUidAndTheTopicsName() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        laps().build().appendTo(env.fromData(Row.of(1)), "telemetry-lap-topic");
        List<Transformation<?>> sinks = env.getTransformations().stream()
                .filter(t -> t instanceof SinkTransformation<?, ?>)
                .toList();
        assertEquals(1, sinks.size());
        assertEquals("telemetry-lap-topic", sinks.get(0).getUid());
        assertEquals("kafka: telemetry_lap", sinks.get(0).getName());
    }

    @Test
    void everySettingIsRequiredAndNamedWhenMissing() {
        NullPointerException e = assertThrows(NullPointerException.class,
                () -> laps().transactionalIdPrefix(null).build());
        assertTrue(e.getMessage().contains("transactionalIdPrefix"), e.getMessage());
        e = assertThrows(NullPointerException.class, () -> laps().registry(null).build());
        assertTrue(e.getMessage().contains("registry"), e.getMessage());
        e = assertThrows(NullPointerException.class, () -> laps().kafkaProperties(Map.of()).build());
        assertTrue(e.getMessage().contains("bootstrap.servers"), e.getMessage());
    }

    @Test
    void aSchemaThatDoesNotParseFailsTheSubmission() {
        assertThrows(RuntimeException.class, () -> laps().value(LAP_SUBJECT, "{not json").build());
    }
}
