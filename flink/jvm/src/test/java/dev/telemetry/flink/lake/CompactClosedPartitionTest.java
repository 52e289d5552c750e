package dev.telemetry.flink.lake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.flink.api.common.serialization.BulkWriter;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.formats.parquet.ParquetInputFile;
import org.apache.flink.formats.parquet.ParquetWriterFactory;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.BigIntType;
import org.apache.flink.table.types.logical.IntType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Compaction of a closed hour on the local filesystem, with real Parquet files. */
class CompactClosedPartitionTest {

    static final RowType ROW = RowType.of(new IntType(false), new BigIntType(false));
    static final Map<String, String> METADATA = Map.of(ParquetWithMetadata.SUBJECT_KEY, "telemetry_window-value");

    @TempDir java.nio.file.Path tmp;
    FileSystem fs;
    Path hour;

    @BeforeEach
    void hourFolder() throws IOException {
        hour = new Path(tmp.toUri());
        fs = hour.getFileSystem();
    }

    @Test
    void mergesEveryPartFileIntoOneBehindAManifest() throws IOException {
        write("part-a-0-0.parquet", 1, 2);
        write("part-a-1-0.parquet", 3);
        write("part-b-0-1.parquet", 4, 5, 6);
        Files.writeString(tmp.resolve("_SUCCESS"), "");

        assertEquals(3, CompactClosedPartition.compact(fs, hour));

        List<String> data = dataFiles();
        assertEquals(1, data.size());
        assertTrue(data.get(0).startsWith("compacted-") && data.get(0).endsWith(".parquet"));
        assertEquals(List.of(data.get(0)), CompactClosedPartition.readManifest(fs, hour));
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), ids(data.get(0)));
        assertEquals("telemetry_window-value", metadata(data.get(0)).get(ParquetWithMetadata.SUBJECT_KEY));
        assertTrue(Files.exists(tmp.resolve("_SUCCESS")), "markers stay");
    }

    @Test
    void aSingleFileBecomesTheCompactedFileToo() throws IOException {
        write("part-a-0-0.parquet", 1);
        assertEquals(1, CompactClosedPartition.compact(fs, hour));
        List<String> data = dataFiles();
        assertEquals(1, data.size());
        assertTrue(data.get(0).startsWith("compacted-"));
        assertEquals(List.of(1L), ids(data.get(0)));
        assertEquals(0, CompactClosedPartition.compact(fs, hour), "a second commit changes nothing");
        assertEquals(data, dataFiles());
    }

    @Test
    void anEmptyHourIsLeftAlone() throws IOException {
        assertEquals(0, CompactClosedPartition.compact(fs, hour));
        assertEquals(null, CompactClosedPartition.readManifest(fs, hour));
    }

    @Test
    void aRunCutShortBeforeTheManifestSwitchIsRedoneWithoutDuplicates() throws IOException {
        write("part-a-0-0.parquet", 1);
        write("part-a-1-0.parquet", 2);
        // What a crash after step 3 leaves: the frozen manifest and a visible compacted copy.
        CompactClosedPartition.writeManifest(fs, hour, List.of("part-a-0-0.parquet", "part-a-1-0.parquet"));
        CompactClosedPartition.merge(fs, List.of(path("part-a-0-0.parquet"), path("part-a-1-0.parquet")),
                path("compacted-orphan.parquet"));
        write(".compacted-half.parquet", 9);

        assertEquals(2, CompactClosedPartition.compact(fs, hour));

        List<String> data = dataFiles();
        assertEquals(1, data.size());
        assertFalse(data.contains("compacted-orphan.parquet"));
        assertEquals(List.of(1L, 2L), ids(data.get(0)));
        assertFalse(Files.exists(tmp.resolve(".compacted-half.parquet")));
    }

    @Test
    void aRunCutShortBeforeTheDeletesOnlyDeletes() throws IOException {
        write("part-a-0-0.parquet", 1);
        write("part-a-1-0.parquet", 2);
        CompactClosedPartition.merge(fs, List.of(path("part-a-0-0.parquet"), path("part-a-1-0.parquet")),
                path("compacted-done.parquet"));
        CompactClosedPartition.writeManifest(fs, hour, List.of("compacted-done.parquet"));

        assertEquals(0, CompactClosedPartition.compact(fs, hour));
        assertEquals(List.of("compacted-done.parquet"), dataFiles());
        assertEquals(List.of(1L, 2L), ids("compacted-done.parquet"));
    }

    // --- helpers ------------------------------------------------------------------------------

    Path path(String name) {
        return new Path(hour, name);
    }

    void write(String name, long... ids) throws IOException {
        BulkWriter.Factory<RowData> factory = new ParquetWriterFactory<>(
                new ParquetWithMetadata(ROW, "SNAPPY", METADATA));
        try (FSDataOutputStream out = fs.create(path(name), FileSystem.WriteMode.OVERWRITE)) {
            BulkWriter<RowData> writer = factory.create(out);
            for (long id : ids) {
                writer.addElement(GenericRowData.of(7, id));
            }
            writer.finish();
        }
    }

    List<String> dataFiles() throws IOException {
        TreeSet<String> names = new TreeSet<>();
        for (FileStatus status : fs.listStatus(hour)) {
            String name = status.getPath().getName();
            if (name.endsWith(".parquet") && !name.startsWith(".") && !name.startsWith("_")) {
                names.add(name);
            }
        }
        return new ArrayList<>(names);
    }

    List<Long> ids(String name) throws IOException {
        List<Long> ids = new ArrayList<>();
        try (ParquetFileReader reader = reader(name)) {
            org.apache.parquet.column.page.PageReadStore group;
            org.apache.parquet.schema.MessageType schema = reader.getFooter().getFileMetaData().getSchema();
            while ((group = reader.readNextRowGroup()) != null) {
                var columns = new org.apache.parquet.example.data.simple.convert.GroupRecordConverter(schema);
                var records = new org.apache.parquet.io.ColumnIOFactory().getColumnIO(schema)
                        .getRecordReader(group, columns);
                for (long i = 0; i < group.getRowCount(); i++) {
                    ids.add(records.read().getLong(1, 0));
                }
            }
        }
        return ids;
    }

    Map<String, String> metadata(String name) throws IOException {
        try (ParquetFileReader reader = reader(name)) {
            return reader.getFooter().getFileMetaData().getKeyValueMetaData();
        }
    }

    ParquetFileReader reader(String name) throws IOException {
        FileStatus status = fs.getFileStatus(path(name));
        return new ParquetFileReader(new ParquetInputFile(fs.open(path(name)), status.getLen()),
                ParquetReadOptions.builder().build());
    }
}
