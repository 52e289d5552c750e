package dev.telemetry.flink.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.telemetry.flink.registry.FakeRegistry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.types.logical.BigIntType;
import org.apache.flink.table.types.logical.BooleanType;
import org.apache.flink.table.types.logical.DoubleType;
import org.apache.flink.table.types.logical.FloatType;
import org.apache.flink.table.types.logical.IntType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.VarBinaryType;
import org.apache.flink.table.types.logical.VarCharType;
import org.apache.flink.types.Row;
import org.apache.flink.types.RowKind;
import org.apache.flink.types.RowUtils;
import org.apache.flink.util.Collector;
import org.apache.flink.util.SimpleUserCodeClassLoader;
import org.apache.flink.util.UserCodeClassLoader;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ConfluentAvroRecordDeserializerTest {

    // The real contracts, read from the repository (Surefire runs in flink/jvm).
    static final Path SCHEMAS = Path.of("../../schemas/telemetry_data-value");
    static final Schema V1 = load("v1.avsc");
    static final Schema V2 = load("v2.avsc");
    static final int V1_ID = 3;
    static final int V2_ID = 4;
    static final int PROBE_ID = 1;

    FakeRegistry registry;
    ConfluentAvroRecordDeserializer deserializer;

    @BeforeEach
    void startRegistry() throws IOException {
        registry = new FakeRegistry().register(V1_ID, V1).register(V2_ID, V2).register(PROBE_ID,
                new Schema.Parser().parse(
                        "{\"type\":\"record\",\"name\":\"Probe\",\"namespace\":\"test.stack\","
                                + "\"fields\":[{\"name\":\"n\",\"type\":\"int\"}]}"));
        deserializer = new ConfluentAvroRecordDeserializer(registry.settings(), V2.toString());
    }

    @AfterEach
    void stopRegistry() {
        registry.close();
    }

    // --- row layout -------------------------------------------------------------------------

    @Test
    void producedTypeIsReaderFieldsThenMetadataColumns() {
        RowType type = deserializer.rowType();
        assertEquals(type, deserializer.getProducedType().toRowType());
        assertEquals(List.of("car_id", "speed", "rpm", "gear", "timestamp", "throttle", "brake", "drs", "lap",
                        "schema_id", "error", "payload", "kafka_key", "kafka_partition", "kafka_offset",
                        "kafka_timestamp"),
                type.getFieldNames());
        LogicalType bytes = new VarBinaryType(VarBinaryType.MAX_LENGTH);
        assertEquals(List.of(new IntType(), new DoubleType(), new IntType(), new IntType(), new DoubleType(),
                        new DoubleType(), new DoubleType(), new BooleanType(), new IntType(),
                        new IntType(), VarCharType.STRING_TYPE, bytes, bytes,
                        new IntType(), new BigIntType(), new BigIntType()),
                type.getChildren());
    }

    // --- decoding -----------------------------------------------------------------------------

    @Test
    void v1RecordReadWithV2ReaderGetsNullsForTheNewFields() throws IOException {
        GenericRecord v1 = new GenericData.Record(V1);
        v1.put("car_id", 44);
        v1.put("speed", 301.5);
        v1.put("rpm", 11800);
        v1.put("gear", 7);
        v1.put("timestamp", 1_700_000_000.125);

        Row row = one(record(frame(V1_ID, encode(v1)), 2, 17L, 1_700_000_000_200L));

        assertEquals(Row.of(44, 301.5, 11800, 7, 1_700_000_000.125, null, null, null, null,
                V1_ID, null, null, null, 2, 17L, 1_700_000_000_200L), row);
    }

    @Test
    void v2ValuesRoundTripAndRowsCanBeReadByName() throws IOException {
        Row row = one(record(frame(V2_ID, encode(v2Record(16, 1_700_000_001.5))), 0, 5L, 99L));

        assertEquals(Row.of(16, 250.0, 10500, 6, 1_700_000_001.5, 87.5, 0.0, true, 12,
                V2_ID, null, null, null, 0, 5L, 99L), row);
        assertEquals(12, row.getField("lap"));
        assertNull(row.getField("error"));
        assertEquals(16, row.getField(0));
    }

    @Test
    void decodesManyRecordsReusingTheDecoderAndCachingTheWriterSchema() throws IOException {
        List<Row> rows = new ArrayList<>();
        Collector<RowData> out = collector(rows);
        for (int i = 0; i < 1000; i++) {
            int id = i % 2 == 0 ? V1_ID : V2_ID;
            byte[] body = id == V1_ID ? encode(v1Record(i)) : encode(v2Record(i, i + 0.5));
            deserializer.deserialize(record(frame(id, body), 0, i, i), out);
        }
        assertEquals(1000, rows.size());
        assertEquals(999, rows.get(999).getField("car_id"));
        assertNull(rows.get(998).getField("lap"));
        assertEquals(1, registry.hits(V1_ID));
        assertEquals(1, registry.hits(V2_ID));
    }

    /**
     * Random v1 and v2 records, nulls and extremes included: the rows hold exactly the values
     * written (the direct path, decoding a writer whose fields are the reader's first ones).
     */
    @Test
    void randomRecordsOfBothVersionsDecodeToTheirValues() throws IOException {
        java.util.Random random = new java.util.Random(7);
        for (int i = 0; i < 2_000; i++) {
            boolean v1 = random.nextInt(4) == 0;
            GenericRecord r = new GenericData.Record(v1 ? V1 : V2);
            r.put("car_id", random.nextInt());
            r.put("speed", random.nextInt(10) == 0 ? -0.0 : random.nextDouble() * 400);
            r.put("rpm", random.nextInt(10) == 0 ? Integer.MIN_VALUE : random.nextInt(20_000));
            r.put("gear", random.nextInt(9));
            r.put("timestamp", 1.7e9 + random.nextDouble() * 1e6);
            if (!v1) {
                r.put("throttle", random.nextBoolean() ? null : random.nextDouble() * 100);
                r.put("brake", random.nextBoolean() ? null : random.nextDouble() * 100);
                r.put("drs", random.nextInt(3) == 0 ? null : random.nextBoolean());
                r.put("lap", random.nextBoolean() ? null : random.nextInt(Integer.MAX_VALUE));
            }
            Row row = one(record(frame(v1 ? V1_ID : V2_ID, encode(r)), 1, i, 0));
            for (String field : List.of("car_id", "speed", "rpm", "gear", "timestamp")) {
                assertEquals(r.get(field), row.getField(field), field);
            }
            for (String field : List.of("throttle", "brake", "drs", "lap")) {
                assertEquals(v1 ? null : r.get(field), row.getField(field), field);
            }
            assertNull(row.getField("error"));
        }
    }

    @Test
    void aWriterWithTheReadersFieldsInAnotherOrderIsResolvedByName() throws IOException {
        Schema reordered = new Schema.Parser().parse(V2.toString().replaceFirst(
                "\\{\"name\":\"car_id\",\"type\":\"int\"[^}]*\\},", "")
                .replace("]}", ",{\"name\":\"car_id\",\"type\":\"int\"}]}"));
        assertEquals("car_id", reordered.getFields().get(reordered.getFields().size() - 1).name());
        assertNull(ConfluentAvroRecordDeserializer.nullBranches(reordered, V2), "not the direct path");
        registry.register(21, reordered);
        GenericRecord r = new GenericData.Record(reordered);
        for (Schema.Field f : V2.getFields()) {
            r.put(f.name(), v2Record(33, 1.5).get(f.name()));
        }
        Row row = one(record(frame(21, encode(r)), 0, 0, 0));
        assertEquals(33, row.getField("car_id"));
        assertEquals(12, row.getField("lap"));
        assertEquals(87.5, row.getField("throttle"));
    }

    @Test
    void theDirectLayoutIsThePrefixOfNullableFieldsAndRefusesOtherDefaults() {
        assertArrayEquals(new int[] {-1, -1, -1, -1, -1, 0, 0, 0, 0}, ConfluentAvroRecordDeserializer.nullBranches(V2, V2));
        assertArrayEquals(new int[] {-1, -1, -1, -1, -1}, ConfluentAvroRecordDeserializer.nullBranches(V1, V2));
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : V2.getFields()) {
            fields.add(f.name().equals("lap")
                    ? new Schema.Field("lap", Schema.createUnion(Schema.create(Schema.Type.INT),
                            Schema.create(Schema.Type.NULL)), null, 1)
                    : new Schema.Field(f, f.schema()));
        }
        Schema defaulted = Schema.createRecord(V2.getName(), null, V2.getNamespace(), false, fields);
        assertNull(ConfluentAvroRecordDeserializer.nullBranches(V1, defaulted), "lap's default is 1, not null");
        assertArrayEquals(new int[] {-1, -1, -1, -1, -1, 0, 0, 0, 1},
                ConfluentAvroRecordDeserializer.nullBranches(defaulted, defaulted), "null is branch 1");
    }

    // --- the Confluent header -----------------------------------------------------------------

    @Test
    void schemaIdIsBigEndianInBytesOneToFour() {
        assertEquals(258, ConfluentAvroRecordDeserializer.schemaId(new byte[] {0, 0, 0, 1, 2}));
        assertEquals(Integer.MAX_VALUE,
                ConfluentAvroRecordDeserializer.schemaId(new byte[] {0, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 9}));
        assertEquals(-1, ConfluentAvroRecordDeserializer.schemaId(new byte[] {0, -1, -1, -1, -1}));
    }

    @Test
    void emptyValueIsBadMagic() throws IOException {
        Row row = one(record(new byte[0], 0, 0, 0));
        assertError(row, "bad-magic: empty value");
        assertNull(row.getField("schema_id"));
    }

    @Test
    void plainJsonIsBadMagic() throws IOException {
        byte[] json = "{\"car_id\": 1}".getBytes();
        Row row = one(record(json, 3, 8L, 9L));
        assertError(row, "bad-magic: wrong magic byte 0x7b (not Confluent Avro)");
        assertArrayEquals(json, (byte[]) row.getField("payload"));
        assertArrayEquals(KEY, (byte[]) row.getField("kafka_key"), "the key, to replay to the same partition");
        assertEquals(3, row.getField("kafka_partition"));
        assertEquals(8L, row.getField("kafka_offset"));
        assertEquals(9L, row.getField("kafka_timestamp"));
        assertEquals(0, registry.hits(0) + registry.hits(V2_ID));
    }

    @Test
    void headerShorterThanFiveBytesIsCorrupt() throws IOException {
        assertError(one(record(new byte[] {0, 0, 0}, 0, 0, 0)),
                "corrupt: value is 3 bytes, shorter than the 5-byte Confluent header");
    }

    // --- bad records become error rows ----------------------------------------------------------

    @Test
    void tombstoneIsNullValue() throws IOException {
        Row row = one(record(null, 1, 2L, 3L));
        assertError(row, "null-value: ");
        assertNull(row.getField("payload"));
        assertEquals(2L, row.getField("kafka_offset"));
    }

    @Test
    void unknownSchemaIdIsReportedAndNegativelyCached() throws IOException {
        byte[] value = frame(999, encode(v2Record(1, 1.0)));
        for (int i = 0; i < 50; i++) {
            Row row = one(record(value, 0, i, 0));
            assertError(row, "unknown-schema: schema id 999 is not in the registry");
            assertEquals(999, row.getField("schema_id"));
            assertArrayEquals(value, (byte[]) row.getField("payload"));
        }
        assertEquals(1, registry.hits(999));
    }

    @Test
    void aReplayedDeadLetterAsksAgainForASchemaRegisteredSinceItDied() throws IOException {
        byte[] value = frame(998, encode(v2Record(7, 1.0)));
        assertError(one(record(value, 0, 0, 0)), "unknown-schema: schema id 998 is not in the registry");
        registry.register(998, V2); // registered late

        assertError(one(record(value, 0, 1, 0)), "unknown-schema: schema id 998 is not in the registry");
        ConsumerRecord<byte[], byte[]> replayed = record(value, 0, 2, 0);
        replayed.headers().add(ConfluentAvroRecordDeserializer.REPLAYED_FROM_HEADER, "dlq/0/5".getBytes());
        Row row = one(replayed);
        assertNull(row.getField("error"));
        assertEquals(7, row.getField("car_id"));
        assertEquals(2, registry.hits(998), "asked once when it died, once for the replay");
    }

    @Test
    void truncatedBodyIsCorrupt() throws IOException {
        byte[] body = encode(v2Record(1, 1.0));
        Row row = one(record(frame(V2_ID, Arrays.copyOf(body, body.length - 3)), 0, 0, 0));
        assertError(row, "corrupt: corrupt Avro body (schema id 4): EOFException");
        assertNull(row.getField("car_id"));
    }

    @Test
    void trailingBytesAreCorrupt() throws IOException {
        byte[] body = encode(v1Record(1));
        byte[] padded = Arrays.copyOf(body, body.length + 2);
        assertError(one(record(frame(V1_ID, padded), 0, 0, 0)),
                "corrupt: 2 trailing bytes after the Avro record (schema id 3)");
    }

    @Test
    void outOfRangeUnionIndexIsCorrupt() throws IOException {
        byte[] body = encode(v2Record(1, 1.0));
        // v2 body: car_id, speed, rpm, gear, timestamp, then throttle's union index (1 -> zigzag 2).
        int throttleIndexAt = body.length - (1 + 8) - (1 + 8) - (1 + 1) - (1 + 1);
        assertEquals(2, body[throttleIndexAt]);
        body[throttleIndexAt] = 40; // branch 20 of a 2-branch union
        Row row = one(record(frame(V2_ID, body), 0, 0, 0));
        assertError(row, "corrupt: corrupt Avro body (schema id 4): ");
    }

    @Test
    void writerSchemaThatCannotBeResolvedIsIncompatible() throws IOException {
        Row row = one(record(frame(PROBE_ID, new byte[] {2}), 0, 0, 0));
        assertError(row, "incompatible-schema: schema id 1 (test.stack.Probe) cannot be read as "
                + "motorsport.telemetry.TelemetryEvent: ");
        one(record(frame(PROBE_ID, new byte[] {2}), 0, 1, 0));
        assertEquals(1, registry.hits(PROBE_ID));
    }

    @Test
    void nonAvroWriterSchemaIsIncompatible() throws IOException {
        registry.registerBody(7, "{\"schema\": \"syntax = \\\"proto3\\\";\", \"schemaType\": \"PROTOBUF\"}");
        assertError(one(record(frame(7, new byte[] {0}), 0, 0, 0)),
                "incompatible-schema: schema id 7 is a PROTOBUF schema, not Avro");
    }

    @Test
    void registryOutageThrowsInsteadOfDeadLetteringGoodRecords() {
        registry.failNext(100);
        IOException e = assertThrows(IOException.class,
                () -> one(record(frame(V2_ID, encode(v2Record(1, 1.0))), 0, 0, 0)));
        assertTrue(e.getMessage().contains("schema id 4 after 4 attempts"), e.getMessage());
        assertEquals(4, registry.hits(V2_ID));
    }

    // --- metrics and shipping -------------------------------------------------------------------

    @Test
    void openRegistersCountersThatCountByReason() throws Exception {
        Map<String, Counter> counters = new HashMap<>();
        deserializer.open(context(counters));
        one(record(frame(V2_ID, encode(v2Record(1, 1.0))), 0, 0, 0));
        one(record(frame(V2_ID, encode(v2Record(2, 1.0))), 0, 1, 0));
        one(record(null, 0, 2, 0));
        one(record(new byte[] {1}, 0, 3, 0));

        assertEquals(2, counters.get("telemetryRecordsDecoded").getCount());
        assertEquals(2, counters.get("telemetryRecordsFailed").getCount());
        assertEquals(1, counters.get("telemetryFailed_null_value").getCount());
        assertEquals(1, counters.get("telemetryFailed_bad_magic").getCount());
        assertEquals(0, counters.get("telemetryFailed_unknown_schema").getCount());
        assertEquals(0, counters.get("telemetryFailed_corrupt").getCount());
        assertEquals(0, counters.get("telemetryFailed_incompatible_schema").getCount());
    }

    @Test
    void survivesJavaSerializationAsFlinkShipsIt() throws Exception {
        one(record(frame(V2_ID, encode(v2Record(1, 1.0))), 0, 0, 0)); // warm transient state
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(deserializer);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            deserializer = (ConfluentAvroRecordDeserializer) in.readObject();
        }
        assertEquals(5, one(record(frame(V2_ID, encode(v2Record(5, 1.0))), 0, 0, 0)).getField("car_id"));
    }

    // --- the constructor refuses what it cannot produce -------------------------------------------

    @Test
    void refusesUnsupportedReaderFieldTypes() {
        for (String type : List.of("{\"type\":\"array\",\"items\":\"int\"}", "\"bytes\"",
                "[\"int\",\"string\"]", "[\"null\",\"int\",\"string\"]",
                "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}",
                "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}")) {
            String schema = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"f\",\"type\":" + type + "}]}";
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new ConfluentAvroRecordDeserializer(registry.settings(), schema), type);
            assertTrue(e.getMessage().startsWith("reader schema field 'f' has type"), e.getMessage());
        }
    }

    @Test
    void acceptsEverySupportedTypeEitherSideOfNull() {
        String schema = "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
                + "{\"name\":\"a\",\"type\":\"long\"},{\"name\":\"b\",\"type\":\"float\"},"
                + "{\"name\":\"c\",\"type\":[\"string\",\"null\"]},{\"name\":\"d\",\"type\":[\"null\",\"boolean\"]}]}";
        RowType type = new ConfluentAvroRecordDeserializer(registry.settings(), schema).rowType();
        assertEquals(new BigIntType(), type.getTypeAt(type.getFieldIndex("a")));
        assertEquals(new FloatType(), type.getTypeAt(type.getFieldIndex("b")));
        assertEquals(VarCharType.STRING_TYPE, type.getTypeAt(type.getFieldIndex("c")));
        assertEquals(new BooleanType(), type.getTypeAt(type.getFieldIndex("d")));
    }

    @Test
    void stringFieldsAreCopiedOutOfTheDecodersReusedBuffers() throws IOException {
        Schema named = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"Named\",\"fields\":["
                + "{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"team\",\"type\":[\"null\",\"string\"]}]}");
        try (FakeRegistry own = new FakeRegistry().register(9, named)) {
            deserializer = new ConfluentAvroRecordDeserializer(own.settings(), named.toString());
            List<Row> rows = new ArrayList<>();
            for (String[] values : List.of(new String[] {"Leclerc", "Ferrari"}, new String[] {"Ève", null})) {
                GenericRecord record = new GenericData.Record(named);
                record.put("name", values[0]);
                record.put("team", values[1]);
                deserializer.deserialize(record(frame(9, encode(record)), 0, rows.size(), 0), collector(rows));
            }
            assertEquals(List.of("Leclerc", "Ferrari"), List.of(rows.get(0).getField("name"), rows.get(0).getField("team")));
            assertEquals("Ève", rows.get(1).getField("name"), "multi-byte UTF-8 survives");
            assertNull(rows.get(1).getField("team"));
        }
    }

    @Test
    void refusesBadSchemas() {
        assertThrows(IllegalArgumentException.class,
                () -> new ConfluentAvroRecordDeserializer(registry.settings(), "\"int\""));
        assertThrows(IllegalArgumentException.class,
                () -> new ConfluentAvroRecordDeserializer(registry.settings(), "{not json"));
        assertThrows(IllegalArgumentException.class, () -> new ConfluentAvroRecordDeserializer(registry.settings(),
                "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"error\",\"type\":\"int\"}]}"));
    }

    // --- helpers ------------------------------------------------------------------------------

    static Schema load(String file) {
        try {
            return new Schema.Parser().parse(Files.readString(SCHEMAS.resolve(file)));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + SCHEMAS.resolve(file).toAbsolutePath(), e);
        }
    }

    static GenericRecord v1Record(int carId) {
        GenericRecord r = new GenericData.Record(V1);
        r.put("car_id", carId);
        r.put("speed", 200.0);
        r.put("rpm", 9000);
        r.put("gear", 5);
        r.put("timestamp", 1_700_000_000.0);
        return r;
    }

    static GenericRecord v2Record(int carId, double timestamp) {
        GenericRecord r = new GenericData.Record(V2);
        r.put("car_id", carId);
        r.put("speed", 250.0);
        r.put("rpm", 10500);
        r.put("gear", 6);
        r.put("timestamp", timestamp);
        r.put("throttle", 87.5);
        r.put("brake", 0.0);
        r.put("drs", true);
        r.put("lap", 12);
        return r;
    }

    static byte[] encode(GenericRecord record) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(record.getSchema()).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    static byte[] frame(int schemaId, byte[] body) {
        return ByteBuffer.allocate(5 + body.length).put((byte) 0).putInt(schemaId).put(body).array();
    }

    static final byte[] KEY = {0, 0, 0, 0, 1, 14};

    static ConsumerRecord<byte[], byte[]> record(byte[] value, int partition, long offset, long timestamp) {
        return new ConsumerRecord<>("telemetry_data", partition, offset, timestamp,
                org.apache.kafka.common.record.TimestampType.CREATE_TIME, 0, value == null ? 0 : value.length,
                KEY, value, new org.apache.kafka.common.header.internals.RecordHeaders(), java.util.Optional.empty());
    }

    Row one(ConsumerRecord<byte[], byte[]> record) throws IOException {
        List<Row> rows = new ArrayList<>();
        deserializer.deserialize(record, collector(rows));
        assertEquals(1, rows.size(), "exactly one row per record");
        return rows.get(0);
    }

    static void assertError(Row row, String expectedPrefix) {
        String error = (String) row.getField("error");
        assertTrue(error != null && error.startsWith(expectedPrefix), "error was: " + error);
        assertTrue(!error.contains("\n"), "one line: " + error);
        for (String field : List.of("car_id", "speed", "rpm", "gear", "timestamp", "throttle", "brake", "drs", "lap")) {
            assertNull(row.getField(field), field);
        }
    }

    /** Collects the deserializer's rows as named Rows of Java values (String for strings). */
    Collector<RowData> collector(List<Row> rows) {
        RowType type = deserializer.rowType();
        java.util.LinkedHashMap<String, Integer> positions = new java.util.LinkedHashMap<>();
        for (String name : type.getFieldNames()) {
            positions.put(name, positions.size());
        }
        return new Collector<>() {
            @Override
            public void collect(RowData data) {
                Object[] fields = new Object[type.getFieldCount()];
                for (int i = 0; i < fields.length; i++) {
                    Object value = RowData.createFieldGetter(type.getTypeAt(i), i).getFieldOrNull(data);
                    fields[i] = value instanceof StringData string ? string.toString() : value;
                }
                rows.add(RowUtils.createRowWithNamedPositions(RowKind.INSERT, fields, positions));
            }

            @Override
            public void close() {}
        };
    }

    static DeserializationSchema.InitializationContext context(Map<String, Counter> counters) {
        MetricGroup group = new UnregisteredMetricsGroup() {
            @Override
            public Counter counter(String name) {
                return counter(name, new SimpleCounter());
            }

            @Override
            public <C extends Counter> C counter(String name, C counter) {
                counters.put(name, counter);
                return counter;
            }
        };
        return new DeserializationSchema.InitializationContext() {
            @Override
            public MetricGroup getMetricGroup() {
                return group;
            }

            @Override
            public UserCodeClassLoader getUserCodeClassLoader() {
                return SimpleUserCodeClassLoader.create(ConfluentAvroRecordDeserializerTest.class.getClassLoader());
            }
        };
    }
}
