package dev.telemetry.flink.source;

import dev.telemetry.flink.registry.RegistrySettings;
import dev.telemetry.flink.registry.SchemaRegistryClient;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.JsonProperties;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaParseException;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.util.Utf8;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.logical.BigIntType;
import org.apache.flink.table.types.logical.BooleanType;
import org.apache.flink.table.types.logical.DoubleType;
import org.apache.flink.table.types.logical.FloatType;
import org.apache.flink.table.types.logical.IntType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.VarBinaryType;
import org.apache.flink.table.types.logical.VarCharType;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Decodes Confluent-framed Avro Kafka records into one row each ({@link RowData}, Flink SQL's
 * internal format, so the table it feeds needs no conversion), turning undecodable records into
 * error rows instead of failing the job.
 *
 * <p>Wire format: byte 0 is the magic byte 0x00, bytes 1-4 the writer schema id (big-endian),
 * the rest the Avro binary body. The writer schema is fetched from a Confluent-compatible registry
 * once per id and resolved against the reader schema given here (the latest version), so records
 * written with an older schema get the reader's defaults for fields they lack.
 *
 * <p>Row layout ({@link #getProducedType()}): every reader schema field, in order and with the
 * same name, then {@code schema_id INT, error STRING, payload BYTES, kafka_key BYTES,
 * kafka_partition INT, kafka_offset BIGINT, kafka_timestamp BIGINT}. A decoded row has {@code
 * error}, {@code payload} and {@code kafka_key} null; an error row has null reader fields, an
 * {@code error} that starts with a {@link FailureReason#code()} and a colon, and the original
 * value and key bytes in {@code payload} and {@code kafka_key} (so a dead letter can be replayed
 * to the same partition). {@link #getProducedType()} names the fields; strings are {@link
 * StringData}, bytes {@code byte[]}.
 *
 * <p>A record with the header {@link #REPLAYED_FROM_HEADER} (a replayed dead letter) bypasses the
 * negative cache of unknown schema ids.
 *
 * <p>Bad records never throw. Registry failures do (after retries, as an {@link IOException}), so
 * Flink restarts from the last checkpoint rather than dead-lettering good records.
 *
 * <p>Metrics (on the source's metric group): {@code telemetryRecordsDecoded}, {@code
 * telemetryRecordsFailed} and one {@link FailureReason#metricName()} counter per reason.
 *
 * <p>Reader field types: int, long, float, double, boolean, string, and unions of null with one of
 * those. Anything else is refused by the constructor.
 */
public final class ConfluentAvroRecordDeserializer implements KafkaRecordDeserializationSchema<RowData> {

    private static final long serialVersionUID = 1L;

    /** Names of the columns appended after the reader schema's fields, in order. */
    public static final List<String> METADATA_COLUMNS =
            List.of("schema_id", "error", "payload", "kafka_key", "kafka_partition", "kafka_offset", "kafka_timestamp");

    static final byte MAGIC_BYTE = 0x0;

    /**
     * Header of a dead letter replayed by {@code telemetry dlq replay}: its schema id is asked for
     * again even if the registry recently said it does not know it (it was registered since).
     */
    public static final String REPLAYED_FROM_HEADER = "telemetry.replayed.from";
    static final int HEADER_LENGTH = 5;

    /** Avro types a reader field may have, with the SQL type of its column. */
    private enum FieldKind {
        INT(new IntType()),
        LONG(new BigIntType()),
        FLOAT(new FloatType()),
        DOUBLE(new DoubleType()),
        BOOLEAN(new BooleanType()),
        STRING(VarCharType.STRING_TYPE);

        final LogicalType type;

        FieldKind(LogicalType type) {
            this.type = type;
        }
    }

    private final RegistrySettings registrySettings;
    private final String readerSchemaJson;
    private final FieldKind[] readerKinds;
    private final InternalTypeInfo<RowData> producedType;
    private final int rowSize;

    // Positions of the metadata columns.
    private final int schemaIdPos;
    private final int errorPos;
    private final int payloadPos;
    private final int keyPos;
    private final int partitionPos;
    private final int offsetPos;
    private final int timestampPos;

    // Per operator instance, built in open() (or on first use).
    private transient Schema readerSchema;
    private transient SchemaRegistryClient registry;
    private transient ConcurrentHashMap<Integer, WriterSchema> writers;
    private transient BinaryDecoder decoder;
    private transient GenericData.Record reusedRecord;
    private transient Utf8 reusedString;
    private transient Counter decoded;
    private transient Counter failed;
    private transient Map<FailureReason, Counter> failedByReason;

    /**
     * What a writer schema id resolves to: a datum reader, or why its records can't be read; and
     * where its fields are the reader's first ones with the same types (the same version, or an
     * older one that only lacks trailing nullable fields), the layout to decode it field by field
     * ({@link #nullBranches}), else null.
     */
    private record WriterSchema(GenericDatumReader<GenericData.Record> reader, String failure, int[] direct) {}

    /**
     * @param registry where the writer schemas are fetched by id (read where records are decoded,
     *     credentials included, so they are in no job graph)
     * @param readerSchemaJson the Avro record schema rows are read as (the subject's latest version)
     * @throws IllegalArgumentException if the schema is not an Avro record, a field has an
     *     unsupported type, or a field name collides with a metadata column
     */
    public ConfluentAvroRecordDeserializer(RegistrySettings registry, String readerSchemaJson) {
        this.registrySettings = Objects.requireNonNull(registry, "registry");
        this.readerSchemaJson = readerSchemaJson;
        Schema schema = parseReaderSchema(readerSchemaJson);

        List<String> names = new ArrayList<>();
        List<LogicalType> types = new ArrayList<>();
        readerKinds = new FieldKind[schema.getFields().size()];
        for (Schema.Field field : schema.getFields()) {
            if (METADATA_COLUMNS.contains(field.name())) {
                throw new IllegalArgumentException("reader schema field '" + field.name()
                        + "' collides with a metadata column; metadata columns are " + METADATA_COLUMNS);
            }
            FieldKind kind = kindOf(field);
            readerKinds[field.pos()] = kind;
            names.add(field.name());
            types.add(kind.type);
        }
        names.addAll(METADATA_COLUMNS);
        types.add(new IntType()); // schema_id
        types.add(VarCharType.STRING_TYPE); // error
        types.add(new VarBinaryType(VarBinaryType.MAX_LENGTH)); // payload
        types.add(new VarBinaryType(VarBinaryType.MAX_LENGTH)); // kafka_key
        types.add(new IntType()); // kafka_partition
        types.add(new BigIntType()); // kafka_offset
        types.add(new BigIntType()); // kafka_timestamp

        producedType = InternalTypeInfo.of(
                RowType.of(types.toArray(new LogicalType[0]), names.toArray(new String[0])));
        rowSize = names.size();
        schemaIdPos = readerKinds.length;
        errorPos = schemaIdPos + 1;
        payloadPos = schemaIdPos + 2;
        keyPos = schemaIdPos + 3;
        partitionPos = schemaIdPos + 4;
        offsetPos = schemaIdPos + 5;
        timestampPos = schemaIdPos + 6;
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) {
        init(context.getMetricGroup());
    }

    @Override
    public InternalTypeInfo<RowData> getProducedType() {
        return producedType;
    }

    /** The produced rows' type: field names and SQL types, in order. */
    public RowType rowType() {
        return producedType.toRowType();
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<RowData> out) throws IOException {
        if (writers == null) {
            init(null); // used without open(), e.g. in a test: unregistered counters
        }
        byte[] value = record.value();
        // A new row per record: with object reuse, downstream operators may keep it.
        GenericRowData row = new GenericRowData(rowSize);
        FailureReason failure = value == null
                ? fail(row, FailureReason.NULL_VALUE, "tombstone record (null value)")
                : decodeInto(value, row, record.headers().lastHeader(REPLAYED_FROM_HEADER) != null);
        if (failure == null) {
            decoded.inc();
        } else {
            failed.inc();
            failedByReason.get(failure).inc();
            row.setField(payloadPos, value);
            row.setField(keyPos, record.key());
        }
        row.setField(partitionPos, record.partition());
        row.setField(offsetPos, record.offset());
        row.setField(timestampPos, record.timestamp());
        out.collect(row);
    }

    /**
     * Fills the reader fields and schema_id of {@code row} from {@code value}, or schema_id
     * (if known) and error.
     *
     * @return null on success, else the reason (reader fields are then left null)
     * @throws IOException only if the registry cannot be reached
     */
    private FailureReason decodeInto(byte[] value, GenericRowData row, boolean replayed) throws IOException {
        if (value.length == 0) {
            return fail(row, FailureReason.BAD_MAGIC, "empty value, no magic byte (not Confluent Avro)");
        }
        if (value[0] != MAGIC_BYTE) {
            return fail(row, FailureReason.BAD_MAGIC,
                    String.format("wrong magic byte 0x%02x (not Confluent Avro)", value[0] & 0xff));
        }
        if (value.length < HEADER_LENGTH) {
            return fail(row, FailureReason.CORRUPT, "value is " + value.length
                    + " bytes, shorter than the " + HEADER_LENGTH + "-byte Confluent header");
        }
        int schemaId = schemaId(value);
        row.setField(schemaIdPos, schemaId);

        WriterSchema writer = writerSchema(schemaId, replayed);
        if (writer == null) {
            return fail(row, FailureReason.UNKNOWN_SCHEMA, "schema id " + schemaId + " is not in the registry");
        }
        if (writer.failure() != null) {
            row.setField(errorPos, StringData.fromString(writer.failure()));
            return FailureReason.INCOMPATIBLE_SCHEMA;
        }
        try {
            decoder = DecoderFactory.get().binaryDecoder(value, HEADER_LENGTH, value.length - HEADER_LENGTH, decoder);
            if (writer.direct() != null) {
                decodeDirect(writer.direct(), row);
            } else {
                reusedRecord = writer.reader().read(reusedRecord, decoder);
            }
            if (!decoder.isEnd()) {
                clearReaderFields(row);
                return fail(row, FailureReason.CORRUPT, decoder.inputStream().available()
                        + " trailing bytes after the Avro record (schema id " + schemaId + ")");
            }
        } catch (IOException | RuntimeException e) {
            // EOFException, AvroRuntimeException, ArrayIndexOutOfBounds (bad union index), ...
            clearReaderFields(row);
            return fail(row, FailureReason.CORRUPT,
                    "corrupt Avro body (schema id " + schemaId + "): " + describe(e));
        }
        if (writer.direct() == null) {
            for (int i = 0; i < readerKinds.length; i++) {
                Object v = reusedRecord.get(i);
                // Avro strings arrive as Utf8 (reused between records): copy their bytes out.
                row.setField(i, readerKinds[i] == FieldKind.STRING && v != null ? stringData(v) : v);
            }
        }
        return null;
    }

    /**
     * Reads the writer's fields straight into the row with Avro's decoder: the same bytes the
     * resolving reader would read, without its generic record, for a writer whose fields are the
     * reader's first ones (the reader's others stay null, their default). {@code nullBranches[i]}
     * is the null branch of field i's union, or -1 for a field that is not nullable.
     */
    private void decodeDirect(int[] nullBranches, GenericRowData row) throws IOException {
        for (int i = 0; i < nullBranches.length; i++) {
            int nullBranch = nullBranches[i];
            if (nullBranch >= 0) {
                int branch = decoder.readIndex();
                if (branch == nullBranch) {
                    continue;
                }
                if (branch != 1 - nullBranch) {
                    throw new AvroRuntimeException("union index " + branch + " out of range for field " + i);
                }
            }
            row.setField(i, switch (readerKinds[i]) {
                case INT -> decoder.readInt();
                case LONG -> decoder.readLong();
                case FLOAT -> decoder.readFloat();
                case DOUBLE -> decoder.readDouble();
                case BOOLEAN -> decoder.readBoolean();
                case STRING -> stringData(reusedString = decoder.readString(reusedString));
            });
        }
    }

    private void clearReaderFields(GenericRowData row) {
        for (int i = 0; i < readerKinds.length; i++) {
            row.setField(i, null);
        }
    }

    /**
     * The direct layout of {@code writer} (see {@link #decodeDirect}), or null where only Avro's
     * resolving reader can read it: other names, types or order, or a reader field beyond the
     * writer's whose default is not null.
     */
    static int[] nullBranches(Schema writer, Schema reader) {
        List<Schema.Field> written = writer.getFields();
        List<Schema.Field> read = reader.getFields();
        if (written.size() > read.size()) {
            return null;
        }
        int[] layout = new int[written.size()];
        for (int i = 0; i < written.size(); i++) {
            Schema.Field w = written.get(i);
            Schema.Field r = read.get(i);
            if (!w.name().equals(r.name()) || !w.schema().equals(r.schema())) {
                return null;
            }
            layout[i] = w.schema().getType() == Schema.Type.UNION
                    ? (w.schema().getTypes().get(0).getType() == Schema.Type.NULL ? 0 : 1)
                    : -1;
        }
        for (Schema.Field r : read.subList(written.size(), read.size())) {
            if (!r.hasDefaultValue() || r.defaultVal() != JsonProperties.NULL_VALUE) {
                return null;
            }
        }
        return layout;
    }

    /** The cached reader for a writer schema id, fetched on first sight; null if the id is unknown. */
    private WriterSchema writerSchema(int id, boolean askAgain) throws IOException {
        WriterSchema cached = writers.get(id);
        if (cached != null) {
            return cached;
        }
        Optional<SchemaRegistryClient.RegisteredSchema> registered = registry.schemaById(id, askAgain);
        if (registered.isEmpty()) {
            return null; // negative-cached by the client for a while, never here
        }
        WriterSchema built = resolve(registered.get());
        WriterSchema raced = writers.putIfAbsent(id, built);
        return raced != null ? raced : built;
    }

    /** Schema ids are immutable, so whatever this returns is cached for the operator's life. */
    private WriterSchema resolve(SchemaRegistryClient.RegisteredSchema registered) {
        String prefix = "schema id " + registered.id();
        if (!registered.isAvro()) {
            return failure(prefix + " is a " + registered.type() + " schema, not Avro");
        }
        Schema writer;
        try {
            writer = new Schema.Parser().parse(registered.text());
        } catch (SchemaParseException | IllegalArgumentException e) {
            return failure(prefix + " is not a parseable Avro schema: " + describe(e));
        }
        SchemaCompatibility.SchemaPairCompatibility compatibility =
                SchemaCompatibility.checkReaderWriterCompatibility(readerSchema, writer);
        if (compatibility.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
            SchemaCompatibility.Incompatibility first =
                    compatibility.getResult().getIncompatibilities().get(0);
            return failure(prefix + " (" + writer.getFullName() + ") cannot be read as "
                    + readerSchema.getFullName() + ": " + first.getType() + " at " + first.getLocation()
                    + " (" + oneLine(first.getMessage()) + ")");
        }
        return new WriterSchema(new GenericDatumReader<>(writer, readerSchema), null, nullBranches(writer, readerSchema));
    }

    private static WriterSchema failure(String detail) {
        return new WriterSchema(null, FailureReason.INCOMPATIBLE_SCHEMA.message(detail), null);
    }

    private void init(MetricGroup metrics) {
        readerSchema = parseReaderSchema(readerSchemaJson);
        registry = registrySettings.client();
        writers = new ConcurrentHashMap<>();
        decoded = counter(metrics, "telemetryRecordsDecoded");
        failed = counter(metrics, "telemetryRecordsFailed");
        failedByReason = new EnumMap<>(FailureReason.class);
        for (FailureReason reason : FailureReason.values()) {
            failedByReason.put(reason, counter(metrics, reason.metricName()));
        }
    }

    private static Counter counter(MetricGroup metrics, String name) {
        return metrics == null ? new SimpleCounter() : metrics.counter(name);
    }

    /** The schema id in bytes 1-4 of a Confluent-framed value (big-endian). */
    static int schemaId(byte[] value) {
        return ((value[1] & 0xff) << 24) | ((value[2] & 0xff) << 16) | ((value[3] & 0xff) << 8) | (value[4] & 0xff);
    }

    private FailureReason fail(GenericRowData row, FailureReason reason, String detail) {
        row.setField(errorPos, StringData.fromString(reason.message(detail)));
        return reason;
    }

    /** A string field as SQL's StringData, its UTF-8 bytes copied (Avro reuses its buffers). */
    private static StringData stringData(Object avroString) {
        if (avroString instanceof Utf8 utf8) {
            return StringData.fromBytes(Arrays.copyOf(utf8.getBytes(), utf8.getByteLength()));
        }
        return StringData.fromString(avroString.toString());
    }

    private static Schema parseReaderSchema(String json) {
        if (json == null || json.isBlank()) {
            throw new IllegalArgumentException("reader schema is empty; pass the subject's latest Avro schema");
        }
        Schema schema;
        try {
            schema = new Schema.Parser().parse(json);
        } catch (SchemaParseException e) {
            throw new IllegalArgumentException("reader schema is not valid Avro: " + e.getMessage(), e);
        }
        if (schema.getType() != Schema.Type.RECORD) {
            throw new IllegalArgumentException("reader schema must be an Avro record, not " + schema.getType());
        }
        return schema;
    }

    /** The kind of a supported field type: a primitive, or a union of null and a primitive. */
    private static FieldKind kindOf(Schema.Field field) {
        Schema type = field.schema();
        if (type.getType() == Schema.Type.UNION && type.getTypes().size() == 2) {
            List<Schema> branches = type.getTypes();
            if (branches.get(0).getType() == Schema.Type.NULL) {
                type = branches.get(1);
            } else if (branches.get(1).getType() == Schema.Type.NULL) {
                type = branches.get(0);
            }
        }
        FieldKind kind = switch (type.getType()) {
            case INT -> FieldKind.INT;
            case LONG -> FieldKind.LONG;
            case FLOAT -> FieldKind.FLOAT;
            case DOUBLE -> FieldKind.DOUBLE;
            case BOOLEAN -> FieldKind.BOOLEAN;
            case STRING -> FieldKind.STRING;
            default -> null;
        };
        // Logical types (timestamp-millis, date, ...) would decode to other Java classes: refuse them.
        if (kind == null || type.getLogicalType() != null) {
            throw new IllegalArgumentException("reader schema field '" + field.name() + "' has type "
                    + field.schema() + "; supported: int, long, float, double, boolean, string,"
                    + " or a union of null and one of those");
        }
        return kind;
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return message == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + oneLine(message);
    }

    private static String oneLine(String text) {
        String line = text.replaceAll("\\s+", " ").strip();
        return line.length() <= 200 ? line : line.substring(0, 200) + "...";
    }
}
