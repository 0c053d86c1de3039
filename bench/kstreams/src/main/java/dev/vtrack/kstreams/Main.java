package dev.vtrack.kstreams;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;

/**
 * vtrack's job on Kafka Streams, for throughput comparisons with {@code vtrack run}.
 *
 * <pre>
 * java -cp 'target/classes:target/lib/*' dev.vtrack.kstreams.Main \
 *   --bootstrap 127.0.0.1:9092 --app ks-bench-1 --confirmations C --scans S \
 *   [--partitions 4] [--threads 1] [--carriers config/carriers.toml] [--state-dir DIR]
 * </pre>
 *
 * Prints a progress line every 5 s and a final one on SIGTERM/SIGINT.
 */
public final class Main {
    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) usage("unexpected argument " + args[i]);
            a.put(args[i].substring(2), args[i + 1]);
        }
        if (args.length % 2 != 0) usage("missing value for " + args[args.length - 1]);
        String bootstrap = a.getOrDefault("bootstrap", "127.0.0.1:9092");
        String app = req(a, "app");
        String confirmations = a.getOrDefault("confirmations", app + "-confirmations");
        String scans = a.getOrDefault("scans", app + "-scans");
        int partitions = Integer.parseInt(a.getOrDefault("partitions", "4"));
        int threads = Integer.parseInt(a.getOrDefault("threads", "1"));
        Path carriersFile = Path.of(a.getOrDefault("carriers", "config/carriers.toml"));
        String stateDir = a.getOrDefault("state-dir", Files.createTempDirectory("vtrack-kstreams-").toString());

        Carriers carriers = Carriers.load(carriersFile);
        Topo.Topics topics = Topo.Topics.of(app, confirmations, scans);
        createTopics(bootstrap, topics, partitions);

        Stats stats = new Stats();
        Topology topology = Topo.build(topics, carriers, stats);
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
        // Pass-through: any -Dks.<property>=<value> is a Kafka Streams / client property.
        System.getProperties().forEach((k, v) -> {
            String key = k.toString();
            if (key.startsWith("ks.")) p.put(key.substring(3), v.toString());
        });

        System.out.println("vtrack-kstreams: application " + app + ", " + partitions + " partitions, " + threads
                + " stream thread(s), exactly_once_v2, commit.interval.ms=" + p.get(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG));
        System.out.println(topology.describe());
        KafkaStreams streams = new KafkaStreams(topology, p);
        CountDownLatch done = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            System.out.println("vtrack-kstreams: state " + before + " -> " + now + " at " + ms(stats) + " ms");
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) done.countDown();
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("vtrack-kstreams: stopping");
            streams.close();
            System.out.println("vtrack-kstreams: stopped " + stats.line());
            System.out.flush();
        }));
        Thread progress = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(5000);
                } catch (InterruptedException e) {
                    return;
                }
                System.out.println("vtrack-kstreams: progress " + stats.line());
            }
        }, "progress");
        progress.setDaemon(true);
        progress.start();
        streams.start();
        done.await();
        System.out.println("vtrack-kstreams: ended in state " + streams.state() + " " + stats.line());
        System.exit(streams.state() == KafkaStreams.State.ERROR ? 1 : 0);
    }

    private static long ms(Stats s) {
        return (System.nanoTime() - s.startedNanos) / 1_000_000;
    }

    /** The three repartition topics (kept: retention.ms=-1) and the outputs, as vtrack creates them. */
    static void createTopics(String bootstrap, Topo.Topics t, int partitions) throws Exception {
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(ap)) {
            List<NewTopic> list = new ArrayList<>();
            Map<String, String> keep = Map.of("cleanup.policy", "delete", "retention.ms", "-1");
            for (String n : List.of(t.orderEvents(), t.trackingEvents(), t.sellerEvents(), t.verdicts(),
                    t.lateConfirmations(), t.deadLetters())) {
                list.add(new NewTopic(n, partitions, (short) 1).configs(keep));
            }
            list.add(new NewTopic(t.sellerVtr(), partitions, (short) 1).configs(Map.of("cleanup.policy", "compact")));
            for (NewTopic nt : list) {
                try {
                    admin.createTopics(List.of(nt)).all().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) throw e;
                }
            }
        }
    }

    private static String req(Map<String, String> a, String k) {
        String v = a.get(k);
        if (v == null) usage("--" + k + " is required");
        return v;
    }

    private static void usage(String why) {
        System.err.println("vtrack-kstreams: " + why);
        System.err.println("usage: Main --app ID [--bootstrap HOST:PORT] [--confirmations TOPIC] [--scans TOPIC]"
                + " [--partitions N] [--threads N] [--carriers FILE] [--state-dir DIR]");
        System.exit(2);
    }
}
