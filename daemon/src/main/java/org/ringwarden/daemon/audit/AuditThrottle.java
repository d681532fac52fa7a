package org.ringwarden.daemon.audit;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

import org.ringwarden.protocol.ErrorCode;

import org.jspecify.annotations.Nullable;

/**
 * Rate-limits records that one process can repeat at will, and counts what it leaves out: per
 * key (pid, event, code), the first {@link #PER_WINDOW} records of a one-second window pass;
 * the rest are counted, and when the window ends one summary record says how many
 * ({@link AuditRecord#more()}, detail "N more like this in the last second"), carrying the
 * fields of the last one left out. A window opens with its key's first record and ends one
 * second later; the key's next record opens the next.
 *
 * <p>Memory is bounded whatever the peers do (a hostile user can vary its pids): at most
 * {@link #MAX_KEYS} keys have open windows; a record of a new key while that many are open
 * shares one more window, "other processes", with the same limit. Windows are kept oldest
 * first, so ending them costs nothing per record.
 *
 * <p>Time comes from the {@link LongSupplier} of nanoseconds given ({@code System::nanoTime}
 * in the daemon), so that a test moves it explicitly. Thread-safe; it never blocks beyond
 * its own lock, and callers write what it returns after it has returned.
 */
final class AuditThrottle {
    /** Records of one key that pass per window. */
    static final int PER_WINDOW = 5;
    /** The window: one second. */
    static final long WINDOW_NANOS = 1_000_000_000L;
    /** Keys with an open window, at most (about 200 bytes each). */
    static final int MAX_KEYS = 4096;

    private record Key(int pid, String event, @Nullable ErrorCode code) {
    }

    /** The key of records whose own key found no room. */
    private static final Key OTHERS = new Key(-1, "", null);

    private static final class Window {
        final long start;
        int passed;
        /** How many records were left out, and the last of them. */
        long left;
        @Nullable AuditRecord last;

        Window(long start) {
            this.start = start;
        }
    }

    private final LongSupplier nanos;
    private final int perWindow;
    private final int maxKeys;
    /** The open windows in the order they opened (a key whose window ends is removed, then added again). */
    private final LinkedHashMap<Key, Window> windows = new LinkedHashMap<>();

    AuditThrottle(LongSupplier nanos) {
        this(nanos, PER_WINDOW, MAX_KEYS);
    }

    AuditThrottle(LongSupplier nanos, int perWindow, int maxKeys) {
        this.nanos = requireNonNull(nanos, "nanos");
        if (perWindow < 1 || maxKeys < 1) {
            throw new IllegalArgumentException("perWindow and maxKeys must be positive");
        }
        this.perWindow = perWindow;
        this.maxKeys = maxKeys;
    }

    /**
     * What to write for {@code r}, in order: the summaries of windows that have ended, then
     * {@code r} unless its window has had its share (then it is counted, for the summary). A
     * summary given here ({@code more} > 0) counts as the records it stands for.
     */
    synchronized List<AuditRecord> admit(AuditRecord r) {
        long now = nanos.getAsLong();
        List<AuditRecord> out = endWindows(now, false);
        Key key = new Key(r.pid(), r.event(), r.code());
        Window w = windows.get(key);
        if (w == null && windows.size() >= maxKeys) {
            key = OTHERS;
            w = windows.get(OTHERS);
        }
        if (w == null) {
            w = new Window(now);
            windows.put(key, w);
        }
        if (w.passed < perWindow) {
            w.passed++;
            if (out.isEmpty()) {
                return List.of(r);
            }
            out.add(r);
        } else {
            w.left += r.more() > 0 ? r.more() : 1;
            w.last = r;
        }
        return out;
    }

    /** The summaries of the windows that have ended; those windows are closed. */
    synchronized List<AuditRecord> due() {
        return endWindows(nanos.getAsLong(), false);
    }

    /** The summaries of every window, ended or not (when the daemon stops); all windows are closed. */
    synchronized List<AuditRecord> drain() {
        return endWindows(0, true);
    }

    private List<AuditRecord> endWindows(long now, boolean all) {
        List<AuditRecord> out = new ArrayList<>(2);
        for (Iterator<Map.Entry<Key, Window>> i = windows.entrySet().iterator(); i.hasNext(); ) {
            var e = i.next();
            Window w = e.getValue();
            if (!all && now - w.start < WINDOW_NANOS) {
                break; // the others opened later
            }
            i.remove();
            if (w.left > 0) {
                out.add(summary(e.getKey() == OTHERS, w));
            }
        }
        return out;
    }

    private static AuditRecord summary(boolean others, Window w) {
        AuditRecord l = requireNonNull(w.last, "a window that left records out holds the last of them");
        String what = others ? " more refusals by other processes (too many to count one by one)" : " more like this";
        return new AuditRecord(l.time(), l.event(), l.pid(), l.uid(), l.gid(), l.exe(), l.policy(), l.lease(),
                l.outcome(), l.code(), w.left + what + " in the last second; the last: " + l.detail(), w.left);
    }
}
