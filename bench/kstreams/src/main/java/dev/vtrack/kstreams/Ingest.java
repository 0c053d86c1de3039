package dev.vtrack.kstreams;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vtrack.kstreams.Model.Msg;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Set;

/**
 * The ingest step: decodes and validates one input (contract section 2), sends bad input to
 * the dead-letter topic with its source in headers, and repartitions the rest: confirmations
 * by seller/order into order-events, scans by normalised tracking ID into tracking-events.
 */
public final class Ingest {
    private Ingest() {}

    static final Set<String> SHIP_METHODS = Set.of("PARCEL", "LETTER", "FREIGHT", "DIGITAL");
    static final Set<String> SCAN_TYPES = Set.of("INFO_RECEIVED", "ACCEPTED", "IN_TRANSIT",
            "OUT_FOR_DELIVERY", "DELIVERY_ATTEMPTED", "AVAILABLE_FOR_PICKUP", "DELIVERED",
            "RETURNED_TO_SENDER", "EXCEPTION");
    static final long MAX_FUTURE_SKEW_MS = 24L * 3600 * 1000;

    static final class BadInput extends Exception {
        BadInput(String m) {
            super(m, null, false, false);
        }
    }

    /** Shared by both ingest processors: counts and dead letters. */
    abstract static class Base implements Processor<byte[], byte[], Object, Object> {
        ProcessorContext<Object, Object> ctx;
        final Stats stats;
        final String sourceTopic;
        final String deadLetterSink;

        Base(Stats stats, String sourceTopic, String deadLetterSink) {
            this.stats = stats;
            this.sourceTopic = sourceTopic;
            this.deadLetterSink = deadLetterSink;
        }

        @Override
        public void init(ProcessorContext<Object, Object> context) {
            this.ctx = context;
        }

        @Override
        public void process(Record<byte[], byte[]> r) {
            stats.input();
            try {
                if (r.value() == null) throw new BadInput("empty message");
                JsonNode n;
                try {
                    n = JsonSerde.MAPPER.readTree(r.value());
                } catch (Exception e) {
                    throw new BadInput("not JSON: " + e.getMessage());
                }
                if (n == null || !n.isObject()) throw new BadInput("not a JSON object");
                handle(n, r);
            } catch (BadInput e) {
                stats.deadLetter();
                RecordHeaders h = new RecordHeaders();
                h.add("vtrack.source.topic", sourceTopic.getBytes(StandardCharsets.UTF_8));
                ctx.recordMetadata().ifPresent(m -> {
                    h.add("vtrack.source.partition", Integer.toString(m.partition()).getBytes(StandardCharsets.UTF_8));
                    h.add("vtrack.source.offset", Long.toString(m.offset()).getBytes(StandardCharsets.UTF_8));
                });
                h.add("vtrack.error", e.getMessage().getBytes(StandardCharsets.UTF_8));
                ctx.forward(new Record<Object, Object>(r.key(), r.value(), r.timestamp(), h), deadLetterSink);
            }
        }

        abstract void handle(JsonNode n, Record<byte[], byte[]> r) throws BadInput;

        long eventTime(JsonNode n, String field) throws BadInput {
            long t = time(n, field, true);
            if (t > System.currentTimeMillis() + MAX_FUTURE_SKEW_MS) {
                throw new BadInput(field + " is more than 1 day ahead of the wall clock");
            }
            return t;
        }
    }

    static String str(JsonNode n, String f, boolean required) throws BadInput {
        JsonNode v = n.get(f);
        if (v == null || v.isNull()) {
            if (required) throw new BadInput("missing field " + f);
            return null;
        }
        if (!v.isTextual()) throw new BadInput(f + ": expected a string");
        return v.textValue();
    }

