package dev.vtrack.kstreams;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** Counters for the progress line, shared by every stream thread. */
public final class Stats {
    final long startedNanos = System.nanoTime();
    final LongAdder inputEvents = new LongAdder();
    final LongAdder records = new LongAdder();
    final LongAdder deadLetters = new LongAdder();
    final LongAdder verdicts = new LongAdder();
    final LongAdder sellerRows = new LongAdder();
    /** Milliseconds from start to the last record handled (updated every 256 records, as vtrack does). */
    final AtomicLong lastRecordMs = new AtomicLong();
    private final ThreadLocal<long[]> local = ThreadLocal.withInitial(() -> new long[1]);

    void input() {
        inputEvents.increment();
        record();
    }

    void record() {
        records.increment();
        long[] n = local.get();
        if ((++n[0] & 255) == 0) touch();
    }

    /** Marks now as the time of the last record handled. */
    void touch() {
        lastRecordMs.accumulateAndGet((System.nanoTime() - startedNanos) / 1_000_000, Math::max);
    }

    void deadLetter() {
        deadLetters.increment();
    }

    String line() {
        return "input_events: " + inputEvents.sum() + " records: " + records.sum() + " dead_letters: " + deadLetters.sum()
                + " verdicts: " + verdicts.sum() + " seller_rows: " + sellerRows.sum()
                + " last_record_ms: " + lastRecordMs.get();
    }
}
