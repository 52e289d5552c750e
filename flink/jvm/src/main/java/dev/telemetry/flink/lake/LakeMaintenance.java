package dev.telemetry.flink.lake;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.iceberg.flink.maintenance.api.DeleteOrphanFiles;
import org.apache.iceberg.flink.maintenance.api.ExpireSnapshots;
import org.apache.iceberg.flink.maintenance.api.JdbcLockFactory;
import org.apache.iceberg.flink.maintenance.api.RewriteDataFiles;
import org.apache.iceberg.flink.maintenance.api.TableMaintenance;

/**
 * Iceberg's own maintenance of one table, as a branch of the job that writes it.
 *
 * <p>Iceberg's sink could run the same tasks after its commits ({@code flink-maintenance.*}
 * options), but then it builds them with operators that make a TaskManager exit when a failover
 * cancels them before they opened (Iceberg 1.11): {@code JdbcLockFactory.close()} and, with the
 * sink's default planning pool, {@code ExpireSnapshotsProcessor.close()} throw a
 * NullPointerException. Built here, the lock is wrapped ({@link OpenedOnlyLockFactory}) and expiry
 * plans on Iceberg's shared pool, so neither can happen. A monitor source follows the table's
 * snapshots, once a {@link #RATE_LIMIT}.
 *
 * <ul>
 *   <li>rewrite data files every {@value #COMMITS} commits: a partition's small files become one;
 *   <li>expire snapshots every {@value #COMMITS} commits: older than {@link #SNAPSHOT_AGE}, keeping
 *       the last {@value #RETAIN_LAST}, with the files only they referenced;
 *   <li>delete orphan files every {@link #ORPHAN_INTERVAL}: files no snapshot knows, older than
 *       {@link #ORPHAN_AGE} (left by failed commits).
 * </ul>
 *
 * The tasks take a lock in the catalog database (Iceberg's JDBC lock, one row per table): the lock
 * Flink would keep itself lives in static fields of the JobManager and fails jobs with a
 * ConcurrentModificationException once two tables are maintained.
 */
public final class LakeMaintenance {

  public static final int COMMITS = 10;
  public static final Duration RATE_LIMIT = Duration.ofSeconds(60);
  public static final Duration SNAPSHOT_AGE = Duration.ofMinutes(10);
  public static final int RETAIN_LAST = 10;
  public static final Duration ORPHAN_INTERVAL = Duration.ofHours(1);
  public static final Duration ORPHAN_AGE = Duration.ofDays(1);

  private LakeMaintenance() {}

  /**
   * Add the maintenance of {@code namespace.table} to the job of {@code env}.
   *
   * @param lockUri the JDBC URL of the catalog database, whose lock table must exist
   * @param lockProperties the lock's connection properties, {@code jdbc.} prefixed
   */
  public static void append(
      StreamExecutionEnvironment env,
      String catalogName,
      Map<String, String> catalogOptions,
      String namespace,
      String table,
      String lockUri,
      Map<String, String> lockProperties)
      throws IOException {
    String name = String.join(".", catalogName, namespace, table);
    JdbcLockFactory lock = new JdbcLockFactory(lockUri, name, new java.util.HashMap<>(lockProperties));
    TableMaintenance.forTable(
            env,
            TableLoaders.of(catalogName, catalogOptions, namespace, table),
            new OpenedOnlyLockFactory(lock))
        .uidSuffix("maintenance " + name)
        .rateLimit(RATE_LIMIT)
        .parallelism(1)
        .add(RewriteDataFiles.builder().scheduleOnCommitCount(COMMITS).minInputFiles(2))
        .add(
            ExpireSnapshots.builder()
                .scheduleOnCommitCount(COMMITS)
                .maxSnapshotAge(SNAPSHOT_AGE)
                .retainLast(RETAIN_LAST))
        .add(
            DeleteOrphanFiles.builder()
                .scheduleOnInterval(ORPHAN_INTERVAL)
                .minAge(ORPHAN_AGE))
        .append();
  }
}
