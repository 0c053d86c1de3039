package dev.vtrack.kstreams;

import dev.vtrack.kstreams.Model.Msg;
import dev.vtrack.kstreams.Model.OrderState;
import dev.vtrack.kstreams.Model.Pkg;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The order stage (key seller/order): each package's current confirmation, the order's
 * cancellation, the package's subscription to its tracking ID and the facts answered, the
 * verdict (the only place it is decided), seller deltas and late confirmations. Windows close
 * and NO_SCAN_YET appears on stream-time timers kept in a second store.
 */
public final class OrderStage implements Processor<String, Msg, Object, Object> {
    static final long HOUR = 3600_000L;
    static final long DAY = 24 * HOUR;
    static final long LOOKBACK = 7 * DAY;
    static final long HORIZON = 14 * DAY;
    static final long LATENESS = 6 * HOUR;
    static final long NO_SCAN_WARNING = 48 * HOUR;

    private final Carriers carriers;
    private final Stats stats;
    private final int usps;
    private ProcessorContext<Object, Object> ctx;
    private KeyValueStore<String, OrderState> orders;
    private KeyValueStore<String, String> timers;
    /** The earliest timer not yet due, once a scan of the timers has told it (skips empty scans). */
    private long nextDue = Long.MIN_VALUE;

    OrderStage(Carriers carriers, Stats stats) {
        this.carriers = carriers;
        this.stats = stats;
        this.usps = carriers.resolve("USPS");
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        ctx = context;
        orders = context.getStateStore(Topo.ORDERS_STORE);
        timers = context.getStateStore(Topo.TIMERS_STORE);
        context.schedule(Duration.ofMinutes(10), PunctuationType.STREAM_TIME, this::onTime);
    }

    private long watermark() {
        long st = ctx.currentStreamTimeMs();
        return st == Long.MIN_VALUE || st < 0 ? Long.MIN_VALUE : st - LATENESS;
    }

    @Override
    public void process(Record<String, Msg> r) {
        stats.record();
        String key = r.key();
        Msg m = r.value();
        OrderState o = orders.get(key);
        long wm = watermark();
        switch (m.type) {
            case "CONFIRM": {
                if (o == null) o = new OrderState();
                Pkg p = o.pkgs.get(m.packageId);
                if (p != null && (m.at < p.t || m.at == p.t && m.eventId.compareTo(p.eventId) <= 0)) return;
                if (p == null) {
                    p = new Pkg();
                    o.pkgs.put(m.packageId, p);
                }
                confirm(key, m, p, r.timestamp());
                decideAndEmit(key, m.packageId, o, p, wm, r.timestamp());
                break;
            }
            case "CANCEL": {
                if (o == null) o = new OrderState();
                if (o.cancelled) return;
                o.cancelled = true;
                for (Map.Entry<String, Pkg> e : o.pkgs.entrySet()) {
                    decideAndEmit(key, e.getKey(), o, e.getValue(), wm, r.timestamp());
                }
                break;
            }
            case "FACTS": {
                if (o == null) return;
                Pkg p = o.pkgs.get(m.pkg);
                if (p == null || p.seq != m.seq) return; // stale answer for an old subscription
                p.answered = m.seq;
                p.firstScanAt = m.firstScanAt;
                p.deliveredAt = m.deliveredAt;
                p.deliveredBefore = m.deliveredBefore;
                p.other = m.other;
                decideAndEmit(key, m.pkg, o, p, wm, r.timestamp());
                break;
            }
            default:
                return;
        }
        orders.put(key, o);
    }

