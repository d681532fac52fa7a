package org.ringwarden.daemon.server;

import java.util.HashMap;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * Bounds open connections in total and per uid, so that one user cannot take every slot.
 * Thread-safe; every successful {@link #tryOpen} must be paired with one {@link #close}.
 */
final class ConnectionLimiter {
    private final int total;
    private final int perUid;
    private final Map<Integer, Integer> byUid = new HashMap<>();
    private int open;

    ConnectionLimiter(int total, int perUid) {
        this.total = total;
        this.perUid = perUid;
    }

    /** Takes a slot for {@code uid}, or returns why not (null on success). */
    synchronized @Nullable String tryOpen(int uid) {
        if (open >= total) {
            return "the daemon has " + open + " connections, its limit";
        }
        int mine = byUid.getOrDefault(uid, 0);
        if (mine >= perUid) {
            return "uid " + uid + " has " + mine + " connections, the per-user limit";
        }
        byUid.put(uid, mine + 1);
        open++;
        return null;
    }

    synchronized void close(int uid) {
        Integer mine = byUid.get(uid);
        if (mine == null) {
            throw new IllegalStateException("closing a connection slot uid " + uid + " never opened");
        }
        if (mine == 1) {
            byUid.remove(uid);
        } else {
            byUid.put(uid, mine - 1);
        }
        open--;
    }

    synchronized int open() {
        return open;
    }
}
