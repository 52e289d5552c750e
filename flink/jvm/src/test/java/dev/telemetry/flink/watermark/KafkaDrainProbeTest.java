package dev.telemetry.flink.watermark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Streaks from probing rounds against a scripted broker (no thread: the test runs the rounds). */
class KafkaDrainProbeTest {

    static final long INTERVAL = 1_000;

    final AtomicLong now = new AtomicLong(1_000_000);
    final ScriptedBroker broker = new ScriptedBroker();
    int brokersCreated;
    KafkaDrainProbe probe;

    @BeforeEach
    void createProbe() {
        probe = new KafkaDrainProbe("t", () -> {
            brokersCreated++;
            return broker;
        }, INTERVAL, now::get, false);
    }

    @Test
    void aPartitionAtItsEndOffsetIsDrainedAndTheStreakGrowsWithEveryRound() {
        broker.ends.put(0, 10L);
        probe.watch(0, 10);
        round();
        round();
        round();
        assertEquals(new DrainProbe.Streak(1_001_000, 1_003_000), probe.drained(0, 10));
        assertEquals(new DrainProbe.Streak(1_001_000, 1_003_000), probe.reachable());
    }

    @Test
    void unreadRecordsMeanNotDrained() {
        broker.ends.put(0, 12L);
        broker.records.put(0, true);
        probe.watch(0, 10);
        round();
        assertNull(probe.drained(0, 10));
    }

    @Test
    void onlyTransactionMarkersBeyondAPositionThatStoodStillForARoundCountAsDrained() {
        broker.ends.put(0, 11L); // a commit marker at offset 10
        probe.watch(0, 10);
        round();
        assertNull(probe.drained(0, 10), "the reader may still be moving: look again next round");
        assertEquals(0, broker.reads);
        round();
        assertEquals(new DrainProbe.Streak(1_002_000, 1_002_000), probe.drained(0, 10));
        round();
        round();
        assertEquals(new DrainProbe.Streak(1_002_000, 1_004_000), probe.drained(0, 10));
        assertEquals(1, broker.reads, "the end has not moved since: no new read");

        broker.ends.put(0, 12L); // an aborted transaction's record, invisible, at offset 11
        round();
        assertEquals(2, broker.reads, "the end moved: read again");
        assertEquals(new DrainProbe.Streak(1_002_000, 1_005_000), probe.drained(0, 10));

        broker.ends.put(0, 13L);
        broker.records.put(0, true); // a committed record at offset 12
        round();
        assertNull(probe.drained(0, 10));
        assertEquals(3, broker.reads);
    }

    @Test
    void aReaderWorkingThroughABacklogIsNeverReadFrom() {
        broker.ends.put(0, 1_000_000L);
        broker.records.put(0, true);
        for (long position = 0; position < 50_000; position += 10_000) {
            probe.watch(0, position); // quiet for a moment now and then, but moving
            round();
            assertNull(probe.drained(0, position));
        }
        assertEquals(0, broker.reads);
    }

    @Test
    void aFailedRoundEndsEveryStreakAndANewOneStartsAfterIt() {
        broker.ends.put(0, 10L);
        broker.ends.put(1, 0L);
        probe.watch(0, 10);
        round();
        round();
        broker.down = true;
        round();
        assertNull(probe.drained(0, 10));
        assertNull(probe.reachable());

        broker.down = false;
        round();
        assertEquals(2, brokersCreated, "the client is replaced after a failure");
        assertEquals(new DrainProbe.Streak(1_004_000, 1_004_000), probe.drained(0, 10));
        assertEquals(new DrainProbe.Streak(1_004_000, 1_004_000), probe.reachable());
    }

    @Test
    void aSlowRoundIsAGapThatRestartsTheStreak() {
        broker.ends.put(0, 10L);
        probe.watch(0, 10);
        round();
        now.addAndGet(3 * INTERVAL + 1); // the probe thread stalled
        round();
        assertEquals(new DrainProbe.Streak(1_004_001 + INTERVAL, 1_004_001 + INTERVAL), probe.drained(0, 10));
    }

    @Test
    void aStreakBelongsToOnePosition() {
        broker.ends.put(0, 10L);
        probe.watch(0, 10);
        round();
        assertNull(probe.drained(0, 9));
        broker.ends.put(0, 11L);
        broker.records.put(0, true);
        round();
        assertNull(probe.drained(0, 10), "a new record arrived at offset 10");
        probe.watch(0, 11);
        round();
        assertEquals(new DrainProbe.Streak(1_003_000, 1_003_000), probe.drained(0, 11));
    }

    @Test
    void unwatchedPartitionsAreNotProbedAndForgetTheirStreak() {
        broker.ends.put(0, 10L);
        probe.watch(0, 10);
        round();
        probe.unwatch(0);
        assertNull(probe.drained(0, 10));
        round();
        assertNull(probe.drained(0, 10));
    }

    @Test
    void aWatchedPartitionTheTopicDoesNotHaveIsNeverDrained() {
        broker.ends.put(0, 10L);
        probe.watch(7, 0);
        round();
        assertNull(probe.drained(7, 0));
    }

