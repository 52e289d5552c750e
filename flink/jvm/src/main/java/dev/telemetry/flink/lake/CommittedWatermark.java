package dev.telemetry.flink.lake;

import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.types.Row;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.flink.TableLoader;

/**
 * Keeps the table property {@code telemetry.committed-before} at "every window ending at or before
 * T is committed" (ISO 8601, UTC), the signal schedulers wait for.
 *
 * <p>It reads the stream the table's writer reads, so at checkpoint n its watermark W(n) is at most
 * the writer's: every window ending at or before W(n) was emitted before the barrier and is in the
 * files of checkpoint n. Once the table shows checkpoint n committed by this job ({@code
 * flink.max-committed-checkpoint-id} of a snapshot with this {@code flink.job-id}), T becomes W(n).
 * Iceberg's committer commits on the same notification, in no set order, so the signal trails the
 * data by at most one checkpoint; it never runs ahead of it. The pending watermarks are state, so a
 * restored job sets what its predecessor had not.
 */
public final class CommittedWatermark extends AbstractStreamOperator<Void>
    implements OneInputStreamOperator<Row, Void> {

  private static final long serialVersionUID = 1L;
  public static final String PROPERTY = "telemetry.committed-before";
  private static final String JOB_ID = "flink.job-id";
  private static final String MAX_COMMITTED = "flink.max-committed-checkpoint-id";

  private final TableLoader tableLoader;
  private final String tableName;

  private transient Table table;
  private transient TreeMap<Long, Long> pending; // checkpoint id -> watermark at its barrier
  private transient ListState<Tuple2<Long, Long>> pendingState;
  private transient long watermark;
  private transient long published;

  /** For {@code namespace.tableName} of the job's catalog (the options its CREATE CATALOG takes). */
  public CommittedWatermark(
      String catalogName, Map<String, String> catalogOptions, String namespace, String tableName) {
    this(TableLoaders.of(catalogName, catalogOptions, namespace, tableName), namespace + "." + tableName);
  }

  /** For the table {@code tableLoader} loads, named {@code tableName} in logs. */
  CommittedWatermark(TableLoader tableLoader, String tableName) {
    this.tableLoader = tableLoader;
    this.tableName = tableName;
  }

  @Override
  public void initializeState(StateInitializationContext context) throws Exception {
    super.initializeState(context);
    pending = new TreeMap<>();
    watermark = Long.MIN_VALUE;
    published = Long.MIN_VALUE;
    pendingState =
        context
            .getOperatorStateStore()
            .getListState(
                new ListStateDescriptor<>(
                    "committed-watermark-pending", Types.TUPLE(Types.LONG, Types.LONG)));
    for (Tuple2<Long, Long> entry : pendingState.get()) {
      pending.put(entry.f0, entry.f1);
    }
  }

  @Override
  public void open() throws Exception {
    super.open();
    tableLoader.open();
  }

  @Override
  public void processElement(StreamRecord<Row> element) {}

  @Override
  public void processWatermark(Watermark mark) throws Exception {
    watermark = Math.max(watermark, mark.getTimestamp());
    super.processWatermark(mark);
  }

  @Override
  public void snapshotState(StateSnapshotContext context) throws Exception {
    super.snapshotState(context);
    if (watermark != Long.MIN_VALUE) {
      pending.put(context.getCheckpointId(), watermark);
    }
    pendingState.clear();
    for (Map.Entry<Long, Long> entry : pending.entrySet()) {
      pendingState.add(Tuple2.of(entry.getKey(), entry.getValue()));
    }
  }

  @Override
  public void notifyCheckpointComplete(long checkpointId) throws Exception {
    super.notifyCheckpointComplete(checkpointId);
    if (pending.isEmpty()) {
      return;
    }
    try {
      publish(committedCheckpoint());
    } catch (RuntimeException e) {
      // The signal is best effort: the next checkpoint tries again; data is never at stake.
      LOG.warn("could not update {} of {}: {}", PROPERTY, tableName, e.toString());
    }
  }

  /** The newest checkpoint this job committed to the table, or -1. */
  private long committedCheckpoint() {
    if (table == null) {
      table = tableLoader.loadTable();
    } else {
      table.refresh();
    }
    String jobId = getRuntimeContext().getJobInfo().getJobId().toString();
    for (Snapshot s = table.currentSnapshot(); s != null; ) {
      Map<String, String> summary = s.summary();
      if (jobId.equals(summary.get(JOB_ID)) && summary.containsKey(MAX_COMMITTED)) {
        return Long.parseLong(summary.get(MAX_COMMITTED));
      }
      s = s.parentId() == null ? null : table.snapshot(s.parentId());
    }
    return -1;
  }

  private void publish(long committed) {
    Map.Entry<Long, Long> entry = pending.floorEntry(committed);
    if (entry == null) {
      return;
    }
    long value = entry.getValue();
    pending.headMap(entry.getKey(), true).clear();
    if (value <= published) {
      return;
    }
    String iso = Instant.ofEpochMilli(value).toString();
    table.updateProperties().set(PROPERTY, iso).commit();
    published = value;
  }

  @Override
  public void close() throws Exception {
    if (tableLoader.isOpen()) {
      tableLoader.close();
    }
    super.close();
  }
}
