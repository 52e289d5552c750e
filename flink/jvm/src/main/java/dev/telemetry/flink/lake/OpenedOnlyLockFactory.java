package dev.telemetry.flink.lake;

import java.io.IOException;
import org.apache.iceberg.flink.maintenance.api.TriggerLockFactory;

/**
 * A lock factory that closes its delegate only if it was opened.
 *
 * <p>Flink closes every operator of a task that fails or is cancelled, including those it never
 * opened (a task cancelled while it restores its state, in a failover). Iceberg 1.11's {@code
 * JdbcLockFactory.close()} then throws a NullPointerException (its pool is made in {@code open()}),
 * and an exception while a task fails is fatal to the TaskManager: one TaskManager lost in a
 * failover took the other down with it. This wrapper keeps that close a no-op.
 */
public final class OpenedOnlyLockFactory implements TriggerLockFactory {

  private static final long serialVersionUID = 1L;

  private final TriggerLockFactory delegate;
  private transient boolean opened;

  public OpenedOnlyLockFactory(TriggerLockFactory delegate) {
    this.delegate = delegate;
  }

  @Override
  public void open() {
    try {
      delegate.open();
    } finally {
      // JdbcLockFactory makes its pool before it touches the database: a failed open is closed.
      opened = true;
    }
  }

  @Override
  public Lock createLock() {
    return delegate.createLock();
  }

  @Override
  public Lock createRecoveryLock() {
    return delegate.createRecoveryLock();
  }

  @Override
  public void close() throws IOException {
    if (opened) {
      opened = false;
      delegate.close();
    }
  }
}
