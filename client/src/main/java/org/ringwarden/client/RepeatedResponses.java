package org.ringwarden.client;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.util.Arrays;

import org.ringwarden.client.protocol.ProtocolCodec;
import org.ringwarden.client.protocol.ProtocolException;
import org.ringwarden.client.protocol.Response;

/**
 * Recognises a response that repeats the last one of its kind byte for byte except for the
 * values that change every time: a {@code grant}'s lease and ticket, a {@code released}'s lease.
 * A program acquiring rings under one policy gets the same grant again and again but for those
 * two values; decoding it in full (Jackson's parser, about 35 fields) was the largest part of a
 * client's own CPU per acquire with 32 client processes.
 *
 * <p>Exact by construction: a template is made only from a body that {@code ProtocolCodec}
 * decoded in full, by locating its lease and ticket values (each key must occur once), and only
 * once a probe proved those spans are the values: the body with other values written there
 * decodes, in full, to the same response with those values. A later body matches only if every
 * other byte is identical and the new values are plain (a lease of letters, digits, {@code -}
 * and {@code _}; a ticket of at most 19 decimal digits without a leading zero that fits a long).
 * Changing such a string's letters or such a number's digits changes nothing else about the
 * document, so the full decode would give the template's response with the new values; anything
 * else (another policy, other parameters, an escape, a negative or out-of-range ticket) does not
 * match and is decoded in full. {@code RepeatedResponsesTest} checks the answers against the full
 * decode.
 *
 * <p>Not thread-safe: one per {@link ControlChannel}.
 */
final class RepeatedResponses {
    private static final byte[] LEASE_KEY = "\"lease\":\"".getBytes(ISO_8859_1);
    private static final byte[] TICKET_KEY = "\"ticket\":".getBytes(ISO_8859_1);

    /** Grant templates kept: a program alternating between a few policies keeps one for each. */
    private static final int GRANTS = 4;

    private final Template[] grants = new Template[GRANTS];
    private int nextGrant;
    private final Template released = new Template();

    /** The response {@code body} decodes to, if it repeats a remembered grant or released; else null. */
    Response match(byte[] body) {
        for (Template t : grants) {
            if (t != null) {
                Response r = t.match(body);
                if (r != null) {
                    return r;
                }
            }
        }
        return released.match(body);
    }

    /** Learns from a response that was decoded in full. */
    void remember(byte[] body, Response decoded) {
        if (decoded instanceof Response.Grant g) {
            Template t = new Template();
            t.learn(body, g, g.lease(), Long.toString(g.ticket()));
            if (t.last != null) {
                grants[nextGrant] = t;
                nextGrant = (nextGrant + 1) % GRANTS;
            }
        } else if (decoded instanceof Response.Released r) {
            released.learn(body, r, r.lease(), null);
        }
    }

    /** One kind's last body, split around its lease value and (for grants) its ticket value. */
    private static final class Template {
        private byte[] last;
        private Response decoded;
        /** The lease value's bytes in {@link #last} (inside the quotes). */
        private int leaseStart;
        private int leaseEnd;
        /** The ticket's digits in {@link #last}, after the lease; -1 without a ticket. */
        private int ticketStart = -1;
        private int ticketEnd;

        void learn(byte[] body, Response r, String lease, String ticket) {
            last = null;
            if (!plainLease(lease)) {
                return;
            }
            int leaseAt = onlyOccurrence(body, LEASE_KEY);
            if (leaseAt < 0) {
                return;
            }
            int ls = leaseAt + LEASE_KEY.length;
            int le = ls + lease.length();
            if (!regionIs(body, ls, lease) || le >= body.length || body[le] != '"') {
                return;
            }
            int ts = -1;
            int te = 0;
            if (ticket != null) {
                int ticketAt = onlyOccurrence(body, TICKET_KEY);
                if (ticketAt < le) {
                    return; // absent, repeated, or before the lease: no template
                }
                ts = ticketAt + TICKET_KEY.length;
                te = ts + ticket.length();
                if (!regionIs(body, ts, ticket) || (te < body.length && isDigit(body[te]))) {
                    return;
                }
            }
            if (!probe(body, r, ls, le, ts, te)) {
                return;
            }
            last = body.clone();
            decoded = r;
            leaseStart = ls;
            leaseEnd = le;
            ticketStart = ts;
            ticketEnd = te;
        }

