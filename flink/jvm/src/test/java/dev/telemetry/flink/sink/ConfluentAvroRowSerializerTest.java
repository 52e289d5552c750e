package dev.telemetry.flink.sink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.telemetry.flink.registry.FakeRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.LinkedHashMap;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.flink.types.Row;
import org.apache.flink.types.RowKind;
import org.apache.flink.types.RowUtils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Rows to Confluent-framed Avro under the real lap contract, with the id the registry holds it as. */
class ConfluentAvroRowSerializerTest {

    static final Path SCHEMAS = Path.of("../../schemas");
    static final String LAP_SUBJECT = "telemetry_lap-value";
    static final Schema LAP = load("telemetry_lap-value/v1.avsc");
    static final Schema LAP_KEY = load("telemetry_lap-key/v1.avsc");
    static final int LAP_ID = 21;

    FakeRegistry registry;

    @BeforeEach
    void startRegistry() throws IOException {
        registry = new FakeRegistry().register(LAP_SUBJECT, LAP_ID, LAP);
    }

    @AfterEach
    void stopRegistry() {
        registry.close();
    }

    static Schema load(String file) {
        try {
            return new Schema.Parser().parse(Files.readString(SCHEMAS.resolve(file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A lap row as the job's SQL gives it: named fields, in another order, and one more. */
    static Row lap(Object lapStart, Double avgThrottle) {
        String[] names = {"event_count", "lap", "car_id", "lap_start", "lap_end", "lap_time_ms", "top_speed",
            "min_speed", "avg_speed", "avg_throttle", "brake_share", "max_rpm", "not_in_the_schema"};
        Object[] values = {120L, 4, 16, lapStart, Instant.ofEpochMilli(1_700_000_090_500L), 90_000L, 320.5,
            80.25, 201.0, avgThrottle, 0.2, 11800, "ignored"};
        LinkedHashMap<String, Integer> positions = new LinkedHashMap<>();
        for (int i = 0; i < names.length; i++) {
            positions.put(names[i], i);
        }
        return RowUtils.createRowWithNamedPositions(RowKind.INSERT, values, positions);
    }

    static GenericRecord decode(Schema schema, byte[] framed) throws IOException {
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(framed, 5, framed.length - 5, null);
        GenericRecord record = new GenericDatumReader<GenericRecord>(schema).read(null, decoder);
        assertTrue(decoder.isEnd(), "nothing after the record");
        return record;
    }

    ConfluentAvroRowSerializer opened() throws Exception {
        ConfluentAvroRowSerializer serializer = new ConfluentAvroRowSerializer(registry.settings(), LAP_SUBJECT,
                LAP.toString());
        serializer.open(null);
        return serializer;
    }

    @Test
    void aRowIsFramedWithTheIdTheSubjectHoldsItsSchemaAs() throws Exception {
        byte[] bytes = opened().serialize(lap(Instant.ofEpochMilli(1_700_000_000_500L), 55.5));
        assertArrayEquals(ByteBuffer.allocate(5).put((byte) 0).putInt(LAP_ID).array(), Arrays.copyOf(bytes, 5));
        GenericRecord record = decode(LAP, bytes);
        assertEquals(16, record.get("car_id"));
        assertEquals(4, record.get("lap"));
        assertEquals(1_700_000_000_500L, record.get("lap_start"), "timestamp-millis from an Instant");
        assertEquals(1_700_000_090_500L, record.get("lap_end"));
        assertEquals(120L, record.get("event_count"));
        assertEquals(55.5, record.get("avg_throttle"));
    }

    @Test
    void aUtcLocalDateTimeIsATimestampTooAndNullFillsANullableField() throws Exception {
        LocalDateTime start = LocalDateTime.of(2023, 11, 14, 22, 13, 20, 500_000_000);
        GenericRecord record = decode(LAP, opened().serialize(lap(start, null)));
        assertEquals(1_700_000_000_500L, record.get("lap_start"));
        assertNull(record.get("avg_throttle"));
    }

    @Test
    void eachRowIsAFreshArrayThoughTheBufferIsReused() throws Exception {
        ConfluentAvroRowSerializer serializer = opened();
        byte[] first = serializer.serialize(lap(Instant.ofEpochMilli(1_000L), 1.0));
        byte[] second = serializer.serialize(lap(Instant.ofEpochMilli(2_000L), 2.0));
        assertEquals(1_000L, decode(LAP, first).get("lap_start"));
        assertEquals(2_000L, decode(LAP, second).get("lap_start"));
    }

    @Test
    void aSchemaTheSubjectDoesNotHoldFailsTheJobWithTheFix() {
        ConfluentAvroRowSerializer serializer =
                new ConfluentAvroRowSerializer(registry.settings(), LAP_SUBJECT, LAP_KEY.toString());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> serializer.open(null));
        assertTrue(e.getMessage().contains("telemetry schemas register"), e.getMessage());
        ConfluentAvroRowSerializer unknown =
                new ConfluentAvroRowSerializer(registry.settings(), "no-such-subject", LAP.toString());
        assertThrows(IllegalStateException.class, () -> unknown.open(null));
    }

    @Test
    void aRowThatDoesNotFitTheSchemaIsRefusedNamingTheSubject() throws Exception {
        Row missingRequired = lap(null, 1.0); // lap_start is not nullable
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> opened().serialize(missingRequired));
        assertTrue(e.getMessage().startsWith("cannot encode a row under " + LAP_SUBJECT), e.getMessage());
    }

    @Test
    void aSchemaThatIsNotARecordFailsWhenTheJobIsBuilt() {
        assertThrows(IllegalArgumentException.class,
                () -> new ConfluentAvroRowSerializer(registry.settings(), LAP_SUBJECT, "\"long\""));
    }
}
