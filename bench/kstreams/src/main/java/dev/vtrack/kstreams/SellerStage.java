package dev.vtrack.kstreams;

import dev.vtrack.kstreams.Model.Msg;
import dev.vtrack.kstreams.Model.SellerState;
import dev.vtrack.kstreams.Model.Slot;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The seller stage (key marketplace/seller): counts per category, metric day and status,
 * moved by one atomic delta per package change. Every commit interval (a wall-clock
 * punctuation) it writes the rows of the 7- and 30-day windows, per category and "*", whose
 * numbers changed or whose window slid, as of the task's event time; a tombstone once every
 * count is 0.
 */
public final class SellerStage implements Processor<String, Msg, Object, Object> {
    static final int[] WINDOWS = {7, 30};
    static final double THRESHOLD = 0.95;
    private static final String[] STATUSES = {"VALID", "INVALID", "EXCLUDED", "PENDING"};

    private final Stats stats;
    private ProcessorContext<Object, Object> ctx;
    private KeyValueStore<String, SellerState> store;
    /** seller key -> categories whose rows may have changed (not the "*" rows: always). */
    private final Map<String, Set<String>> dirty = new LinkedHashMap<>();
    /** Row key -> content last written (without as_of); rebuilt by writing again after a restart. */
    private final Map<String, String> written = new HashMap<>();
    private long lastDay = Long.MIN_VALUE;

    SellerStage(Stats stats) {
        this.stats = stats;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        ctx = context;
        store = context.getStateStore(Topo.SELLERS_STORE);
        context.schedule(Duration.ofMillis(100), PunctuationType.WALL_CLOCK_TIME, t -> flush());
    }

    @Override
    public void process(Record<String, Msg> r) {
        stats.record();
        Msg m = r.value();
        SellerState s = store.get(r.key());
        if (s == null) {
            s = new SellerState();
            s.marketplace = m.marketplace;
            s.sellerId = m.sellerId;
        }
        Set<String> cats = dirty.computeIfAbsent(r.key(), k -> new LinkedHashSet<>());
        if (m.from_slot != null) {
            add(s, m.from_slot, -1);
            cats.add(m.from_slot.category);
        }
        if (m.to_slot != null) {
            add(s, m.to_slot, 1);
            cats.add(m.to_slot.category);
        }
        store.put(r.key(), s);
    }

    private static void add(SellerState s, Slot slot, int n) {
        TreeMap<Long, int[]> days = s.counts.computeIfAbsent(slot.category, k -> new TreeMap<>());
        int[] c = days.computeIfAbsent(slot.day, k -> new int[4]);
        c[index(slot.status)] += n;
        if (c[0] == 0 && c[1] == 0 && c[2] == 0 && c[3] == 0) {
            days.remove(slot.day);
            if (days.isEmpty()) s.counts.remove(slot.category);
        }
    }

    private static int index(String status) {
        switch (status) {
            case "VALID": return 0;
            case "INVALID": return 1;
            case "EXCLUDED": return 2;
            default: return 3;
        }
    }

    private void flush() {
        long st = ctx.currentStreamTimeMs();
        if (st <= 0) return;
        long asOf = st - OrderStage.LATENESS;
        long day = Math.floorDiv(asOf, OrderStage.DAY);
        if (day != lastDay) {
            // The windows slid: every seller's rows may change.
            lastDay = day;
            try (KeyValueIterator<String, SellerState> it = store.all()) {
                while (it.hasNext()) {
                    KeyValue<String, SellerState> kv = it.next();
                    Set<String> cats = dirty.computeIfAbsent(kv.key, k -> new LinkedHashSet<>());
                    cats.addAll(kv.value.counts.keySet());
                }
            }
        }
        if (dirty.isEmpty()) return;
        for (Map.Entry<String, Set<String>> e : dirty.entrySet()) {
            SellerState s = store.get(e.getKey());
            if (s == null) continue;
            for (String cat : e.getValue()) rows(e.getKey(), s, cat, day, asOf);
            rows(e.getKey(), s, "*", day, asOf);
        }
        dirty.clear();
    }

    private void rows(String sellerKey, SellerState s, String cat, long day, long asOf) {
        for (int w : WINDOWS) {
            long first = day - w + 1;
            int[] sum = new int[4];
            if (cat.equals("*")) {
                for (TreeMap<Long, int[]> days : s.counts.values()) addRange(days, first, day, sum);
            } else {
                TreeMap<Long, int[]> days = s.counts.get(cat);
                if (days != null) addRange(days, first, day, sum);
            }
            String key = sellerKey + "/" + cat + "/" + w;
            boolean empty = sum[0] == 0 && sum[1] == 0 && sum[2] == 0 && sum[3] == 0;
            String content = empty ? null : w + ":" + first + ":" + sum[0] + ":" + sum[1] + ":" + sum[2] + ":" + sum[3];
            String before = written.get(key);
            if (content == null) {
                if (before == null) continue;
                written.remove(key);
                ctx.forward(new Record<Object, Object>(key, null, asOf), Topo.SELLER_VTR);
                stats.sellerRows.increment();
                continue;
            }
            if (content.equals(before)) continue;
            written.put(key, content);
            int decided = sum[0] + sum[1];
            Double vtr = decided == 0 ? null : (double) sum[0] / decided;
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("marketplace", s.marketplace);
            row.put("seller_id", s.sellerId);
            row.put("category", cat);
            row.put("window_days", w);
            row.put("as_of", OrderStage.time(asOf));
            row.put("window_start", LocalDate.ofEpochDay(first).toString());
            row.put("window_end", LocalDate.ofEpochDay(day).toString());
            for (int i = 0; i < 4; i++) row.put(STATUSES[i].toLowerCase(), sum[i]);
            row.put("vtr", vtr);
            row.put("threshold", THRESHOLD);
            row.put("at_risk", vtr != null && vtr < THRESHOLD);
            try {
                ctx.forward(new Record<Object, Object>(key, JsonSerde.MAPPER.writeValueAsString(row), asOf), Topo.SELLER_VTR);
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            stats.sellerRows.increment();
        }
    }

    private static void addRange(TreeMap<Long, int[]> days, long first, long last, int[] sum) {
        for (int[] c : days.subMap(first, true, last, true).values()) {
            for (int i = 0; i < 4; i++) sum[i] += c[i];
        }
    }
}
