package dev.telemetry.flink.lake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.dag.Transformation;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.iceberg.Schema;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.jdbc.JdbcCatalog;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Iceberg's maintenance as a branch of the job: its three tasks, one-parallel, named by the table. */
class LakeMaintenanceTest {

    @TempDir
    Path folder;

    /** A JDBC catalog (SQLite, as the local stack's) holding lake.windows, files in memory. */
    Map<String, String> catalogWithTable() throws Exception {
        Map<String, String> properties = new HashMap<>();
        properties.put("uri", "jdbc:sqlite:" + folder.resolve("catalog.db"));
        properties.put("warehouse", "memory://warehouse");
        properties.put("io-impl", TableLoadersTest.BulkInMemoryFileIO.class.getName());
        try (JdbcCatalog catalog = new JdbcCatalog()) {
            catalog.initialize("telemetry", properties);
            catalog.createNamespace(Namespace.of("lake"));
            catalog.createTable(TableIdentifier.of("lake", "windows"),
                    new Schema(Types.NestedField.required(1, "car_id", Types.IntegerType.get())));
        }
        properties.put("type", "iceberg");
        properties.put("catalog-impl", JdbcCatalog.class.getName());
        return properties;
    }

    @Test
    void appendsRewriteExpiryAndOrphanCleanupOneParallelWithUidsNamedByTheTable() throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        LakeMaintenance.append(env, "telemetry", catalogWithTable(), "lake", "windows",
                "jdbc:sqlite:" + folder.resolve("catalog.db"), Map.of());
        List<Transformation<?>> branch = env.getTransformations().stream()
                .flatMap(t -> t.getTransitivePredecessors().stream())
                .distinct()
                .toList();
        List<String> uids = branch.stream().map(Transformation::getUid).filter(Objects::nonNull).toList();
        assertFalse(uids.isEmpty());
        assertTrue(uids.stream().allMatch(u -> u.contains("maintenance telemetry.lake.windows")), uids.toString());
        assertTrue(branch.stream().allMatch(t -> t.getParallelism() == 1), "one-parallel");
        String names = branch.stream().map(Transformation::getName).toList().toString();
        // Iceberg numbers the tasks in the order they were added.
        for (String task : List.of("Rewrite commit[0]", "Expire Snapshot[1]", "Orphan Files Aggregator[2]")) {
            assertTrue(names.contains(task), task + " in " + names);
        }
        assertEquals(List.of("Monitor source for telemetry.lake.windows"),
                branch.stream().filter(t -> t.getInputs().isEmpty()).map(Transformation::getName).toList(),
                "one source, the monitor of the table's snapshots");
    }
}
