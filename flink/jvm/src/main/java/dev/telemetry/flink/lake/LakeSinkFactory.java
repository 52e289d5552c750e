package dev.telemetry.flink.lake;

import java.util.Set;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.connector.file.table.FileSystemConnectorOptions;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.FactoryUtil;

/**
 * SQL connector {@code 'connector' = 'telemetry-lake'}: Flink's streaming filesystem sink
 * (exactly-once files committed on checkpoints, Hive partitions, partition commit with its
 * trigger and policies) writing Parquet files that a lake user expects:
 *
 * <ul>
 *   <li>names end in {@code file-suffix} ({@code .parquet}), which Flink's own filesystem
 *       connector cannot do;
 *   <li>each file's key-value metadata names the Avro schema it was written with: the schema JSON
 *       under {@code parquet.avro.schema} (as parquet-avro writes it), the registry subject under
 *       {@code telemetry.schema.subject} and the version under {@code telemetry.schema.version}.
 * </ul>
 *
 * Every {@code sink.partition-commit.*} and {@code partition.time-extractor.*} option of the
 * filesystem connector applies as documented there; {@link CompactClosedPartition} is a commit
 * policy for closed hours.
 */
public final class LakeSinkFactory implements DynamicTableSinkFactory {

    public static final String IDENTIFIER = "telemetry-lake";

    public static final ConfigOption<String> FILE_SUFFIX =
            ConfigOptions.key("file-suffix").stringType().defaultValue(".parquet")
                    .withDescription("Suffix of every data file's name.");
    public static final ConfigOption<String> WRITE_FIELDS =
            ConfigOptions.key("write-fields").stringType().noDefaultValue()
                    .withDescription("Comma-separated columns the files get, in this order (default:"
                            + " every non-partition column). The job fills every column of the"
                            + " table; a file follows one schema version.");
    public static final ConfigOption<String> COMPRESSION =
            ConfigOptions.key("parquet.compression").stringType().defaultValue("ZSTD")
                    .withDescription("Parquet compression codec.");
    public static final ConfigOption<String> AVRO_SCHEMA =
            ConfigOptions.key("metadata.avro-schema").stringType().noDefaultValue()
                    .withDescription("The Avro schema JSON the rows follow; written as parquet.avro.schema.");
    public static final ConfigOption<String> SUBJECT =
            ConfigOptions.key("metadata.subject").stringType().noDefaultValue()
                    .withDescription("The schema's registry subject.");
    public static final ConfigOption<String> VERSION =
            ConfigOptions.key("metadata.version").stringType().noDefaultValue()
                    .withDescription("The schema's version under its subject.");

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(FileSystemConnectorOptions.PATH);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(
                FILE_SUFFIX,
                WRITE_FIELDS,
                COMPRESSION,
                AVRO_SCHEMA,
                SUBJECT,
                VERSION,
                FileSystemConnectorOptions.SINK_ROLLING_POLICY_CHECK_INTERVAL,
                FileSystemConnectorOptions.SINK_PARTITION_COMMIT_TRIGGER,
                FileSystemConnectorOptions.SINK_PARTITION_COMMIT_DELAY,
                FileSystemConnectorOptions.SINK_PARTITION_COMMIT_WATERMARK_TIME_ZONE,
                FileSystemConnectorOptions.SINK_PARTITION_COMMIT_POLICY_KIND,
                FileSystemConnectorOptions.SINK_PARTITION_COMMIT_POLICY_CLASS,
                FileSystemConnectorOptions.SINK_PARTITION_COMMIT_POLICY_CLASS_PARAMETERS,
                FileSystemConnectorOptions.SINK_PARTITION_COMMIT_SUCCESS_FILE_NAME,
                FileSystemConnectorOptions.PARTITION_TIME_EXTRACTOR_KIND,
                FileSystemConnectorOptions.PARTITION_TIME_EXTRACTOR_TIMESTAMP_PATTERN,
                FileSystemConnectorOptions.PARTITION_TIME_EXTRACTOR_TIMESTAMP_FORMATTER,
                FactoryUtil.SINK_PARALLELISM);
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validate();
        return new LakeSink(
                context.getObjectIdentifier(),
                context.getPhysicalRowDataType(),
                context.getCatalogTable().getPartitionKeys(),
                org.apache.flink.configuration.Configuration.fromMap(context.getCatalogTable().getOptions()));
    }
}
