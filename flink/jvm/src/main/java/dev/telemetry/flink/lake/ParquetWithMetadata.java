package dev.telemetry.flink.lake;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.formats.parquet.ParquetBuilder;
import org.apache.flink.formats.parquet.row.ParquetRowDataBuilder;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.RowType;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.OutputFile;

/**
 * Parquet writers for RowData (Flink's own), with the writer's schema in the file's key-value
 * metadata. Timestamps are written as INT64 milliseconds adjusted to UTC.
 */
final class ParquetWithMetadata implements ParquetBuilder<RowData> {

    private static final long serialVersionUID = 1L;

    static final String AVRO_SCHEMA_KEY = "parquet.avro.schema";
    static final String SUBJECT_KEY = "telemetry.schema.subject";
    static final String VERSION_KEY = "telemetry.schema.version";

    private final RowType rowType;
    private final String compression;
    private final HashMap<String, String> metadata;

    ParquetWithMetadata(RowType rowType, String compression, Map<String, String> metadata) {
        this.rowType = rowType;
        this.compression = compression;
        this.metadata = new HashMap<>(metadata);
    }

    @Override
    public ParquetWriter<RowData> createWriter(OutputFile out) throws IOException {
        Configuration conf = new Configuration(false);
        conf.setBoolean("parquet.write.int64.timestamp", true);
        conf.set("parquet.timestamp.time.unit", "millis");
        return new ParquetRowDataBuilder(out, rowType, true)
                .withCompressionCodec(CompressionCodecName.fromConf(compression))
                .withExtraMetaData(metadata)
                .withConf(conf)
                .build();
    }
}
