package dev.telemetry.flink.watermark;

import java.io.Serializable;

/**
 * What the brokers confirm about the partitions of one topic: whether a partition holds nothing
 * beyond a given position, and whether every partition's leader answers at all.
 *
 * <p>A watermark generator may let event time follow the wall clock only on the broker's word
 * that its partition is drained, never because nothing arrived: during a broker outage nothing
 * arrives either, while producers buffer events that will arrive later. Answers come as {@link
 * Streak}s, the span of wall-clock time over which every probe (about one a second) confirmed
 * the same fact without a gap; a failed probe, or one that found unread records, ends the streak.
 *
 * <p>Implementations are shared by the generators of one JVM and thread-safe; every call is
 * cheap and never blocks (the broker is asked on a background thread).
 */
public interface DrainProbe {

    /** A fact confirmed continuously from {@code since} to {@code lastConfirmed} (epoch ms). */
    record Streak(long since, long lastConfirmed) {
        /** How long the fact has held without a gap. */
        public long length() {
            return lastConfirmed - since;
        }
    }

    /**
     * Probe {@code partition} at {@code nextOffset} (the offset after the last record read) until
     * {@link #unwatch}ed or watched at another offset.
     */
    void watch(int partition, long nextOffset);

    /** Stop probing {@code partition} (records flow again). */
    void unwatch(int partition);

    /**
     * Since when the broker has confirmed, without a gap, that {@code partition} has no committed
     * record at or after {@code nextOffset}; null if it has not (yet), or the last probe failed.
     */
    Streak drained(int partition, long nextOffset);

    /**
     * A generator that has read rows of {@code partition} says so, at every periodic emit; a
     * claim lapses a few seconds after the last.
     */
    void claim(int partition);

    /**
     * For a generator that has delivered no row yet, whose partition it does not know: since when
     * the broker has confirmed, without a gap, that every partition of the topic that no
     * generator of this JVM claims is either empty for the job (nothing committed beyond the
     * consumer group's committed offset, or the beginning if it has none) or read elsewhere (its
     * committed offset moved after {@code since}: a reader on another TaskManager). Null if that
     * does not hold (a partition holds records nobody has read yet, which may be the caller's),
     * or the last probe failed.
     */
    Streak settled(long since);

    /** Creates (or finds) the probe on the TaskManager; shipped with the watermark strategy. */
    @FunctionalInterface
    interface Factory extends Serializable {
        DrainProbe open();
    }
}
