package dev.telemetry.flink.watermark;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link DrainProbe} that asks the brokers, about once per {@code intervalMillis}, for the end
 * offsets of every partition of one topic (the last stable offset: the consumer reads
 * committed data only) and compares them with the positions the generators watch.
 *
 * <p>A partition is drained at position {@code next} when its end offset is at most {@code next},
 * or when the only entries in between are transaction markers (checked by reading from {@code
 * next}: nothing is returned and the position moves to the end). That read costs a fetch, so it
 * is made only for a position that has stood still behind the end for a whole round (a reader
 * still working through a backlog moves on; a reader stopped before markers is confirmed one
 * round later), and not again while the end stays where the last read found only markers. Any
 * failure of a round (a broker or leader that does not answer within the timeout, an unknown
 * topic) ends every streak.
 *
 * <p>While a generator without a row asks ({@link #settled}), each round also reads where the
 * consumer group starts in every partition (committed offsets, log beginnings): a partition no
 * generator here claims is empty for the job when nothing but markers lies beyond that start, and
 * read elsewhere when its committed offset moves (the source commits on every checkpoint).
 *
 * <p>One probe per topic and client configuration per JVM ({@link #shared}), with one daemon
 * thread and one consumer (in the source's group only to read its committed offsets: it never
 * joins the group or commits). The thread runs while generators use the probe and stops a minute
 * after the last call, so a cancelled job leaves nothing behind; the next call starts it again.
 */
public final class KafkaDrainProbe implements DrainProbe {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaDrainProbe.class);
    private static final Map<String, KafkaDrainProbe> SHARED = new ConcurrentHashMap<>();
    static final long LEASE_MILLIS = 60_000;

    /** The broker calls a round needs; {@link KafkaBroker} in production, a fake in tests. */
    interface Broker extends AutoCloseable {
        /** End offset (last stable offset) of every partition of the topic. */
        Map<Integer, Long> endOffsets() throws Exception;

        /** True if [next, end) of the partition holds no record, only transaction markers. */
        boolean onlyMarkers(int partition, long next, long end) throws Exception;

        /** Where a reader of the consumer group starts in every partition of the topic. */
        Map<Integer, Start> starts() throws Exception;

        @Override
        void close();
    }

    /**
     * A partition's start for the consumer group: its committed offset (null if none) and the
     * beginning of its log, where a reader without a committed offset (or one below it) starts.
     */
    record Start(Long committed, long beginning) {
        long position() {
            return committed == null ? beginning : Math.max(committed, beginning);
        }
    }

    /** Partition -> its current streak, with the position it was confirmed at. */
    private record Confirmed(long nextOffset, Streak streak) {}

    /** A watched position found behind the end offset, and whether only markers lie between. */
    private record Behind(long nextOffset, long endOffset, boolean onlyMarkers) {}

    private final String name;
    private final Supplier<Broker> brokers;
    private final long intervalMillis;
    private final LongSupplier clock;
    private final boolean background;
    private final Map<Integer, Long> watched = new ConcurrentHashMap<>();
    private final Map<Integer, Confirmed> drained = new ConcurrentHashMap<>();
    private final Map<Integer, Behind> behind = new HashMap<>(); // only touched by the probing thread
    private volatile Streak reachable;
    // For generators without a row (settled): only computed while one asks.
    static final long CLAIM_TTL_MILLIS = 2_000; // ten periodic emits at Flink's default 200 ms
    private final Map<Integer, Long> claims = new ConcurrentHashMap<>(); // partition -> last claim
    private final Map<Integer, Streak> empty = new ConcurrentHashMap<>(); // nothing beyond its start
    private final Map<Integer, Long> commitMoved = new ConcurrentHashMap<>(); // last seen moving
    private final Map<Integer, Start> lastStarts = new HashMap<>(); // only touched by the probing thread
    private volatile List<Integer> partitions; // of the last round that fetched the starts
    private volatile long settledAsked = Long.MIN_VALUE;
    private volatile long lastUsed;
    private Thread thread; // guarded by this
    private Broker broker; // only touched by the probing thread (or a test calling round())
    private long lastFailureLogged = Long.MIN_VALUE;

    /**
     * @param background probe on a daemon thread of its own; false for tests, which call {@link
     *     #round()} themselves
     */
    KafkaDrainProbe(
            String name,
            Supplier<Broker> brokers,
            long intervalMillis,
            LongSupplier clock,
            boolean background) {
        this.name = name;
        this.brokers = brokers;
        this.intervalMillis = intervalMillis;
        this.clock = clock;
        this.background = background;
        this.lastUsed = clock.getAsLong();
    }

    /**
     * The JVM's probe for {@code topic} and the source's consumer {@code group}, with these
     * consumer properties (bootstrap servers and security settings), started on first use.
     */
    public static KafkaDrainProbe shared(
            String topic, String group, Map<String, String> properties, long intervalMillis) {
        String key = topic + "|" + group + "|" + intervalMillis + "|" + new TreeMap<>(properties);
        return SHARED.computeIfAbsent(key, k -> new KafkaDrainProbe(
                topic,
                () -> new KafkaBroker(topic, group, properties, Duration.ofMillis(Math.max(1000, 2 * intervalMillis))),
                intervalMillis,
                System::currentTimeMillis,
                true));
    }

    /** The {@link DrainProbe.Factory} the watermark strategy ships to the TaskManagers. */
    public static DrainProbe.Factory factory(
            String topic, String group, Map<String, String> properties, long intervalMillis) {
        HashMap<String, String> copy = new HashMap<>(properties);
        return () -> shared(topic, group, copy, intervalMillis);
    }

    @Override
    public void watch(int partition, long nextOffset) {
        use();
        watched.put(partition, nextOffset);
    }

    @Override
    public void unwatch(int partition) {
        use();
        watched.remove(partition);
        drained.remove(partition);
    }

    @Override
    public Streak drained(int partition, long nextOffset) {
        use();
        Confirmed confirmed = drained.get(partition);
        return confirmed != null && confirmed.nextOffset() == nextOffset ? confirmed.streak() : null;
    }

    /** Since when every partition's leader has answered every round; null after a failure. */
    Streak reachable() {
        return reachable;
    }

    @Override
    public void claim(int partition) {
        use();
        claims.put(partition, clock.getAsLong());
    }

    @Override
    public Streak settled(long since) {
        use();
        long now = clock.getAsLong();
        settledAsked = now;
        Streak all = reachable;
        List<Integer> known = partitions;
        if (all == null || known == null) {
            return null;
        }
        long from = all.since();
        for (int partition : known) {
            Long claimed = claims.get(partition);
            if (claimed != null && now - claimed <= CLAIM_TTL_MILLIS) {
                continue; // a generator here reads it
            }
            Streak nothingUnread = empty.get(partition);
            Long moved = commitMoved.get(partition);
            long partitionSince = Long.MAX_VALUE;
            if (nothingUnread != null) {
                partitionSince = nothingUnread.since();
            }
            if (moved != null && moved > since) {
                partitionSince = Math.min(partitionSince, moved);
            }
            if (partitionSince == Long.MAX_VALUE) {
                return null; // records nobody has read: perhaps the caller's
            }
            from = Math.max(from, partitionSince);
        }
        return new Streak(Math.min(from, all.lastConfirmed()), all.lastConfirmed());
    }

    private void use() {
        lastUsed = clock.getAsLong();
        ensureRunning();
    }

    private synchronized void ensureRunning() {
        if (!background || thread != null && thread.isAlive()) {
            return;
        }
        thread = new Thread(this::loop, "telemetry-drain-probe-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    private void loop() {
        try {
            while (clock.getAsLong() - lastUsed < LEASE_MILLIS && !Thread.currentThread().isInterrupted()) {
                long started = clock.getAsLong();
                round();
                long rest = intervalMillis - (clock.getAsLong() - started);
                if (rest > 0) {
                    Thread.sleep(rest);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeBroker();
            reachable = null;
            drained.clear();
            forgetStarts();
        }
    }

    /** One probing round: every partition's end offset, then each watched partition. */
    void round() {
        long now = clock.getAsLong();
        long maxGap = 3 * intervalMillis;
        try {
            if (broker == null) {
                broker = brokers.get();
            }
            Map<Integer, Long> ends = broker.endOffsets();
            if (ends.isEmpty()) {
                throw new IllegalStateException("topic " + name + " has no partitions");
            }
            long at = clock.getAsLong(); // the answer is as fresh as its arrival
            boolean gap = reachable == null || now - reachable.lastConfirmed() > maxGap;
            reachable = extend(reachable, now, at, maxGap);
            for (Map.Entry<Integer, Long> entry : new ArrayList<>(watched.entrySet())) {
                int partition = entry.getKey();
                long next = entry.getValue();
                Long end = ends.get(partition);
                boolean isDrained = end != null && (end <= next || onlyMarkersBehind(partition, next, end));
                if (!isDrained || !Long.valueOf(next).equals(watched.get(partition))) {
                    drained.remove(partition);
                    continue;
                }
                drained.compute(partition, (p, previous) -> {
                    Streak before = previous != null && previous.nextOffset() == next ? previous.streak() : null;
                    return new Confirmed(next, extend(before, now, at, maxGap));
                });
            }
            Set<Integer> checked = new HashSet<>(watched.keySet());
            if (settledAsked != Long.MIN_VALUE && now - settledAsked <= maxGap) {
                checked.addAll(probeStarts(ends, gap, now, at, maxGap));
            } else {
                forgetStarts();
            }
            behind.keySet().retainAll(checked);
        } catch (Exception e) {
            reachable = null;
            drained.clear();
            behind.clear();
            forgetStarts();
            closeBroker(); // a fresh client after a failure: no half-broken state carried over
            logFailure(now, e);
        }
    }

    /**
     * For {@link #settled}: which unclaimed partitions hold nothing beyond the group's start, and
     * whose committed offset moved since the previous round (only after a round without a gap, so
     * a move is seen as it happens). Returns the partitions checked for markers.
     */
    private Set<Integer> probeStarts(Map<Integer, Long> ends, boolean gap, long now, long at, long maxGap)
            throws Exception {
        Map<Integer, Start> starts = broker.starts();
        Set<Integer> checked = new HashSet<>();
        for (Map.Entry<Integer, Long> entry : ends.entrySet()) {
            int partition = entry.getKey();
            long end = entry.getValue();
            Start start = starts.get(partition);
            Start before = lastStarts.get(partition);
            if (start == null) {
                empty.remove(partition);
                continue;
            }
            if (!gap && before != null && !Objects.equals(before.committed(), start.committed())) {
                commitMoved.put(partition, at);
            }
            Long claimed = claims.get(partition);
            if (claimed != null && now - claimed <= CLAIM_TTL_MILLIS) {
                empty.remove(partition); // read here: its generator knows better
                continue;
            }
            long position = start.position();
            checked.add(partition);
            boolean nothingUnread = end <= position || onlyMarkersBehind(partition, position, end);
            if (nothingUnread) {
                empty.compute(partition, (p, streak) -> extend(streak, now, at, maxGap));
            } else {
                empty.remove(partition);
            }
        }
        lastStarts.clear();
        lastStarts.putAll(starts);
        empty.keySet().retainAll(ends.keySet());
        commitMoved.keySet().retainAll(ends.keySet());
        partitions = List.copyOf(new TreeMap<>(ends).keySet());
        return checked;
    }

    private void forgetStarts() {
        partitions = null;
        empty.clear();
        commitMoved.clear();
        lastStarts.clear();
    }

    /**
     * Whether only transaction markers lie in [next, end) of the partition; asks the broker only
     * if the position was already behind at the previous round and the end has moved since the
     * last answer (see the class comment).
     */
    private boolean onlyMarkersBehind(int partition, long next, long end) throws Exception {
        Behind last = behind.get(partition);
        if (last == null || last.nextOffset() != next) {
            behind.put(partition, new Behind(next, end, false)); // maybe still reading: next round
            return false;
        }
        if (last.onlyMarkers() && last.endOffset() == end) {
            return true; // nothing was written since the broker said so
        }
        boolean only = broker.onlyMarkers(partition, next, end);
        behind.put(partition, new Behind(next, end, only));
        return only;
    }

    /** The streak continued to {@code at}, or a new one from {@code now} if there was a gap. */
    private static Streak extend(Streak streak, long now, long at, long maxGap) {
        if (streak != null && now - streak.lastConfirmed() <= maxGap) {
            return new Streak(streak.since(), at);
        }
        return new Streak(now, at);
    }

    private void closeBroker() {
        if (broker != null) {
            try {
                broker.close();
            } catch (RuntimeException e) {
                LOG.debug("closing the drain probe's client failed", e);
            }
            broker = null;
        }
    }

    private void logFailure(long now, Exception e) {
        if (now - lastFailureLogged >= 60_000) {
            lastFailureLogged = now;
            LOG.warn("Kafka does not confirm that topic {} is drained ({}); event time will not follow the "
                    + "clock until it does", name, e.toString());
        }
    }

    /** The real broker calls, through one consumer without a group. */
    static final class KafkaBroker implements Broker {
        private final String topic;
        private final Duration timeout;
        private final KafkaConsumer<byte[], byte[]> consumer;

        KafkaBroker(String topic, String group, Map<String, String> properties, Duration timeout) {
            this.topic = topic;
            this.timeout = timeout;
            Properties config = new Properties();
            config.putAll(properties);
            config.put(ConsumerConfig.CLIENT_ID_CONFIG, "telemetry-drain-probe-" + topic);
            config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1");
            // One batch is enough to tell a record from a marker: fetch little, skip the CRCs.
            config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, "65536");
            config.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, "65536");
            config.put(ConsumerConfig.CHECK_CRCS_CONFIG, "false");
            config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100");
            config.put(ConsumerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "1000");
            config.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(timeout.toMillis()));
            config.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(timeout.toMillis()));
            // The group only to read its committed offsets: the probe never joins it (assign, not
            // subscribe) and never commits.
            config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            this.consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        }

        @Override
        public Map<Integer, Long> endOffsets() {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : infos == null ? List.<PartitionInfo>of() : infos) {
                if (info.leader() == null || info.leader().isEmpty()) {
                    throw new IllegalStateException("partition " + info.partition() + " of " + topic + " has no leader");
                }
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            Map<Integer, Long> ends = new HashMap<>();
            consumer.endOffsets(partitions, timeout).forEach((tp, end) -> ends.put(tp.partition(), end));
            return ends;
        }

        @Override
        public Map<Integer, Start> starts() {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic, timeout)) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            Map<TopicPartition, Long> beginnings = consumer.beginningOffsets(partitions, timeout);
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(new HashSet<>(partitions), timeout);
            Map<Integer, Start> starts = new HashMap<>();
            beginnings.forEach((tp, beginning) -> {
                OffsetAndMetadata offset = committed.get(tp);
                starts.put(tp.partition(), new Start(offset == null ? null : offset.offset(), beginning));
            });
            return starts;
        }

        @Override
        public boolean onlyMarkers(int partition, long next, long end) {
            TopicPartition tp = new TopicPartition(topic, partition);
            consumer.assign(List.of(tp));
            consumer.seek(tp, next);
            if (!consumer.poll(timeout.dividedBy(2)).isEmpty()) {
                return false;
            }
            return consumer.position(tp, timeout) >= end;
        }

        @Override
        public void close() {
            consumer.close(Duration.ofSeconds(1));
        }
    }
}
