package dev.vtrack.kstreams;

import dev.vtrack.kstreams.Model.CarrierScans;
import dev.vtrack.kstreams.Model.Msg;
import dev.vtrack.kstreams.Model.Sub;
import dev.vtrack.kstreams.Model.TrackingState;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

import java.util.Arrays;
import java.util.Objects;

/**
 * The tracking stage (key normalised tracking ID): per reporting carrier the sorted,
 * de-duplicated physical-scan and delivery times, and the subscribed packages with their
 * windows and accepted carriers. It answers every subscription at once (also with "no scans")
 * and again whenever a scan changes a subscriber's facts. The answers go back to order-events.
 */
public final class TrackingStage implements Processor<String, Msg, Object, Object> {
    private final Stats stats;
    private ProcessorContext<Object, Object> ctx;
    private KeyValueStore<String, TrackingState> store;

    TrackingStage(Stats stats) {
        this.stats = stats;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        ctx = context;
        store = context.getStateStore(Topo.TRACKING_STORE);
    }

    @Override
    public void process(Record<String, Msg> r) {
        stats.record();
        Msg m = r.value();
        if (m.type.equals("SCAN") && !m.physical) return; // only physical scans can count
        String key = r.key();
        TrackingState s = store.get(key);
        if (s == null) {
            if (m.type.equals("UNSUB")) return;
            s = new TrackingState();
        }
        switch (m.type) {
            case "SCAN": {
                if (!record(s, m.carrierId, m.at, m.delivered)) return; // duplicate: nothing changes
                for (Sub sub : s.subs) {
                    if (m.at < sub.from || m.at > sub.to) continue;
                    if (facts(s, sub)) answer(sub, r.timestamp());
                }
                break;
            }
            case "SUB": {
                s.subs.removeIf(x -> x.order.equals(m.order) && x.pkg.equals(m.pkg));
                Sub sub = new Sub();
                sub.order = m.order;
                sub.pkg = m.pkg;
                sub.seq = m.seq;
                sub.t = m.t;
                sub.from = m.from;
                sub.to = m.to;
                sub.accepted = m.accepted;
                facts(s, sub);
                s.subs.add(sub);
                answer(sub, r.timestamp());
                break;
            }
            case "UNSUB": {
                if (!s.subs.removeIf(x -> x.order.equals(m.order) && x.pkg.equals(m.pkg) && x.seq == m.seq)) return;
                break;
            }
            default:
                return;
        }
        if (s.subs.isEmpty() && s.carriers.isEmpty()) store.delete(key);
        else store.put(key, s);
    }

    /** Adds a scan time; false when it was already there. */
    private static boolean record(TrackingState s, int carrier, long at, boolean delivered) {
        CarrierScans c = null;
        for (CarrierScans x : s.carriers) {
            if (x.carrier == carrier) {
                c = x;
                break;
            }
        }
        if (c == null) {
            c = new CarrierScans();
            c.carrier = carrier;
            s.carriers.add(c);
        }
        long[] before = c.physical;
        c.physical = insert(c.physical, at);
        boolean changed = c.physical != before;
        if (delivered) {
            long[] d = c.delivered;
            c.delivered = insert(c.delivered, at);
            changed |= c.delivered != d;
        }
        return changed;
    }

    private static long[] insert(long[] a, long v) {
        int i = Arrays.binarySearch(a, v);
        if (i >= 0) return a;
        int at = -i - 1;
        long[] b = new long[a.length + 1];
        System.arraycopy(a, 0, b, 0, at);
        b[at] = v;
        System.arraycopy(a, at, b, at + 1, a.length - at);
        return b;
    }

    /** Recomputes a subscriber's facts from the scans in its window; true when they changed. */
    private static boolean facts(TrackingState s, Sub sub) {
        Long first = null, delivered = null, before = null;
        boolean other = false;
        for (CarrierScans c : s.carriers) {
            boolean counts = c.carrier >= 0 && (sub.accepted & (1L << c.carrier)) != 0;
            long p = firstIn(c.physical, sub.from, sub.to);
            if (p == Long.MAX_VALUE) continue;
            if (!counts) {
                other = true;
                continue;
            }
            if (first == null || p < first) first = p;
            long d = firstIn(c.delivered, sub.from, sub.to);
            if (d != Long.MAX_VALUE) {
                if (delivered == null || d < delivered) delivered = d;
                if (d < sub.t && (before == null || d < before)) before = d;
            }
        }
        boolean changed = !Objects.equals(first, sub.firstScanAt) || !Objects.equals(delivered, sub.deliveredAt)
                || !Objects.equals(before, sub.deliveredBefore) || other != sub.other;
        sub.firstScanAt = first;
        sub.deliveredAt = delivered;
        sub.deliveredBefore = before;
        sub.other = other;
        return changed;
    }

    /** The first time in [from, to] of a sorted array, or Long.MAX_VALUE. */
    private static long firstIn(long[] a, long from, long to) {
        int i = Arrays.binarySearch(a, from);
        if (i < 0) i = -i - 1;
        return i < a.length && a[i] <= to ? a[i] : Long.MAX_VALUE;
    }

    private void answer(Sub sub, long ts) {
        Msg f = new Msg();
        f.type = "FACTS";
        f.pkg = sub.pkg;
        f.seq = sub.seq;
        f.firstScanAt = sub.firstScanAt;
        f.deliveredAt = sub.deliveredAt;
        f.deliveredBefore = sub.deliveredBefore;
        f.other = sub.other;
        ctx.forward(new Record<Object, Object>(sub.order, f, ts), Topo.ORDER_EVENTS_FROM_TRACKING);
    }
}