    /** A new current confirmation: unsubscribe the old tracking ID, subscribe the new one, set timers. */
    private void confirm(String key, Msg m, Pkg p, long ts) {
        if (p.subTracking != null) {
            Msg u = new Msg();
            u.type = "UNSUB";
            u.order = key;
            u.pkg = m.packageId;
            u.seq = p.seq;
            ctx.forward(new Record<Object, Object>(p.subTracking, u, ts), Topo.TRACKING_EVENTS_FROM_ORDERS);
        }
        p.eventId = m.eventId;
        p.marketplace = m.marketplace;
        p.category = m.category;
        p.carrier = m.carrier;
        p.trackingId = m.trackingId;
        p.shipMethod = m.shipMethod;
        p.valueCents = m.valueCents;
        p.t = m.at;
        p.promisedAt = m.promisedAt;
        p.seq++;
        p.firstScanAt = null;
        p.deliveredAt = null;
        p.deliveredBefore = null;
        p.other = false;
        p.subTracking = null;
        String norm = Ingest.normalize(m.trackingId);
        int cid = carriers.resolve(m.carrier);
        if (norm != null && !norm.isEmpty() && carriers.isIntegrated(cid)) {
            Msg s = new Msg();
            s.type = "SUB";
            s.order = key;
            s.pkg = m.packageId;
            s.seq = p.seq;
            s.t = p.t;
            s.from = p.t - LOOKBACK;
            s.to = p.t + HORIZON;
            s.accepted = carriers.acceptedMask(cid);
            p.subTracking = norm;
            ctx.forward(new Record<Object, Object>(norm, s, ts), Topo.TRACKING_EVENTS_FROM_ORDERS);
        }
        timers.put(timerKey(p.t + NO_SCAN_WARNING, key), "");
        timers.put(timerKey(p.t + HORIZON, key), "");
        if (nextDue != Long.MIN_VALUE) nextDue = Math.min(nextDue, p.t + NO_SCAN_WARNING);
    }

    /** 16 zero-padded digits of the time, '|', the order key: sorted by time. */
    static String timerKey(long at, String order) {
        String digits = Long.toString(Math.max(0, at));
        StringBuilder b = new StringBuilder(17 + order.length());
        for (int i = digits.length(); i < 16; i++) b.append('0');
        return b.append(digits).append('|').append(order).toString();
    }

    /** Stream time moved: re-decide the orders whose timers are due (windows close, warnings). */
    private void onTime(long streamTime) {
        long wm = streamTime - LATENESS;
        if (wm < 0 || nextDue != Long.MIN_VALUE && wm < nextDue) return;
        List<String> due = new ArrayList<>();
        Set<String> dueOrders = new LinkedHashSet<>();
        nextDue = Long.MAX_VALUE;
        try (KeyValueIterator<String, String> it = timers.all()) {
            while (it.hasNext()) {
                KeyValue<String, String> kv = it.next();
                long at = Long.parseLong(kv.key.substring(0, 16));
                if (at > wm) {
                    nextDue = at;
                    break;
                }
                due.add(kv.key);
                dueOrders.add(kv.key.substring(17));
            }
        }
        for (String k : due) timers.delete(k);
        for (String key : dueOrders) {
            OrderState o = orders.get(key);
            if (o == null) continue;
            for (Map.Entry<String, Pkg> e : o.pkgs.entrySet()) {
                decideAndEmit(key, e.getKey(), o, e.getValue(), wm, streamTime);
            }
            orders.put(key, o);
        }
    }

    // ---- the verdict (contract section 4, see bench/kstreams/README.md for the subset) ----------

