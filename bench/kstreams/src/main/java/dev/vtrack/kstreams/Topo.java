package dev.vtrack.kstreams;

import dev.vtrack.kstreams.Model.Msg;
import dev.vtrack.kstreams.Model.OrderState;
import dev.vtrack.kstreams.Model.SellerState;
import dev.vtrack.kstreams.Model.TrackingState;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * The topology, node by node (Processor API). Four sub-topologies, like vtrack's stages:
 *
 * <pre>
 *  confirmations ─► ingest ─► (bad) dead-letters
 *                          └► order-events ─┐
 *  scans ─────────► ingest ─► tracking-events ◄─ SUB/UNSUB ─ order stage [orders, order-timers]
 *                                │                               ▲   │ verdicts, late-confirmations
 *                                ▼                               │   ▼
 *                     tracking stage [tracking] ─ FACTS ─► order-events   seller-events ─► seller stage [sellers] ─► seller-vtr
 * </pre>
 *
 * The three -events topics are created by {@link Main} (they carry records in both directions,
 * so they cannot be the DSL's own repartition topics); the four stores are persistent
 * (RocksDB), cached and changelogged by Kafka Streams.
 */
public final class Topo {
    static final String DEAD_LETTERS = "dead-letters-sink";
    static final String ORDER_EVENTS = "order-events-sink";
    static final String ORDER_EVENTS_FROM_TRACKING = "order-events-from-tracking-sink";
    static final String TRACKING_EVENTS = "tracking-events-sink";
    static final String TRACKING_EVENTS_FROM_ORDERS = "tracking-events-from-orders-sink";
    static final String SELLER_EVENTS = "seller-events-sink";
    static final String VERDICTS = "verdicts-sink";
    static final String LATE_CONFIRMATIONS = "late-confirmations-sink";
    static final String SELLER_VTR = "seller-vtr-sink";
    static final String ORDERS_STORE = "orders";
    static final String TIMERS_STORE = "order-timers";
    static final String TRACKING_STORE = "tracking";
    static final String SELLERS_STORE = "sellers";

    /** Topic names of one application. */
    record Topics(String confirmations, String scans, String verdicts, String sellerVtr, String lateConfirmations,
                  String deadLetters, String orderEvents, String trackingEvents, String sellerEvents) {
        static Topics of(String app, String confirmations, String scans) {
            return new Topics(confirmations, scans, app + "-verdicts", app + "-seller-vtr",
                    app + "-late-confirmations", app + "-dead-letters", app + "-order-events",
                    app + "-tracking-events", app + "-seller-events");
        }
    }

    static Topology build(Topics t, Carriers carriers, Stats stats) {
        JsonSerde<Msg> msg = new JsonSerde<>(Msg.class);
        StringSerializer ss = new StringSerializer();
        StringDeserializer sd = new StringDeserializer();
        Topology topo = new Topology();

        // ingest
        topo.addSource("confirmations-source", new ByteArrayDeserializer(), new ByteArrayDeserializer(), t.confirmations());
        topo.addProcessor("ingest-confirmations", () -> new Ingest.Confirmations(stats, t.confirmations()), "confirmations-source");
        topo.addSink(ORDER_EVENTS, t.orderEvents(), ss, msg.serializer(), "ingest-confirmations");
        topo.addSink(DEAD_LETTERS, t.deadLetters(), new ByteArraySerializer(), new ByteArraySerializer(), "ingest-confirmations");

        topo.addSource("scans-source", new ByteArrayDeserializer(), new ByteArrayDeserializer(), t.scans());
        topo.addProcessor("ingest-scans", () -> new Ingest.Scans(stats, t.scans(), carriers), "scans-source");
        topo.addSink(TRACKING_EVENTS, t.trackingEvents(), ss, msg.serializer(), "ingest-scans");
        topo.addSink(DEAD_LETTERS + "-scans", t.deadLetters(), new ByteArraySerializer(), new ByteArraySerializer(), "ingest-scans");

        // order stage
        topo.addSource("order-events-source", sd, msg.deserializer(), t.orderEvents());
        topo.addProcessor("order-stage", () -> new OrderStage(carriers, stats), "order-events-source");
        topo.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(ORDERS_STORE), Serdes.String(),
                new JsonSerde<>(OrderState.class)).withCachingEnabled(), "order-stage");
        topo.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(TIMERS_STORE), Serdes.String(),
                Serdes.String()).withCachingEnabled(), "order-stage");
        topo.addSink(TRACKING_EVENTS_FROM_ORDERS, t.trackingEvents(), ss, msg.serializer(), "order-stage");
        topo.addSink(SELLER_EVENTS, t.sellerEvents(), ss, msg.serializer(), "order-stage");
        topo.addSink(VERDICTS, t.verdicts(), ss, ss, "order-stage");
        topo.addSink(LATE_CONFIRMATIONS, t.lateConfirmations(), ss, ss, "order-stage");

        // tracking stage
        topo.addSource("tracking-events-source", sd, msg.deserializer(), t.trackingEvents());
        topo.addProcessor("tracking-stage", () -> new TrackingStage(stats), "tracking-events-source");
        topo.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(TRACKING_STORE), Serdes.String(),
                new JsonSerde<>(TrackingState.class)).withCachingEnabled(), "tracking-stage");
        topo.addSink(ORDER_EVENTS_FROM_TRACKING, t.orderEvents(), ss, msg.serializer(), "tracking-stage");

        // seller stage
        topo.addSource("seller-events-source", sd, msg.deserializer(), t.sellerEvents());
        topo.addProcessor("seller-stage", () -> new SellerStage(stats), "seller-events-source");
        topo.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(SELLERS_STORE), Serdes.String(),
                new JsonSerde<>(SellerState.class)).withCachingEnabled(), "seller-stage");
        topo.addSink(SELLER_VTR, t.sellerVtr(), ss, ss, "seller-stage");
        return topo;
    }
}