        /**
         * Proves the spans are the response's lease and ticket and nothing else: the body with
         * other values there must decode, in full, to this response with those values.
         */
        private static boolean probe(byte[] body, Response r, int ls, int le, int ts, int te) {
            byte[] probe = body.clone();
            for (int i = ls; i < le; i++) {
                probe[i] = (byte) (probe[i] == 'a' ? 'b' : 'a');
            }
            if (ts >= 0) {
                probe[te - 1] = (byte) (probe[te - 1] == '1' ? '2' : '1'); // the last digit: never a leading zero
            }
            Response expected;
            String lease = new String(probe, ls, le - ls, ISO_8859_1);
            if (r instanceof Response.Grant g) {
                long ticket = Long.parseLong(new String(probe, ts, te - ts, ISO_8859_1));
                expected = new Response.Grant(lease, g.policy(), ticket, g.fds(), g.ring(), g.files(), g.buffers(),
                        g.allowed());
            } else {
                expected = new Response.Released(lease);
            }
            try {
                return expected.equals(ProtocolCodec.decodeResponse(probe));
            } catch (ProtocolException | RuntimeException e) {
                return false;
            }
        }

        Response match(byte[] body) {
            byte[] t = last;
            if (t == null || body.length < leaseStart || !Arrays.equals(body, 0, leaseStart, t, 0, leaseStart)) {
                return null;
            }
            int i = leaseStart;
            while (i < body.length && leaseChar(body[i])) {
                i++;
            }
            int newLeaseEnd = i;
            if (newLeaseEnd == leaseStart) {
                return null;
            }
            long ticket = 0;
            int restAt; // where the bytes after the last variable value start in body
            int restOfLast; // and in last
            if (ticketStart < 0) {
                restAt = newLeaseEnd;
                restOfLast = leaseEnd;
            } else {
                int middle = ticketStart - leaseEnd;
                if (!regionEquals(body, newLeaseEnd, t, leaseEnd, middle)) {
                    return null;
                }
                int ds = newLeaseEnd + middle;
                int d = ds;
                while (d < body.length && isDigit(body[d])) {
                    d++;
                }
                int digits = d - ds;
                if (digits == 0 || digits > 19 || (body[ds] == '0' && digits > 1)) {
                    return null;
                }
                for (int k = ds; k < d; k++) {
                    ticket = ticket * 10 + (body[k] - '0');
                    if (ticket < 0) {
                        return null; // past Long.MAX_VALUE
                    }
                }
                restAt = d;
                restOfLast = ticketEnd;
            }
            int rest = t.length - restOfLast;
            if (body.length - restAt != rest || !regionEquals(body, restAt, t, restOfLast, rest)) {
                return null;
            }
            String lease = new String(body, leaseStart, newLeaseEnd - leaseStart, ISO_8859_1);
            if (decoded instanceof Response.Grant g) {
                return new Response.Grant(lease, g.policy(), ticket, g.fds(), g.ring(), g.files(), g.buffers(),
                        g.allowed());
            }
            return new Response.Released(lease);
        }
    }

    private static boolean plainLease(String lease) {
        if (lease.isEmpty()) {
            return false;
        }
        for (int i = 0; i < lease.length(); i++) {
            char c = lease.charAt(i);
            if (c > 0x7f || !leaseChar((byte) c)) {
                return false;
            }
        }
        return true;
    }

    private static boolean leaseChar(byte b) {
        return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '-' || b == '_';
    }

    private static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }

    /** The index of the only occurrence of {@code key} in {@code body}; -1 if none or several. */
    private static int onlyOccurrence(byte[] body, byte[] key) {
        int found = -1;
        for (int i = 0; i + key.length <= body.length; i++) {
            if (regionEquals(body, i, key, 0, key.length)) {
                if (found >= 0) {
                    return -1;
                }
                found = i;
            }
        }
        return found;
    }

    private static boolean regionIs(byte[] body, int at, String ascii) {
        if (at + ascii.length() > body.length) {
            return false;
        }
        for (int i = 0; i < ascii.length(); i++) {
            if (body[at + i] != (byte) ascii.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean regionEquals(byte[] a, int at, byte[] b, int bt, int n) {
        return at >= 0 && at + n <= a.length && bt + n <= b.length && Arrays.equals(a, at, at + n, b, bt, bt + n);
    }
}