    static Long time(JsonNode n, String f, boolean required) throws BadInput {
        JsonNode v = n.get(f);
        if (v == null || v.isNull()) {
            if (required) throw new BadInput("missing field " + f);
            return null;
        }
        if (v.isIntegralNumber()) return v.longValue();
        if (!v.isTextual()) throw new BadInput(f + ": expected a timestamp");
        try {
            return OffsetDateTime.parse(v.textValue()).toInstant().toEpochMilli();
        } catch (DateTimeParseException e) {
            throw new BadInput(f + ": not an RFC 3339 time with an offset");
        }
    }

    /** Contract section 3: trimmed; blank -> ""; any char but ASCII letters/digits -> null. */
    static String normalize(String id) {
        if (id == null) return "";
        String s = id.strip();
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') b.append(c);
            else if (c >= 'a' && c <= 'z') b.append((char) (c - 32));
            else return null;
        }
        return b.toString();
    }

    /** shipment-confirmations -> order-events (key seller/order). */
    static final class Confirmations extends Base {
        Confirmations(Stats stats, String topic) {
            super(stats, topic, Topo.DEAD_LETTERS);
        }

        @Override
        void handle(JsonNode n, Record<byte[], byte[]> r) throws BadInput {
            Msg m = new Msg();
            m.eventId = str(n, "event_id", true);
            String action = str(n, "action", false);
            if (action == null) action = "CONFIRM";
            if (!action.equals("CONFIRM") && !action.equals("CANCEL")) throw new BadInput("action: unknown value " + action);
            m.type = action;
            m.sellerId = str(n, "seller_id", true);
            m.orderId = str(n, "order_id", true);
            String pkg = str(n, "package_id", false);
            m.packageId = pkg == null ? "" : pkg;
            String mk = str(n, "marketplace", false);
            m.marketplace = mk == null ? "US" : mk;
            String cat = str(n, "category", false);
            m.category = cat == null ? "UNCATEGORIZED" : cat;
            boolean confirm = action.equals("CONFIRM");
            m.carrier = str(n, "carrier", confirm);
            m.trackingId = str(n, "tracking_id", confirm);
            String sm = str(n, "ship_method", false);
            if (sm == null) sm = "PARCEL";
            if (!SHIP_METHODS.contains(sm)) throw new BadInput("ship_method: unknown value " + sm);
            m.shipMethod = sm;
            JsonNode v = n.get("package_value_cents");
            if (v != null && !v.isNull()) {
                if (!v.isIntegralNumber()) throw new BadInput("package_value_cents: expected an integer");
                m.valueCents = v.longValue();
            }
            m.at = eventTime(n, "confirmed_at");
            m.promisedAt = time(n, "promised_delivery_at", false);
            String key = m.sellerId + "/" + m.orderId;
            ctx.forward(new Record<Object, Object>(key, m, m.at), Topo.ORDER_EVENTS);
        }
    }

    /** carrier-scans -> tracking-events (key normalised tracking ID). */
    static final class Scans extends Base {
        private final Carriers carriers;

        Scans(Stats stats, String topic, Carriers carriers) {
            super(stats, topic, Topo.DEAD_LETTERS + "-scans");
            this.carriers = carriers;
        }

        @Override
        void handle(JsonNode n, Record<byte[], byte[]> r) throws BadInput {
            Msg m = new Msg();
            m.type = "SCAN";
            m.eventId = str(n, "event_id", true);
            String carrier = str(n, "carrier", true);
            String tid = str(n, "tracking_id", true);
            String st = str(n, "scan_type", true);
            if (!SCAN_TYPES.contains(st)) throw new BadInput("scan_type: unknown value " + st);
            m.at = eventTime(n, "scanned_at");
            String norm = normalize(tid);
            if (norm == null || norm.isEmpty()) throw new BadInput("tracking_id: blank or malformed");
            m.carrierId = carriers.resolve(carrier);
            m.physical = !st.equals("INFO_RECEIVED");
            m.delivered = st.equals("DELIVERED");
            ctx.forward(new Record<Object, Object>(norm, m, m.at), Topo.TRACKING_EVENTS);
        }
    }
}
