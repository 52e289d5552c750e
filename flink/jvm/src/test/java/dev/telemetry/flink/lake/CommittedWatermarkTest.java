package dev.telemetry.flink.lake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.types.Row;
import org.apache.iceberg.DataFiles;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.flink.TableLoader;
import org.apache.iceberg.inmemory.InMemoryCatalog;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The signal in Flink's operator harness against an Iceberg table in memory: the property follows
 * the watermark of the newest checkpoint the table shows committed by this job, never ahead of it.
 */
class CommittedWatermarkTest {

    static final TableIdentifier WINDOWS = TableIdentifier.of("lake", "windows");
    static final long W1 = 1_700_000_005_000L;
    static final long W2 = 1_700_000_010_000L;
    /** The tables of each test, by key: the operator's loader is serializable, a catalog is not. */
    static final Map<String, Table> TABLES = new ConcurrentHashMap<>();

    String key;
    Table table;
    OneInputStreamOperatorTestHarness<Row, Void> harness;

    @BeforeEach
    void createTable() throws Exception {
        InMemoryCatalog catalog = new InMemoryCatalog();
        catalog.initialize("test", Map.of());
        catalog.createNamespace(Namespace.of("lake"));
        table = catalog.createTable(WINDOWS, new Schema(Types.NestedField.required(1, "car_id", Types.IntegerType.get())));
        key = UUID.randomUUID().toString();
        TABLES.put(key, table);
        harness = open(null);
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
        TABLES.remove(key);
    }

    OneInputStreamOperatorTestHarness<Row, Void> open(OperatorSubtaskState restored) throws Exception {
        OneInputStreamOperatorTestHarness<Row, Void> opened =
                new OneInputStreamOperatorTestHarness<>(new CommittedWatermark(new Loader(key), "lake.windows"));
        opened.setup();
        if (restored != null) {
            opened.initializeState(restored);
        }
        opened.open();
        return opened;
    }

    JobID jobId() {
        return harness.getEnvironment().getJobID();
    }

    /** What Iceberg's committer leaves: a snapshot with the job and its newest checkpoint. */
    void commit(JobID job, long checkpoint) {
        table.newAppend()
                .appendFile(DataFiles.builder(PartitionSpec.unpartitioned())
                        .withPath("memory://lake/windows/data/" + UUID.randomUUID() + ".parquet")
                        .withFileSizeInBytes(100)
                        .withRecordCount(1)
                        .build())
                .set("flink.job-id", job.toString())
                .set("flink.max-committed-checkpoint-id", Long.toString(checkpoint))
                .commit();
    }

    String signal() {
        table.refresh();
        return table.properties().get(CommittedWatermark.PROPERTY);
    }

    static String iso(long millis) {
        return Instant.ofEpochMilli(millis).toString();
    }

    @Test
    void theSignalIsTheWatermarkAtTheBarrierOfTheNewestCommittedCheckpoint() throws Exception {
        harness.processWatermark(new Watermark(W1));
        harness.snapshot(1, 1);
        harness.processWatermark(new Watermark(W2));
        harness.snapshot(2, 2);
        commit(jobId(), 1);
        harness.notifyOfCompletedCheckpoint(2);
        assertEquals(iso(W1), signal(), "checkpoint 2 is not in the table yet: W2 would run ahead of it");
        commit(jobId(), 2);
        harness.notifyOfCompletedCheckpoint(3);
        assertEquals(iso(W2), signal());
    }

    @Test
    void commitsOfAnotherJobDoNotCount() throws Exception {
        harness.processWatermark(new Watermark(W1));
        harness.snapshot(1, 1);
        commit(new JobID(), 1);
        harness.notifyOfCompletedCheckpoint(1);
        assertNull(signal());
    }

    @Test
    void anOlderSnapshotOfThisJobCountsBehindAnotherJobsCommit() throws Exception {
        harness.processWatermark(new Watermark(W1));
        harness.snapshot(1, 1);
        commit(jobId(), 1);
        commit(new JobID(), 7); // e.g. a compaction's commit on top
        harness.notifyOfCompletedCheckpoint(1);
        assertEquals(iso(W1), signal(), "found by walking back the snapshots' parents");
    }

    @Test
    void noWatermarkYetSetsNothing() throws Exception {
        harness.snapshot(1, 1);
        commit(jobId(), 1);
        harness.notifyOfCompletedCheckpoint(1);
        assertNull(signal());
    }

    @Test
    void thePendingWatermarksAreStateThatARestoredOperatorPublishes() throws Exception {
        harness.processWatermark(new Watermark(W1));
        OperatorSubtaskState state = harness.snapshot(1, 1);
        harness.close();
        harness = open(state);
        commit(jobId(), 1);
        harness.notifyOfCompletedCheckpoint(2);
        assertEquals(iso(W1), signal(), "its predecessor's checkpoint 1, committed after the restore");
    }

    @Test
    void aFailureToReadTheTableIsRetriedAtTheNextCheckpoint() throws Exception {
        harness.processWatermark(new Watermark(W1));
        harness.snapshot(1, 1);
        commit(jobId(), 1);
        Loader.FAILURES.put(key, new AtomicInteger(1));
        harness.notifyOfCompletedCheckpoint(1); // logged, not thrown: data is never at stake
        assertNull(signal());
        harness.snapshot(2, 2);
        harness.notifyOfCompletedCheckpoint(2);
        assertEquals(iso(W1), signal());
    }

    /** Loads this test's table, failing as often as {@link #FAILURES} says. */
    static final class Loader implements TableLoader {
        static final Map<String, AtomicInteger> FAILURES = new ConcurrentHashMap<>();
        private final String key;
        private boolean open;

        Loader(String key) {
            this.key = key;
        }

        @Override
        public void open() {
            open = true;
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public Table loadTable() {
            AtomicInteger failures = FAILURES.get(key);
            if (failures != null && failures.getAndDecrement() > 0) {
                throw new IllegalStateException("catalog unreachable");
            }
            return TABLES.get(key);
        }

        @Override
        @SuppressWarnings("MethodDoesntCallSuperMethod")
        public TableLoader clone() {
            return new Loader(key);
        }

        @Override
        public void close() {
            open = false;
        }
    }
}