    @Test
    void aPartitionNobodyClaimsWithUnreadRecordsIsNotSettledUntilItsReaderClaimsIt() {
        broker.ends.put(0, 10L); // records 0..9, none read: perhaps the asking generator's
        broker.ends.put(1, 0L); // empty
        broker.records.put(0, true);
        probe.settled(0); // asks: the next rounds read the starts
        round();
        round();
        assertNull(probe.settled(0));

        probe.claim(0);
        round();
        round();
        assertEquals(new DrainProbe.Streak(1_001_000, 1_004_000), probe.settled(0),
                "partition 1 has been empty since the starts were first read");
        now.addAndGet(KafkaDrainProbe.CLAIM_TTL_MILLIS + 1);
        assertNull(probe.settled(0), "a claim lapses when its generator stops renewing it");
    }

    @Test
    void aPartitionCommittedToItsEndIsEmptyAndOneBelowItIsNot() {
        broker.ends.put(0, 10L);
        broker.ends.put(1, 7L);
        broker.records.put(1, true);
        broker.committed.put(0, 10L);
        broker.committed.put(1, 5L);
        probe.settled(0);
        round();
        round();
        assertNull(probe.settled(0), "partition 1 holds records 5 and 6 beyond its committed offset");
        broker.committed.put(1, 7L);
        round();
        round();
        assertEquals(new DrainProbe.Streak(1_003_000, 1_004_000), probe.settled(0));
    }

    @Test
    void onlyMarkersBeyondTheCommittedOffsetCountAsEmpty() {
        broker.ends.put(0, 11L); // the record before offset 10 was read; a commit marker at 10
        broker.committed.put(0, 10L);
        probe.settled(0);
        round();
        assertNull(probe.settled(0), "the start has not stood still for a round yet");
        round();
        assertEquals(new DrainProbe.Streak(1_002_000, 1_002_000), probe.settled(0));
        round();
        assertEquals(new DrainProbe.Streak(1_002_000, 1_003_000), probe.settled(0));
        assertEquals(1, broker.reads, "the end has not moved: no new read");
    }

    @Test
    void aCommittedOffsetThatMovesAfterTheGivenTimeMeansAReaderElsewhere() {
        broker.ends.put(0, 100L);
        broker.records.put(0, true);
        broker.committed.put(0, 10L);
        probe.settled(0);
        round();
        round();
        assertNull(probe.settled(0));
        broker.committed.put(0, 40L); // another TaskManager's checkpoint committed
        round();
        round();
        assertEquals(new DrainProbe.Streak(1_003_000, 1_004_000), probe.settled(1_002_999));
        assertNull(probe.settled(1_003_000), "a move seen before (or at) the given time does not count");
    }

    @Test
    void aCommitSeenAcrossAGapIsNotAMove() {
        broker.ends.put(0, 100L);
        broker.records.put(0, true);
        broker.committed.put(0, 10L);
        probe.settled(0);
        round();
        broker.committed.put(0, 40L);
        now.addAndGet(3 * INTERVAL + 1); // the probe thread stalled: when it moved is unknown
        probe.settled(0);
        round();
        assertNull(probe.settled(0));
    }

    @Test
    void startsAreReadOnlyWhileAGeneratorAsks() {
        broker.ends.put(0, 0L);
        round();
        round();
        assertEquals(0, broker.startReads);
        probe.settled(0);
        round();
        assertEquals(1, broker.startReads);
        now.addAndGet(4 * INTERVAL); // nobody asked since
        probe.round();
        assertEquals(1, broker.startReads);
        assertNull(probe.settled(0), "what was read before is forgotten");
    }

    @Test
    void aFailedRoundUnsettlesEveryone() {
        broker.ends.put(0, 0L);
        probe.settled(0);
        round();
        round();
        broker.down = true;
        round();
        assertNull(probe.settled(0));
    }

    void round() {
        now.addAndGet(INTERVAL);
        probe.round();
    }

    static final class ScriptedBroker implements KafkaDrainProbe.Broker {
        final Map<Integer, Long> ends = new HashMap<>();
        final Map<Integer, Boolean> records = new HashMap<>();
        final Map<Integer, Long> committed = new HashMap<>();
        boolean down;
        int reads; // onlyMarkers calls: each is a fetch
        int startReads;

        @Override
        public Map<Integer, Long> endOffsets() throws Exception {
            if (down) {
                throw new org.apache.kafka.common.errors.TimeoutException("broker down");
            }
            return new HashMap<>(ends);
        }

        @Override
        public boolean onlyMarkers(int partition, long next, long end) {
            reads++;
            return !records.getOrDefault(partition, false);
        }

        @Override
        public Map<Integer, KafkaDrainProbe.Start> starts() throws Exception {
            if (down) {
                throw new org.apache.kafka.common.errors.TimeoutException("broker down");
            }
            startReads++;
            Map<Integer, KafkaDrainProbe.Start> starts = new HashMap<>();
            ends.keySet().forEach(p -> starts.put(p, new KafkaDrainProbe.Start(committed.get(p), 0)));
            return starts;
        }

        @Override
        public void close() {}
    }
}