    private void decideAndEmit(String orderKey, String pkgId, OrderState o, Pkg p, long wm, long ts) {
        int cid = carriers.resolve(p.carrier);
        String norm = Ingest.normalize(p.trackingId);
        Carriers.Match fm = norm == null || norm.isEmpty() ? new Carriers.Match() : carriers.analyze(norm);
        boolean closed = wm != Long.MIN_VALUE && wm >= p.t + HORIZON;
        List<String> reasons = new ArrayList<>(2);
        List<String> warnings = new ArrayList<>(1);
        String status;
        boolean joined = false;
        if (o.cancelled) {
            status = "EXCLUDED";
            reasons.add("CANCELLED");
        } else if (p.shipMethod.equals("DIGITAL")) {
            status = "EXCLUDED";
            reasons.add("DIGITAL");
        } else if (p.shipMethod.equals("LETTER") && cid == usps && p.valueCents != null && p.valueCents < 1000) {
            status = "EXCLUDED";
            reasons.add("SMALL_ENVELOPE");
        } else if (p.shipMethod.equals("FREIGHT") && !carriers.isIntegrated(cid)) {
            status = "EXCLUDED";
            reasons.add("FREIGHT_NON_INTEGRATED");
        } else if (norm != null && norm.isEmpty()) {
            status = "INVALID";
            reasons.add("MISSING_TRACKING");
        } else if (norm == null) {
            status = "INVALID";
            reasons.add("INVALID_CHARACTERS");
        } else if (!carriers.isIntegrated(cid)) {
            status = "INVALID";
            reasons.add("UNSUPPORTED_CARRIER");
        } else {
            joined = true;
            boolean answered = p.answered == p.seq;
            if (p.deliveredBefore != null) reasons.add("CONFIRMED_AFTER_DELIVERY");
            if (p.promisedAt != null && p.t > p.promisedAt) reasons.add("CONFIRMED_AFTER_DELIVERY_DATE");
            if (p.firstScanAt == null) {
                if (p.other || carriers.formatMismatch(cid, fm)) reasons.add("CARRIER_MISMATCH");
                else if (closed && answered) reasons.add("NO_CARRIER_SCAN");
            }
            if (!reasons.isEmpty()) status = "INVALID";
            else if (p.firstScanAt != null) status = "VALID";
            else status = "PENDING";
            if (status.equals("PENDING") && wm != Long.MIN_VALUE && wm >= p.t + NO_SCAN_WARNING) warnings.add("NO_SCAN_YET");
            closed = closed && answered;
        }
        int slash = orderKey.indexOf('/');
        String seller = orderKey.substring(0, slash);
        String order = orderKey.substring(slash + 1);
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("seller_id", seller);
        rec.put("order_id", order);
        rec.put("package_id", pkgId);
        rec.put("marketplace", p.marketplace);
        rec.put("category", p.category);
        rec.put("carrier_entered", p.carrier);
        rec.put("carrier", cid < 0 ? null : carriers.codes.get(cid));
        rec.put("tracking_id", p.trackingId);
        rec.put("tracking_normalized", norm == null || norm.isEmpty() ? null : norm);
        rec.put("status", status);
        rec.put("has_valid_tracking", status.equals("VALID"));
        rec.put("reasons", reasons);
        rec.put("detected_carriers", carriers.detected(fm));
        rec.put("confirmed_at", time(p.t));
        rec.put("promised_delivery_at", time(p.promisedAt));
        rec.put("first_scan_at", joined ? time(p.firstScanAt) : null);
        rec.put("delivered_at", joined ? time(p.deliveredAt) : null);
        rec.put("final", closed);
        rec.put("warnings", warnings);
        rec.put("explanation", explain(status, reasons, warnings, cid));
        String body;
        try {
            body = JsonSerde.MAPPER.writeValueAsString(rec);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long fp = fnv(body);
        String pkgKey = orderKey + "/" + pkgId;
        if (fp != p.fingerprint) {
            p.fingerprint = fp;
            p.revision++;
            String out = body.substring(0, body.length() - 1) + ",\"revision\":" + p.revision + "}";
            ctx.forward(new Record<Object, Object>(pkgKey, out, ts), Topo.VERDICTS);
            stats.verdicts.increment();
        }
        if (!p.lateSent && joined && (reasons.contains("CONFIRMED_AFTER_DELIVERY") || reasons.contains("CONFIRMED_AFTER_DELIVERY_DATE"))) {
            p.lateSent = true;
            boolean afterDelivery = reasons.get(0).equals("CONFIRMED_AFTER_DELIVERY");
            long from = afterDelivery ? p.deliveredBefore : p.promisedAt;
            Map<String, Object> late = new LinkedHashMap<>();
            late.put("seller_id", seller);
            late.put("order_id", order);
            late.put("package_id", pkgId);
            late.put("carrier", p.carrier);
            late.put("tracking_id", p.trackingId);
            late.put("confirmed_at", time(p.t));
            late.put("delivered_at", time(p.deliveredBefore));
            late.put("promised_delivery_at", time(p.promisedAt));
            late.put("late_by", (p.t - from) / 1000);
            late.put("reason", reasons.get(0));
            try {
                ctx.forward(new Record<Object, Object>(pkgKey, JsonSerde.MAPPER.writeValueAsString(late), ts), Topo.LATE_CONFIRMATIONS);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        long day = Math.floorDiv(p.promisedAt != null ? p.promisedAt : p.t, DAY);
        Slot slot = new Slot(p.category, day, status);
        slot.marketplace = p.marketplace;
        if (!slot.same(p.slot)) {
            Slot old = p.slot;
            if (old != null && !old.marketplace.equals(slot.marketplace)) {
                delta(old.marketplace, seller, old, null, ts);
                delta(slot.marketplace, seller, null, slot, ts);
            } else {
                delta(slot.marketplace, seller, old, slot, ts);
            }
            p.slot = slot;
        }
    }

    private void delta(String marketplace, String seller, Slot from, Slot to, long ts) {
        Msg d = new Msg();
        d.type = "DELTA";
        d.marketplace = marketplace;
        d.sellerId = seller;
        d.from_slot = from;
        d.to_slot = to;
        ctx.forward(new Record<Object, Object>(marketplace + "/" + seller, d, ts), Topo.SELLER_EVENTS);
    }

    private String explain(String status, List<String> reasons, List<String> warnings, int cid) {
        String name = cid < 0 ? "the carrier entered" : carriers.displayName(cid);
        if (!reasons.isEmpty()) {
            switch (reasons.get(0)) {
                case "CANCELLED": return "The order was cancelled, so this package does not count toward your Valid Tracking Rate.";
                case "DIGITAL": return "Digital products are not shipped, so this package does not count toward your Valid Tracking Rate.";
                case "SMALL_ENVELOPE": return "Small USPS envelopes under $10 are exempt, so this package does not count toward your Valid Tracking Rate.";
                case "FREIGHT_NON_INTEGRATED": return "Freight with a carrier the marketplace is not integrated with is exempt from the Valid Tracking Rate.";
                case "MISSING_TRACKING": return "No tracking ID was entered for this package.";
                case "INVALID_CHARACTERS": return "The tracking ID contains characters that are not letters or digits.";
                case "UNSUPPORTED_CARRIER": return "The carrier entered is not one the marketplace is integrated with.";
                case "CONFIRMED_AFTER_DELIVERY": return "The tracking was confirmed after " + name + " had already delivered the package.";
                case "CONFIRMED_AFTER_DELIVERY_DATE": return "The tracking was confirmed after the promised delivery date.";
                case "CARRIER_MISMATCH": return "The tracking ID does not belong to " + name + ": check the carrier entered.";
                case "NO_CARRIER_SCAN": return name + " never reported a scan for this tracking ID.";
                default: return reasons.get(0);
            }
        }
        switch (status) {
            case "VALID": return name + " scanned this package: its tracking is valid.";
            default:
                return warnings.isEmpty()
                        ? "Waiting for the first scan from " + name + "."
                        : "No scan from " + name + " yet, 48 hours after confirmation: check the tracking ID.";
        }
    }

    static String time(Long ms) {
        return ms == null ? null : Instant.ofEpochMilli(ms).toString();
    }

    static long fnv(String s) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < s.length(); i++) {
            h ^= s.charAt(i);
            h *= 0x100000001b3L;
        }
        return h;
    }
}
