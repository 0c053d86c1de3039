package dev.vtrack.kstreams;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Internal records (the three repartition topics) and the state kept in the stores. All of
 * them travel as JSON through {@link JsonSerde}; nulls and defaults are left out.
 */
public final class Model {
    private Model() {}

    /**
     * One record of an internal topic. {@code type} says which fields are set:
     * order-events: CONFIRM, CANCEL (from ingest), FACTS (from the tracking stage);
     * tracking-events: SCAN (from ingest), SUB, UNSUB (from the order stage);
     * seller-events: DELTA (from the order stage).
     */
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    public static final class Msg {
        public String type;
        // CONFIRM / CANCEL
        public String eventId;
        public String sellerId;
        public String orderId;
        public String packageId;
        public String marketplace;
        public String category;
        public String carrier;
        public String trackingId;
        public String shipMethod;
        public Long valueCents;
        public long at; // confirmed_at / scanned_at
        public Long promisedAt;
        // SCAN
        public int carrierId; // resolved reporting carrier, -1 = unknown
        public boolean physical;
        public boolean delivered;
        // SUB / UNSUB / FACTS
        public String pkg; // package id within the order (SUB: order key + "\u0000" + package id)
        public String order; // order key, where FACTS go back to
        public long seq;
        public long t;
        public long from;
        public long to;
        public long accepted; // carrier mask whose scans count
        public Long firstScanAt;
        public Long deliveredAt;
        public Long deliveredBefore;
        public boolean other;
        // DELTA: a package moves from one slot to another (either may be null)
        public Slot from_slot;
        public Slot to_slot;
    }

    /** Where a package counts in its seller's numbers. */
    public static final class Slot {
        public String marketplace;
        public String category;
        public long day; // metric day (UTC epoch day)
        public String status;

        public Slot() {}

        public Slot(String category, long day, String status) {
            this.category = category;
            this.day = day;
            this.status = status;
        }

        boolean same(Slot o) {
            return o != null && day == o.day && category.equals(o.category) && status.equals(o.status);
        }
    }

    /** Order stage: one order's packages and its cancellation. */
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    public static final class OrderState {
        public boolean cancelled;
        public Map<String, Pkg> pkgs = new TreeMap<>();
    }

    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    public static final class Pkg {
        // current confirmation
        public String eventId;
        public String marketplace;
        public String category;
        public String carrier;
        public String trackingId;
        public String shipMethod;
        public Long valueCents;
        public long t;
        public Long promisedAt;
        // subscription
        public long seq;
        public String subTracking;
        public long answered = -1;
        public Long firstScanAt;
        public Long deliveredAt;
        public Long deliveredBefore;
        public boolean other;
        // last written
        public int revision;
        public long fingerprint;
        public boolean lateSent;
        public Slot slot;
    }

    /** Tracking stage: one normalised tracking ID's scans and subscribers. */
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    public static final class TrackingState {
        public List<CarrierScans> carriers = new ArrayList<>();
        public List<Sub> subs = new ArrayList<>();
    }

    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    public static final class CarrierScans {
        public int carrier;
        public long[] physical = new long[0]; // sorted, de-duplicated
        public long[] delivered = new long[0];
    }

    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    public static final class Sub {
        public String order;
        public String pkg;
        public long seq;
        public long t;
        public long from;
        public long to;
        public long accepted;
        public Long firstScanAt;
        public Long deliveredAt;
        public Long deliveredBefore;
        public boolean other;
    }

    /** Seller stage: counts per category, metric day and status. */
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    public static final class SellerState {
        public String marketplace;
        public String sellerId;
        /** category -> metric day -> [valid, invalid, excluded, pending]. */
        public Map<String, TreeMap<Long, int[]>> counts = new TreeMap<>();
    }
}
