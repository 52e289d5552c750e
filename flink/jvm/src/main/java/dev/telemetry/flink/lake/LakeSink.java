package dev.telemetry.flink.lake;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.api.common.serialization.BulkWriter;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.table.EmptyMetaStoreFactory;
import org.apache.flink.connector.file.table.FileSystemConnectorOptions;
import org.apache.flink.connector.file.table.FileSystemTableSink;
import org.apache.flink.connector.file.table.RowDataPartitionComputer;
import org.apache.flink.connector.file.table.stream.PartitionCommitInfo;
import org.apache.flink.connector.file.table.stream.StreamingSink;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.formats.parquet.ParquetWriterFactory;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.legacy.StreamingFileSink;
import org.apache.flink.table.catalog.ObjectIdentifier;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DataStreamSinkProvider;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.abilities.SupportsPartitioning;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.utils.ProjectedRowData;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.RowType;

/** The sink behind {@link LakeSinkFactory}: Flink's streaming file writer and partition committer. */
final class LakeSink implements DynamicTableSink, SupportsPartitioning {

    private final ObjectIdentifier identifier;
    private final DataType physicalType;
    private final List<String> partitionKeys;
    private final Configuration options;

    LakeSink(ObjectIdentifier identifier, DataType physicalType, List<String> partitionKeys, Configuration options) {
        this.identifier = identifier;
        this.physicalType = physicalType;
        this.partitionKeys = partitionKeys;
        this.options = options;
    }

    @Override
    public void applyStaticPartition(Map<String, String> partition) {
        if (!partition.isEmpty()) {
            throw new ValidationException("telemetry-lake writes dynamic partitions only, not " + partition);
        }
    }

    @Override
    public ChangelogMode getChangelogMode(ChangelogMode requestedMode) {
        return ChangelogMode.insertOnly();
    }

    @Override
    public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
        return (DataStreamSinkProvider) (providerContext, stream) -> {
            Path path = new Path(options.get(FileSystemConnectorOptions.PATH));
            RowType rowType = (RowType) physicalType.getLogicalType();
            List<String> names = rowType.getFieldNames();
            RowDataPartitionComputer computer = new RowDataPartitionComputer(
                    "__DEFAULT_PARTITION__",
                    names.toArray(new String[0]),
                    DataType.getFieldDataTypes(physicalType).toArray(new DataType[0]),
                    partitionKeys.toArray(new String[0]));

            int[] written = writtenColumns(rowType);
            BulkWriter.Factory<RowData> parquet = new ParquetWriterFactory<>(new ParquetWithMetadata(
                    project(rowType, written), options.get(LakeSinkFactory.COMPRESSION), metadata()));
            OutputFileConfig naming = OutputFileConfig.builder()
                    .withPartPrefix("part-" + UUID.randomUUID())
                    .withPartSuffix(options.get(LakeSinkFactory.FILE_SUFFIX))
                    .build();
            StreamingFileSink.BulkFormatBuilder<RowData, String, ?> buckets = StreamingFileSink
                    .forBulkFormat(path, new ProjectingFactory(parquet, written))
                    .withBucketAssigner(new FileSystemTableSink.TableBucketAssigner(computer))
                    .withOutputFileConfig(naming)
                    // Bulk formats roll on every checkpoint: one file per writer, partition and checkpoint.
                    .withRollingPolicy(new FileSystemTableSink.TableRollingPolicy(
                            true, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE));

            int parallelism = options.getOptional(FactoryUtil.SINK_PARALLELISM).orElse(stream.getParallelism());
            boolean configured = options.getOptional(FactoryUtil.SINK_PARALLELISM).isPresent();
            long checkInterval = options.get(FileSystemConnectorOptions.SINK_ROLLING_POLICY_CHECK_INTERVAL).toMillis();
            DataStream<PartitionCommitInfo> writer = StreamingSink.writer(
                    providerContext, stream, checkInterval, buckets, parallelism, partitionKeys, options, configured);
            return StreamingSink.sink(
                    providerContext, writer, path, identifier, partitionKeys,
                    new EmptyMetaStoreFactory(path), FileSystem::get, options);
        };
    }

    /** Positions of the columns files get: write-fields, else every non-partition column. */
    private int[] writtenColumns(RowType rowType) {
        List<String> names = rowType.getFieldNames();
        List<String> wanted = new ArrayList<>();
        if (options.getOptional(LakeSinkFactory.WRITE_FIELDS).isPresent()) {
            for (String name : options.get(LakeSinkFactory.WRITE_FIELDS).split(",")) {
                wanted.add(name.strip());
            }
        } else {
            for (String name : names) {
                if (!partitionKeys.contains(name)) {
                    wanted.add(name);
                }
            }
        }
        int[] positions = new int[wanted.size()];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = names.indexOf(wanted.get(i));
            if (positions[i] < 0 || partitionKeys.contains(wanted.get(i))) {
                throw new ValidationException("write-fields names '" + wanted.get(i)
                        + "', which is not a data column of " + identifier + "; columns: " + names);
            }
        }
        return positions;
    }

    private static RowType project(RowType rowType, int[] positions) {
        List<RowType.RowField> kept = new ArrayList<>();
        for (int position : positions) {
            kept.add(rowType.getFields().get(position));
        }
        return new RowType(rowType.isNullable(), kept);
    }

    /** Writes the chosen columns of each row (partition columns live in the path). */
    private record ProjectingFactory(BulkWriter.Factory<RowData> factory, int[] positions)
            implements BulkWriter.Factory<RowData> {
        @Override
        public BulkWriter<RowData> create(org.apache.flink.core.fs.FSDataOutputStream out) throws java.io.IOException {
            BulkWriter<RowData> writer = factory.create(out);
            ProjectedRowData projected = ProjectedRowData.from(positions);
            return new BulkWriter<>() {
                @Override
                public void addElement(RowData row) throws java.io.IOException {
                    writer.addElement(projected.replaceRow(row));
                }

                @Override
                public void flush() throws java.io.IOException {
                    writer.flush();
                }

                @Override
                public void finish() throws java.io.IOException {
                    writer.finish();
                }
            };
        }
    }

    private Map<String, String> metadata() {
        Map<String, String> metadata = new HashMap<>();
        options.getOptional(LakeSinkFactory.AVRO_SCHEMA).ifPresent(s -> metadata.put(ParquetWithMetadata.AVRO_SCHEMA_KEY, s));
        options.getOptional(LakeSinkFactory.SUBJECT).ifPresent(s -> metadata.put(ParquetWithMetadata.SUBJECT_KEY, s));
        options.getOptional(LakeSinkFactory.VERSION).ifPresent(s -> metadata.put(ParquetWithMetadata.VERSION_KEY, s));
        return metadata;
    }

    @Override
    public DynamicTableSink copy() {
        return new LakeSink(identifier, physicalType, partitionKeys, options);
    }

    @Override
    public String asSummaryString() {
        return "telemetry-lake " + options.get(FileSystemConnectorOptions.PATH);
    }
}
