package dev.telemetry.flink.lake;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.connector.file.table.PartitionCommitPolicy;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.formats.parquet.ParquetInputFile;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.metadata.FileMetaData;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A partition commit policy ({@code 'sink.partition-commit.policy.kind' = 'custom,success-file'},
 * {@code 'sink.partition-commit.policy.class' = '...CompactClosedPartition'}) that merges the
 * files of a closed partition into one, so an hour holds one file instead of one per checkpoint
 * and writer (a single file is renamed the same way, so every closed hour looks alike).
 *
 * <p>With a partition-time trigger the policy runs once the watermark has passed the end of the
 * partition's hour (plus the delay): no more rows can come for it, and every file written for it
 * is committed. Row groups are copied as they are (no decoding), the first file's key-value
 * metadata is kept.
 *
 * <p>Readers that follow the manifest never see a row twice or miss one. The steps:
 *
 * <ol>
 *   <li>write {@code _MANIFEST.json} listing the partition's files as they are;
 *   <li>write the merged file under a hidden name ({@code .compacted-<id>.parquet});
 *   <li>rename it to {@code compacted-<id>.parquet};
 *   <li>rewrite the manifest to list only that file (one object PUT: readers see the old or the
 *       new list, never a mix);
 *   <li>delete the old files.
 * </ol>
 *
 * A reader that lists files without the manifest (a plain glob) can see the hour twice between
 * steps 3 and 5 (a second or so), or miss an old file that disappears while it reads. A run that
 * failed half-way is finished or redone by the next one (the committer commits the partition again
 * after a restore): a visible compacted file the manifest does not list is removed first.
 */
public final class CompactClosedPartition implements PartitionCommitPolicy {

    private static final Logger LOG = LoggerFactory.getLogger(CompactClosedPartition.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    public static final String MANIFEST = "_MANIFEST.json";
    static final String COMPACTED_PREFIX = "compacted-";
    static final String PART_PREFIX = "part-";
    static final String SUFFIX = ".parquet";
    private static final long ROW_GROUP_BYTES = 128L * 1024 * 1024;

    @Override
    public void commit(Context context) throws Exception {
        Path dir = context.partitionPath();
        int merged = compact(dir.getFileSystem(), dir);
        if (merged > 0) {
            LOG.info("compacted {} files of {} into one", merged, dir);
        }
    }

    /** Merge the data files of {@code dir} into one; returns how many were merged (0: none). */
    static int compact(FileSystem fs, Path dir) throws IOException {
        List<String> listed = readManifest(fs, dir);
        List<Path> parts = new ArrayList<>();
        for (FileStatus status : fs.listStatus(dir)) {
            String name = status.getPath().getName();
            if (status.isDir() || !name.endsWith(SUFFIX)) {
                continue;
            }
            if (name.startsWith(COMPACTED_PREFIX)) {
                if (listed == null || !listed.contains(name)) {
                    fs.delete(status.getPath(), false); // left by a run that failed before step 4
                }
            } else if (name.startsWith(PART_PREFIX)) {
                parts.add(status.getPath());
            } else if (name.startsWith("." + COMPACTED_PREFIX)) {
                fs.delete(status.getPath(), false);
            }
        }
        parts.sort(Comparator.comparing(Path::getName));
        if (listed != null && listed.size() == 1 && listed.get(0).startsWith(COMPACTED_PREFIX)) {
            deleteAll(fs, parts); // done before, only the clean-up was cut short
            return 0;
        }
        if (parts.isEmpty()) {
            return 0;
        }
        writeManifest(fs, dir, names(parts));
        String id = UUID.randomUUID().toString();
        Path hidden = new Path(dir, "." + COMPACTED_PREFIX + id + SUFFIX);
        Path visible = new Path(dir, COMPACTED_PREFIX + id + SUFFIX);
        merge(fs, parts, hidden);
        if (!fs.rename(hidden, visible)) {
            throw new IOException("cannot rename " + hidden + " to " + visible);
        }
        writeManifest(fs, dir, List.of(visible.getName()));
        deleteAll(fs, parts);
        return parts.size();
    }

    /** Copy the row groups of {@code parts} into {@code target} (same schema, first file's metadata). */
    static void merge(FileSystem fs, List<Path> parts, Path target) throws IOException {
        FileMetaData first;
        try (ParquetFileReader reader = open(fs, parts.get(0))) {
            first = reader.getFooter().getFileMetaData();
        }
        try (FSDataOutputStream out = fs.create(target, FileSystem.WriteMode.OVERWRITE)) {
            ParquetFileWriter writer = new ParquetFileWriter(
                    new FlinkOutputFile(out),
                    first.getSchema(),
                    ParquetFileWriter.Mode.OVERWRITE,
                    ROW_GROUP_BYTES,
                    0);
            writer.start();
            for (Path part : parts) {
                FileStatus status = fs.getFileStatus(part);
                try (FSDataInputStream in = fs.open(part)) {
                    writer.appendFile(new ParquetInputFile(in, status.getLen()));
                }
            }
            writer.end(new HashMap<>(first.getKeyValueMetaData()));
        }
    }

    /** Parquet's view of a Flink output stream, for one file written from the start. */
    private record FlinkOutputFile(FSDataOutputStream out) implements OutputFile {
        @Override
        public PositionOutputStream create(long blockSizeHint) {
            return new PositionOutputStream() {
                @Override
                public long getPos() throws IOException {
                    return out.getPos();
                }

                @Override
                public void write(int b) throws IOException {
                    out.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                }

                @Override
                public void flush() throws IOException {
                    out.flush();
                }

                @Override
                public void close() {
                    // the caller closes the Flink stream
                }
            };
        }

        @Override
        public PositionOutputStream createOrOverwrite(long blockSizeHint) {
            return create(blockSizeHint);
        }

        @Override
        public boolean supportsBlockSize() {
            return false;
        }

        @Override
        public long defaultBlockSize() {
            return 0;
        }
    }

    private static ParquetFileReader open(FileSystem fs, Path path) throws IOException {
        FileStatus status = fs.getFileStatus(path);
        FSDataInputStream in = fs.open(path);
        return new ParquetFileReader(new ParquetInputFile(in, status.getLen()), ParquetReadOptions.builder().build());
    }

    static List<String> readManifest(FileSystem fs, Path dir) throws IOException {
        Path manifest = new Path(dir, MANIFEST);
        if (!fs.exists(manifest)) {
            return null;
        }
        try (InputStream in = fs.open(manifest)) {
            Map<?, ?> body = JSON.readValue(in, Map.class);
            List<String> files = new ArrayList<>();
            for (Object name : (List<?>) body.get("files")) {
                files.add((String) name);
            }
            return files;
        }
    }

    static void writeManifest(FileSystem fs, Path dir, List<String> files) throws IOException {
        try (OutputStream out = fs.create(new Path(dir, MANIFEST), FileSystem.WriteMode.OVERWRITE)) {
            out.write(JSON.writeValueAsBytes(Map.of("files", files)));
        }
    }

    private static List<String> names(List<Path> paths) {
        List<String> names = new ArrayList<>();
        for (Path path : paths) {
            names.add(path.getName());
        }
        return names;
    }

    private static void deleteAll(FileSystem fs, List<Path> paths) throws IOException {
        for (Path path : paths) {
            fs.delete(path, false);
        }
    }
}
