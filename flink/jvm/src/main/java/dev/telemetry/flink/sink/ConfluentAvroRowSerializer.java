package dev.telemetry.flink.sink;

import dev.telemetry.flink.registry.RegistrySettings;
import dev.telemetry.flink.registry.SchemaRegistryClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.types.Row;

/**
 * Encodes rows as Confluent-framed Avro (magic byte 0x00, the schema's registry id, big-endian, then
 * the Avro binary body) with a schema the registry already holds under {@code subject}.
 *
 * <p>Nothing is ever registered: {@link #open} looks the schema up under its subject and fails the
 * job with a message that says how to fix it when the subject does not hold it (Flink's {@code
 * avro-confluent} format registers its own writer schema instead, which would put a schema the
 * contracts never reviewed under the subject).
 *
 * <p>Fields are taken from the row by name: every field of the schema must be a field of the row
 * (extra row fields are ignored). {@code timestamp-millis} fields accept {@link Instant} and UTC
 * {@link LocalDateTime}; other fields are written as the row holds them (int, long, double,
 * boolean, string, or null for a union with null).
 */
public final class ConfluentAvroRowSerializer implements SerializationSchema<Row> {

    private static final long serialVersionUID = 1L;

    private final RegistrySettings registry;
    private final String subject;
    private final String schemaJson;

    private transient Schema schema;
    private transient List<Schema.Field> fields;
    private transient boolean[] millis;
    private transient GenericDatumWriter<GenericData.Record> writer;
    private transient ByteArrayOutputStream buffer;
    private transient BinaryEncoder encoder;
    private transient byte[] header;

    /**
     * @param registry the registry that holds {@code schemaJson} under {@code subject} (its
     *     credentials are read on the TaskManager, never shipped with the job)
     */
    public ConfluentAvroRowSerializer(RegistrySettings registry, String subject, String schemaJson) {
        this.registry = registry;
        this.subject = subject;
        this.schemaJson = schemaJson;
        parse(schemaJson); // a bad schema fails at job build time, not on the TaskManager
    }

    @Override
    public void open(InitializationContext context) throws IOException {
        SchemaRegistryClient client = registry.client();
        int id = client.registeredId(subject, schemaJson)
                .orElseThrow(() -> new IllegalStateException("subject " + subject
                        + " does not hold the schema this job writes; register the schemas first with"
                        + " `telemetry schemas register` (the job never registers one itself)"));
        prepare(id);
    }

    /** Ready to serialize with this registry id (open() looks it up; tests give it). */
    void prepare(int id) {
        schema = parse(schemaJson);
        fields = schema.getFields();
        millis = new boolean[fields.size()];
        for (int i = 0; i < fields.size(); i++) {
            millis[i] = isTimestampMillis(fields.get(i).schema());
        }
        writer = new GenericDatumWriter<>(schema);
        buffer = new ByteArrayOutputStream(256);
        header = ByteBuffer.allocate(5).put((byte) 0).putInt(id).array();
    }

    @Override
    public byte[] serialize(Row row) {
        GenericData.Record record = new GenericData.Record(schema);
        for (int i = 0; i < fields.size(); i++) {
            Object value = row.getField(fields.get(i).name());
            record.put(i, millis[i] ? epochMillis(value) : value);
        }
        buffer.reset();
        buffer.writeBytes(header);
        encoder = EncoderFactory.get().directBinaryEncoder(buffer, encoder);
        try {
            writer.write(record, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cannot encode a row under " + subject + ": " + e.getMessage(), e);
        }
        return buffer.toByteArray();
    }

    private static Schema parse(String json) {
        Schema parsed = new Schema.Parser().parse(json);
        if (parsed.getType() != Schema.Type.RECORD) {
            throw new IllegalArgumentException("not an Avro record schema: " + parsed.getType());
        }
        return parsed;
    }

    private static boolean isTimestampMillis(Schema field) {
        if (field.getType() == Schema.Type.UNION) {
            return field.getTypes().stream().anyMatch(ConfluentAvroRowSerializer::isTimestampMillis);
        }
        return field.getLogicalType() instanceof LogicalTypes.TimestampMillis;
    }

    static Object epochMillis(Object value) {
        if (value instanceof Instant instant) {
            return instant.toEpochMilli();
        }
        if (value instanceof LocalDateTime local) {
            return local.toInstant(ZoneOffset.UTC).toEpochMilli();
        }
        return value; // null, or already a long
    }
}
