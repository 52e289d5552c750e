package dev.telemetry.flink.lake;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import org.apache.iceberg.Table;
import org.apache.iceberg.flink.TableLoader;
import org.apache.iceberg.flink.maintenance.api.JdbcLockFactory;
import org.apache.iceberg.flink.maintenance.api.TriggerLockFactory;
import org.apache.iceberg.flink.maintenance.operator.ExpireSnapshotsProcessor;
import org.junit.jupiter.api.Test;

/** The closes a failover makes on operators it never opened, which Iceberg 1.11 fails. */
class OpenedOnlyLockFactoryTest {

  private static JdbcLockFactory jdbcLock() {
    return new JdbcLockFactory("jdbc:sqlite::memory:", "telemetry.ns.windows", new HashMap<>());
  }

  @Test
  void icebergsJdbcLockFailsToCloseUnopenedWhichIsWhyTheWrapperExists() {
    assertThrows(NullPointerException.class, () -> jdbcLock().close());
  }

  @Test
  void anUnopenedLockClosesQuietly() {
    assertDoesNotThrow(() -> new OpenedOnlyLockFactory(jdbcLock()).close());
  }

  @Test
  void anOpenedLockClosesItsDelegateOnce() throws Exception {
    Counting delegate = new Counting(false);
    OpenedOnlyLockFactory lock = new OpenedOnlyLockFactory(delegate);
    lock.open();
    lock.close();
    lock.close();
    assertEquals(1, delegate.closed);
  }

  @Test
  void aFailedOpenIsStillClosed() throws Exception {
    Counting delegate = new Counting(true);
    OpenedOnlyLockFactory lock = new OpenedOnlyLockFactory(delegate);
    assertThrows(IllegalStateException.class, lock::open);
    lock.close();
    assertEquals(1, delegate.closed);
  }

  @Test
  void expiryWithoutItsOwnPlanningPoolClosesUnopened() {
    TableLoader loader = new NeverOpened();
    assertThrows(
        NullPointerException.class,
        () -> new ExpireSnapshotsProcessor(loader, null, null, 4, null).close());
    assertDoesNotThrow(() -> new ExpireSnapshotsProcessor(loader, null, null, null, null).close());
  }

  /** A table loader nobody opened: what an operator cancelled before its open() holds. */
  private static final class NeverOpened implements TableLoader {
    @Override
    public void open() {
      throw new UnsupportedOperationException();
    }

    @Override
    public boolean isOpen() {
      return false;
    }

    @Override
    public Table loadTable() {
      throw new UnsupportedOperationException();
    }

    @Override
    @SuppressWarnings("checkstyle:NoClone")
    public TableLoader clone() {
      return this;
    }

    @Override
    public void close() {}
  }

  private static final class Counting implements TriggerLockFactory {
    private final boolean failOpen;
    int closed;

    Counting(boolean failOpen) {
      this.failOpen = failOpen;
    }

    @Override
    public void open() {
      if (failOpen) {
        throw new IllegalStateException("catalog database unreachable");
      }
    }

    @Override
    public Lock createLock() {
      throw new UnsupportedOperationException();
    }

    @Override
    public Lock createRecoveryLock() {
      throw new UnsupportedOperationException();
    }

    @Override
    public void close() {
      closed++;
    }
  }
}
