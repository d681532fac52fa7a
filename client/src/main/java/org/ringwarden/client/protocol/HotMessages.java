package org.ringwarden.client.protocol;

import static com.fasterxml.jackson.core.JsonToken.END_ARRAY;
import static com.fasterxml.jackson.core.JsonToken.START_ARRAY;
import static com.fasterxml.jackson.core.JsonToken.START_OBJECT;
import static com.fasterxml.jackson.core.JsonToken.VALUE_FALSE;
import static com.fasterxml.jackson.core.JsonToken.VALUE_NULL;
import static com.fasterxml.jackson.core.JsonToken.VALUE_NUMBER_INT;
import static com.fasterxml.jackson.core.JsonToken.VALUE_STRING;
import static com.fasterxml.jackson.core.JsonToken.VALUE_TRUE;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.core.io.NumberOutput;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;

import org.ringwarden.linux.uring.IoUringParams;

/**
 * Hand-written one-pass readers and writers, on Jackson's streaming API, for the messages of
 * the acquire path: requests {@code acquire} and {@code release}; responses {@code grant},
 * {@code released}, {@code error} and {@code send-fds}.
 *
 * <p>Why: a client spends its acquire cycle mostly in the codec when databind builds a tree,
 * walks it for nulls and binds it again through record creators; with many short-lived client
 * processes the code touched per message is what costs. These readers touch one parser pass
 * and the records' constructors. The client's two requests are not even given a generator:
 * {@code acquire} and {@code release} are constant bytes around the string as Jackson's
 * {@link JsonStringEncoder} escapes it and the number as its {@link NumberOutput} writes it
 * (the generator's bytes; a string with a UTF-16 surrogate, which the two write differently,
 * goes through the generator).
 *
 * <p>The contract is {@link ProtocolCodec}'s, result for result: for any input the reader
 * returns the same record or a {@link ProtocolException} with the same {@link ErrorCode} as the
 * databind path ({@code ProtocolCodecDifferentialTest} compares them). What that takes:
 * <ul>
 * <li>Fields come in any order, so {@code v} and the kind may come last. The reader reads every
 *     field of every hot kind by its name alone (no name has two types among the hot kinds of a
 *     direction) and checks which fields the kind allows once the kind is known.</li>
 * <li>The databind path parses the whole document before it looks at {@code v}, and checks
 *     {@code v} before anything else about the message: a syntax error anywhere is
 *     {@code BAD_REQUEST}; otherwise an integer {@code v} other than 1 is
 *     {@code UNSUPPORTED_VERSION} whatever else is wrong. So a refusal of a field's value is
 *     thrown at once only when {@code v} was already seen to be 1 and the kind to be hot;
 *     before that it is kept (the first one wins), the rest of the document is still read
 *     (and syntax errors in it still thrown), and the kept refusal is thrown at the end.</li>
 * <li>A kind that is not hot (or a kind field that is missing or not a string) makes the reader
 *     return {@code null}: the caller then decodes the body on the databind path, which gives
 *     the answer (including the refusal of an unknown kind).</li>
 * <li>Every scalar the reader skips is still read the way a tree would read it (numbers parsed,
 *     strings materialised), so that the stream limits apply the same way.</li>
 * <li>Duplicate names: the databind path's parser refuses them anywhere in the document (a
 *     syntax error, so {@code BAD_REQUEST} even with an unsupported version). Its per-object hash
 *     sets cost a cold client a good part of its codec time, so this path's parser has that check
 *     off and the reader does it: a bit per known name in each object it reads (the top level,
 *     {@code ring}, {@code sqOff}, {@code cqOff}, {@code allowed}, each file and buffer slot), a
 *     set for top-level names no hot kind of the direction has, thrown at the point and with the
 *     message of the parser's check. Names inside a value the reader skips (after a refusal,
 *     or a {@code v} that is not an integer) are not checked; a duplicate among them could only
 *     turn an unsupported version (every other outcome after a skip is {@code BAD_REQUEST}
 *     already) into {@code BAD_REQUEST}, so when the answer would be an unsupported version
 *     after such a skip the reader returns {@code null} and the databind path decides.</li>
 * </ul>
 */
final class HotMessages {
    private static final String NULL_REFUSED = "null is not a value in this protocol; leave an optional field out instead";

    // One bit per field name of the hot kinds (both directions; a name has one type in each).
    private static final int LEASE = 1;
    private static final int POLICY = 1 << 1;
    private static final int TICKET = 1 << 2;
    private static final int FDS = 1 << 3;
    private static final int RING = 1 << 4;
    private static final int FILES = 1 << 5;
    private static final int BUFFERS = 1 << 6;
    private static final int ALLOWED = 1 << 7;
    private static final int CODE = 1 << 8;
    private static final int MESSAGE = 1 << 9;
    private static final int COUNT = 1 << 10;
    private static final int CLIENT_FDS = 1 << 11;
    // and for the head, which every kind has: only for finding duplicates
    private static final int V_FIELD = 1 << 12;
    private static final int KIND_FIELD = 1 << 13;
    private static final String[] FIELD_NAMES = {"lease", "policy", "ticket", "fds", "ring", "files", "buffers",
        "allowed", "code", "message", "count", "clientFds"};

    /** The hot kinds with the fields each allows. */
    private enum Kind {
        ACQUIRE(POLICY | CLIENT_FDS),
        RELEASE(LEASE),
        GRANT(LEASE | POLICY | TICKET | FDS | RING | FILES | BUFFERS | ALLOWED),
        RELEASED(LEASE),
        ERROR(CODE | MESSAGE),
        SEND_FDS(COUNT);

        final int fields;

        Kind(int fields) {
            this.fields = fields;
        }

        static Kind request(String op) {
            return switch (op) {
                case "acquire" -> ACQUIRE;
                case "release" -> RELEASE;
                default -> null;
            };
        }

        static Kind response(String type) {
            return switch (type) {
                case "grant" -> GRANT;
                case "released" -> RELEASED;
                case "error" -> ERROR;
                case "send-fds" -> SEND_FDS;
                default -> null;
            };
        }
    }

    private static final ErrorCode[] CODES = ErrorCode.values();

    /**
     * The parsers and generators of this class: {@link ProtocolCodec}'s factory with the same
     * limits and features, less STRICT_DUPLICATE_DETECTION (the readers find duplicates
     * themselves, see {@code Reading.once}).
     */
    private static final JsonFactory FACTORY = ProtocolCodec.MAPPER.getFactory().rebuild()
            .disable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private HotMessages() {
    }

    // ---------------------------------------------------------------------------------- decoding

    /** The request, or {@code null} if {@code body} is not a hot kind (decode it on the databind path). */
    static Request decodeRequest(byte[] body) throws ProtocolException {
        return (Request) decode(body, false);
    }

    /** The response, or {@code null} if {@code body} is not a hot kind (decode it on the databind path). */
    static Response decodeResponse(byte[] body) throws ProtocolException {
        return (Response) decode(body, true);
    }

    private static Object decode(byte[] body, boolean response) throws ProtocolException {
        String what = response ? "response" : "request";
        try (JsonParser p = FACTORY.createParser(body)) {
            return new Reading(p, response).message();
        } catch (ProtocolException e) {
            throw e;
        } catch (JacksonException e) {
            // Only the parser throws these here: a syntax or limit error, which the databind path
            // meets while building its tree, before it looks at anything else.
            throw bad(ProtocolCodec.describe(e));
        } catch (IOException e) {
            throw bad("unreadable " + what + ": " + e.getMessage());
        } catch (RuntimeException | StackOverflowError e) {
            // The contract is "a message or a ProtocolException", as on the databind path.
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "malformed " + what + ": " + e, e);
        }
    }

    /** A field's value that the protocol refuses; caught inside {@link Reading}, never escapes. */
    private static final class Refusal extends Exception {
        Refusal(String message) {
            super(message, null, false, false);
        }
    }

    /** The state of one pass over one body. */
    private static final class Reading {
        private static final int END = -1;
        private static final int UNKNOWN = -2;
        // Field names in the order the records declare them (the order the encoders write); for
        // the top level, v and the kind come first, then the direction's fields with their bits.
        private static final SerializedString[] REQUEST_NAMES = names("v", "op", "policy", "clientFds", "lease");
        private static final int[] REQUEST_BITS = {V_FIELD, KIND_FIELD, POLICY, CLIENT_FDS, LEASE};
        private static final SerializedString[] RESPONSE_NAMES = names("v", "type", "lease", "policy", "ticket", "fds",
                "ring", "files", "buffers", "allowed", "code", "message", "count");
        private static final int[] RESPONSE_BITS = {V_FIELD, KIND_FIELD, LEASE, POLICY, TICKET, FDS, RING, FILES, BUFFERS,
            ALLOWED, CODE, MESSAGE, COUNT};
        private static final SerializedString[] RING_NAMES =
                names("sqEntries", "cqEntries", "setupFlags", "features", "enabled", "sqOff", "cqOff");
        private static final SerializedString[] SQ_OFF_NAMES =
                names("head", "tail", "ringMask", "ringEntries", "flags", "dropped", "array");
        private static final SerializedString[] CQ_OFF_NAMES =
                names("head", "tail", "ringMask", "ringEntries", "overflow", "cqes", "flags");
        /** The offsets' names as refusals name them. */
        private static final String[] SQ_OFF_LABELS = labels("ring.sqOff", SQ_OFF_NAMES);
        private static final String[] CQ_OFF_LABELS = labels("ring.cqOff", CQ_OFF_NAMES);
        private static final SerializedString[] FILE_NAMES = names("index", "name");
        private static final SerializedString[] BUFFER_NAMES = names("index", "name", "fd", "length", "address");
        private static final SerializedString[] ALLOWED_NAMES =
                names("sqeOps", "sqeFlagsAllowed", "sqeFlagsRequired", "registerOps");

        private static String[] labels(String where, SerializedString[] names) {
            String[] labels = new String[names.length];
            for (int i = 0; i < names.length; i++) {
                labels[i] = where + "." + names[i].getValue();
            }
            return labels;
        }

        private static SerializedString[] names(String... names) {
            SerializedString[] out = new SerializedString[names.length];
            for (int i = 0; i < names.length; i++) {
                out[i] = new SerializedString(names[i]);
            }
            return out;
        }

        private static final int V_MISSING = 0;
        private static final int V_ONE = 1;
        private static final int V_OTHER = 2;
        private static final int V_NOT_INTEGER = 3;

        private final JsonParser p;
        private final boolean response;

        private Kind kind;
        private int version = V_MISSING;
        private String versionText;
        private String kept;
        /** The top-level fields seen, as bits: the duplicate check of the top-level object. */
        private int present;
        /** The top-level names that no hot kind of this direction has, seen so far (rarely any). */
        private Set<String> unknownNames;
        /** Whether a skip read field names whose duplicates nobody checked (see {@link #skipRestOfValue}). */
        private boolean namesUnchecked;

        private String lease;
        private String policy;
        private long ticket;
        private int fds;
        private Response.Ring ring;
        private List<Response.FileSlot> files;
        private List<Response.BufferSlot> buffers;
        private Response.Allowed allowed;
        private ErrorCode code;
        private String message;
        private int count;
        private int clientFds;

        Reading(JsonParser p, boolean response) {
            this.p = p;
            this.response = response;
        }

        /** The message, or null when the body is not of a hot kind. */
        Object message() throws IOException, ProtocolException {
            if (p.nextToken() != START_OBJECT) {
                throw bad("a " + (response ? "response" : "request") + " must be one JSON object");
            }
            SerializedString[] names = response ? RESPONSE_NAMES : REQUEST_NAMES;
            int[] bits = response ? RESPONSE_BITS : REQUEST_BITS;
            for (int k, expect = 0; (k = nextField(names, expect)) != END; expect = k + 1) {
                if (k == UNKNOWN) {
                    unknownName(p.currentName());
                } else if ((present & bits[k]) != 0) {
                    throw duplicate();
                } else {
                    present |= bits[k];
                }
                JsonToken t = p.nextToken();
                if (k == 0) {
                    version(t);
                } else if (k == 1) {
                    kind = t == VALUE_STRING ? (response ? Kind.response(p.getText()) : Kind.request(p.getText())) : null;
                    if (kind == null) {
                        return null;
                    }
                } else {
                    try {
                        field(k, t);
                    } catch (Refusal r) {
                        refuse(r.getMessage());
                        skipRestOfValue();
                    } catch (IllegalArgumentException | NullPointerException e) {
                        // a nested record's constructor refused what it was given
                        refuse(ProtocolCodec.messageOf(e));
                        skipRestOfValue();
                    }
                }
            }
            if (p.nextToken() != null) {
                throw bad("a " + (response ? "response" : "request") + " must be one JSON object and nothing after it");
            }
            if (kind == null) {
                return null;
            }
            switch (version) {
                case V_MISSING -> throw bad("every message needs \"v\": " + ProtocolCodec.VERSION);
                case V_NOT_INTEGER -> throw bad("\"v\" must be an integer");
                case V_OTHER -> {
                    if (namesUnchecked) {
                        // a duplicate among the names skipped would make it BAD_REQUEST: let databind decide
                        return null;
                    }
                    throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION, "protocol version " + versionText
                            + " is not supported; this daemon speaks version " + ProtocolCodec.VERSION);
                }
                default -> {
                    // version 1
                }
            }
            if (kept != null) {
                throw bad(kept);
            }
            int foreign = present & ~(kind.fields | V_FIELD | KIND_FIELD);
            if (foreign != 0) {
                throw bad("unknown field \"" + FIELD_NAMES[Integer.numberOfTrailingZeros(foreign)] + "\"");
            }
            try {
                return build();
            } catch (IllegalArgumentException | NullPointerException e) {
                throw bad(ProtocolCodec.messageOf(e));
            }
        }

        private Object build() {
            return switch (kind) {
                case ACQUIRE -> new Request.Acquire(policy, clientFds);
                case RELEASE -> new Request.Release(lease);
                case GRANT -> new Response.Grant(lease, policy, ticket, fds, ring, files, buffers, allowed);
                case RELEASED -> new Response.Released(lease);
                case ERROR -> new Response.Error(code, message);
                case SEND_FDS -> new Response.SendFds(count);
            };
        }

        private void version(JsonToken t) throws IOException {
            if (t == VALUE_NUMBER_INT) {
                if (p.getNumberType() == JsonParser.NumberType.INT && p.getIntValue() == ProtocolCodec.VERSION) {
                    version = V_ONE;
                } else {
                    version = V_OTHER;
                    versionText = p.getNumberValue().toString();
                }
            } else {
                version = V_NOT_INTEGER;
                skipRestOfValue();
            }
        }

        /**
         * A refused value: thrown on when the answer can no longer be anything else; kept for the
         * end while {@code v} or the kind are unknown (an unsupported version wins over it, a
         * kind that is not hot hands the body to the databind path).
         */
        private void refuse(String why) throws ProtocolException {
            if (version == V_ONE && kind != null) {
                throw bad(why);
            }
            if (kept == null) {
                kept = why;
            }
        }

        /**
         * Reads on from wherever a refusal left the parser inside a top-level field's value to
         * that value's last token, reading each scalar as a tree would (so limits apply alike).
         * Field names read here are not checked for duplicates ({@link #namesUnchecked}).
         */
        private void skipRestOfValue() throws IOException {
            touch(p.currentToken());
            while (p.getParsingContext().getNestingDepth() > 1) {
                JsonToken t = p.nextToken();
                if (t == null) {
                    // the parser reports an unclosed object itself; this is only a guard
                    throw new IOException("a message must be one complete JSON object");
                }
                if (t == JsonToken.FIELD_NAME) {
                    namesUnchecked = true;
                }
                touch(t);
            }
        }

        private void touch(JsonToken t) throws IOException {
            if (t == null) {
                return;
            }
            switch (t) {
                case VALUE_STRING -> p.getText();
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getNumberValue();
                default -> {
                    // structure and literals carry nothing more to read
                }
            }
        }

        /** Reads the value of top-level field {@code k} (an index into the direction's names, or UNKNOWN). */
        private void field(int k, JsonToken t) throws IOException, Refusal {
            if (k == UNKNOWN) {
                throw unknown(p.currentName());
            }
            int bit = (response ? RESPONSE_BITS : REQUEST_BITS)[k];
            if (kind != null && (kind.fields & bit) == 0) {
                throw unknown(p.currentName());
            }
            switch (bit) {
                case LEASE -> lease = string(t, "lease");
                case POLICY -> policy = string(t, "policy");
                case TICKET -> ticket = longValue(t, "ticket");
                case FDS -> fds = intValue(t, "fds");
                case RING -> ring = ring(t);
                case FILES -> files = files(t);
                case BUFFERS -> buffers = buffers(t);
                case ALLOWED -> allowed = allowed(t);
                case CODE -> code = errorCode(t);
                case MESSAGE -> message = string(t, "message");
                case COUNT -> count = intValue(t, "count");
                case CLIENT_FDS -> clientFds = intValue(t, "clientFds");
                default -> throw new IllegalStateException("field bit " + bit);
            }
        }

        /**
         * Moves to the next field of the current object and says which of {@code names} it is:
         * its index, {@link #UNKNOWN} for another name ({@code p.currentName()}), or {@link #END}
         * at the object's end. Tries {@code names[expect]} first: peers write fields in the
         * order of {@code names}, and the parser then compares the name's bytes in place instead
         * of looking the name up in its symbol table. (The caller checks for duplicates.)
         */
        private int nextField(SerializedString[] names, int expect) throws IOException {
            if (expect >= 0 && expect < names.length) { // after an UNKNOWN (-2) expect is -1
                if (p.nextFieldName(names[expect])) {
                    return expect;
                }
            } else {
                p.nextToken();
            }
            if (p.currentToken() != JsonToken.FIELD_NAME) {
                return END;
            }
            String n = p.currentName();
            for (int i = 0; i < names.length; i++) {
                if (names[i].getValue().equals(n)) {
                    return i;
                }
            }
            return UNKNOWN;
        }

        /**
         * {@code seen} with the bit of name {@code k} of the current object added; a
         * {@link JsonParseException} if it was there already. The parser's
         * STRICT_DUPLICATE_DETECTION is off on this path (its per-object hash sets were a good
         * part of a client's codec time); this is the same check, with the same message, at the
         * same point (when the name is read, before its value), on the names the reader knows.
         * An unknown name ({@code k < 0}) ends the typed reading of its object.
         */
        private int once(int seen, int k) throws IOException {
            if (k < 0) {
                return seen;
            }
            int bit = 1 << k;
            if ((seen & bit) != 0) {
                throw duplicate();
            }
            return seen | bit;
        }

        /** The duplicate check for a top-level name that no hot kind of this direction has. */
        private void unknownName(String name) throws IOException {
            if (unknownNames == null) {
                unknownNames = new HashSet<>();
            }
            if (!unknownNames.add(name)) {
                throw duplicate();
            }
        }

        /** What the parser's duplicate detection throws, so that the message is the databind path's. */
        private JsonParseException duplicate() throws IOException {
            return new JsonParseException(p, "Duplicate field '" + p.currentName() + "'");
        }

        // --------------------------------------------------------------- nested values

        private Response.Ring ring(JsonToken t) throws IOException, Refusal {
            object(t, "ring");
            int sqEntries = 0;
            int cqEntries = 0;
            int setupFlags = 0;
            int features = 0;
            boolean enabled = false;
            IoUringParams.SqOffsets sqOff = null;
            IoUringParams.CqOffsets cqOff = null;
            for (int k, seen = 0, expect = 0; (k = nextField(RING_NAMES, expect)) != END; expect = k + 1) {
                seen = once(seen, k);
                JsonToken v = p.nextToken();
                switch (k) {
                    case 0 -> sqEntries = intValue(v, "ring.sqEntries");
                    case 1 -> cqEntries = intValue(v, "ring.cqEntries");
                    case 2 -> setupFlags = intValue(v, "ring.setupFlags");
                    case 3 -> features = intValue(v, "ring.features");
                    case 4 -> enabled = booleanValue(v, "ring.enabled");
                    case 5 -> sqOff = sqOff(v);
                    case 6 -> cqOff = cqOff(v);
                    default -> throw unknown(p.currentName());
                }
            }
            return new Response.Ring(sqEntries, cqEntries, setupFlags, features, enabled, sqOff, cqOff);
        }

        private IoUringParams.SqOffsets sqOff(JsonToken t) throws IOException, Refusal {
            int[] o = offsets(t, "ring.sqOff", SQ_OFF_NAMES, SQ_OFF_LABELS);
            return new IoUringParams.SqOffsets(o[0], o[1], o[2], o[3], o[4], o[5], o[6]);
        }

        private IoUringParams.CqOffsets cqOff(JsonToken t) throws IOException, Refusal {
            int[] o = offsets(t, "ring.cqOff", CQ_OFF_NAMES, CQ_OFF_LABELS);
            return new IoUringParams.CqOffsets(o[0], o[1], o[2], o[3], o[4], o[5], o[6]);
        }

        /** An object of int fields named {@code names} (0 for those left out), in that order. */
        private int[] offsets(JsonToken t, String where, SerializedString[] names, String[] labels)
                throws IOException, Refusal {
            object(t, where);
            int[] values = new int[names.length];
            for (int k, seen = 0, expect = 0; (k = nextField(names, expect)) != END; expect = k + 1) {
                seen = once(seen, k);
                JsonToken v = p.nextToken();
                if (k < 0) {
                    throw unknown(p.currentName());
                }
                values[k] = intValue(v, labels[k]);
            }
            return values;
        }

        /** One element of an array of objects, read once its START_OBJECT was checked. */
        private interface Element<T> {
            T read() throws IOException, Refusal;
        }

        /** An array of objects ({@code files}, {@code buffers}), each read by {@code element}. */
        private <T> List<T> objects(JsonToken t, String where, String elementWhere, Element<T> element)
                throws IOException, Refusal {
            array(t, where);
            JsonToken e = p.nextToken();
            if (e == END_ARRAY) {
                return List.of();
            }
            List<T> out = new ArrayList<>();
            for (; e != END_ARRAY; e = p.nextToken()) {
                object(e, elementWhere);
                out.add(element.read());
            }
            return out;
        }

        private List<Response.FileSlot> files(JsonToken t) throws IOException, Refusal {
            return objects(t, "files", "files[]", this::fileSlot);
        }

        private Response.FileSlot fileSlot() throws IOException, Refusal {
            int index = 0;
            String name = null;
            for (int k, seen = 0, expect = 0; (k = nextField(FILE_NAMES, expect)) != END; expect = k + 1) {
                seen = once(seen, k);
                JsonToken v = p.nextToken();
                switch (k) {
                    case 0 -> index = intValue(v, "files[].index");
                    case 1 -> name = string(v, "files[].name");
                    default -> throw unknown(p.currentName());
                }
            }
            return new Response.FileSlot(index, name);
        }

        private List<Response.BufferSlot> buffers(JsonToken t) throws IOException, Refusal {
            return objects(t, "buffers", "buffers[]", this::bufferSlot);
        }

        private Response.BufferSlot bufferSlot() throws IOException, Refusal {
            int index = 0;
            String name = null;
            int fd = 0;
            long length = 0;
            long address = 0;
            for (int k, seen = 0, expect = 0; (k = nextField(BUFFER_NAMES, expect)) != END; expect = k + 1) {
                seen = once(seen, k);
                JsonToken v = p.nextToken();
                switch (k) {
                    case 0 -> index = intValue(v, "buffers[].index");
                    case 1 -> name = string(v, "buffers[].name");
                    case 2 -> fd = intValue(v, "buffers[].fd");
                    case 3 -> length = longValue(v, "buffers[].length");
                    case 4 -> address = longValue(v, "buffers[].address");
                    default -> throw unknown(p.currentName());
                }
            }
            return new Response.BufferSlot(index, name, fd, length, address);
        }

        private Response.Allowed allowed(JsonToken t) throws IOException, Refusal {
            object(t, "allowed");
            List<String> sqeOps = null;
            List<String> sqeFlagsAllowed = null;
            List<String> sqeFlagsRequired = null;
            List<String> registerOps = null;
            for (int k, seen = 0, expect = 0; (k = nextField(ALLOWED_NAMES, expect)) != END; expect = k + 1) {
                seen = once(seen, k);
                JsonToken v = p.nextToken();
                switch (k) {
                    case 0 -> sqeOps = strings(v, "allowed.sqeOps");
                    case 1 -> sqeFlagsAllowed = strings(v, "allowed.sqeFlagsAllowed");
                    case 2 -> sqeFlagsRequired = strings(v, "allowed.sqeFlagsRequired");
                    case 3 -> registerOps = strings(v, "allowed.registerOps");
                    default -> throw unknown(p.currentName());
                }
            }
            return new Response.Allowed(sqeOps, sqeFlagsAllowed, sqeFlagsRequired, registerOps);
        }

        private List<String> strings(JsonToken t, String field) throws IOException, Refusal {
            array(t, field);
            JsonToken e = p.nextToken();
            if (e == END_ARRAY) {
                return List.of();
            }
            String first = element(e, field);
            e = p.nextToken();
            if (e == END_ARRAY) {
                return List.of(first);
            }
            List<String> out = new ArrayList<>();
            out.add(first);
            for (; e != END_ARRAY; e = p.nextToken()) {
                out.add(element(e, field));
            }
            return out;
        }

        // --------------------------------------------------------------- scalars, no coercion

        /** A string element of list {@code field} (its name is only put together for a refusal). */
        private String element(JsonToken t, String field) throws IOException, Refusal {
            if (t == VALUE_STRING) {
                return p.getText();
            }
            throw wrongType(t, field + "[]", "a string");
        }

        private String string(JsonToken t, String field) throws IOException, Refusal {
            if (t == VALUE_STRING) {
                return p.getText();
            }
            throw wrongType(t, field, "a string");
        }

        private int intValue(JsonToken t, String field) throws IOException, Refusal {
            if (t == VALUE_NUMBER_INT) {
                if (p.getNumberType() == JsonParser.NumberType.INT) {
                    return p.getIntValue();
                }
                throw new Refusal("\"" + field + "\": " + p.getNumberValue() + " is out of range of int");
            }
            throw wrongType(t, field, "an integer");
        }

        private long longValue(JsonToken t, String field) throws IOException, Refusal {
            if (t == VALUE_NUMBER_INT) {
                JsonParser.NumberType n = p.getNumberType();
                if (n == JsonParser.NumberType.INT || n == JsonParser.NumberType.LONG) {
                    return p.getLongValue();
                }
                throw new Refusal("\"" + field + "\": " + p.getNumberValue() + " is out of range of long");
            }
            throw wrongType(t, field, "an integer");
        }

        private boolean booleanValue(JsonToken t, String field) throws Refusal {
            if (t == VALUE_TRUE) {
                return true;
            }
            if (t == VALUE_FALSE) {
                return false;
            }
            throw wrongType(t, field, "true or false");
        }

        /** As Jackson's enum binding with these settings: the exact name, or the name with blanks trimmed. */
        private ErrorCode errorCode(JsonToken t) throws IOException, Refusal {
            String s = string(t, "code");
            ErrorCode c = codeNamed(s);
            if (c == null) {
                String trimmed = s.trim();
                c = trimmed.equals(s) ? null : codeNamed(trimmed);
            }
            if (c == null) {
                throw new Refusal("\"code\": \"" + ProtocolCodec.printable(s) + "\" is not an error code");
            }
            return c;
        }

        private static ErrorCode codeNamed(String s) {
            for (ErrorCode c : CODES) {
                if (c.name().equals(s)) {
                    return c;
                }
            }
            return null;
        }

        private static void object(JsonToken t, String field) throws Refusal {
            if (t != START_OBJECT) {
                throw wrongType(t, field, "an object");
            }
        }

        private static void array(JsonToken t, String field) throws Refusal {
            if (t != START_ARRAY) {
                throw wrongType(t, field, "an array");
            }
        }

        private static Refusal wrongType(JsonToken t, String field, String expected) {
            if (t == VALUE_NULL) {
                return new Refusal(NULL_REFUSED);
            }
            return new Refusal("\"" + field + "\" must be " + expected + ", not " + shape(t));
        }

        private static String shape(JsonToken t) {
            return switch (t) {
                case START_OBJECT -> "an object";
                case START_ARRAY -> "an array";
                case VALUE_STRING -> "a string";
                case VALUE_NUMBER_INT -> "an integer";
                case VALUE_NUMBER_FLOAT -> "a floating-point number";
                case VALUE_TRUE, VALUE_FALSE -> "a boolean";
                default -> t.asString() == null ? t.name() : t.asString();
            };
        }

        private static Refusal unknown(String name) {
            return new Refusal("unknown field \"" + ProtocolCodec.printable(name) + "\"");
        }
    }

    // ---------------------------------------------------------------------------------- encoding

    private static final SerializedString V = new SerializedString("v");
    private static final SerializedString OP = new SerializedString("op");
    private static final SerializedString TYPE = new SerializedString("type");
    private static final SerializedString F_LEASE = new SerializedString("lease");
    private static final SerializedString F_POLICY = new SerializedString("policy");
    private static final SerializedString F_CLIENT_FDS = new SerializedString("clientFds");
    private static final SerializedString F_TICKET = new SerializedString("ticket");
    private static final SerializedString F_FDS = new SerializedString("fds");
    private static final SerializedString F_RING = new SerializedString("ring");
    private static final SerializedString F_FILES = new SerializedString("files");
    private static final SerializedString F_BUFFERS = new SerializedString("buffers");
    private static final SerializedString F_ALLOWED = new SerializedString("allowed");
    private static final SerializedString F_CODE = new SerializedString("code");
    private static final SerializedString F_MESSAGE = new SerializedString("message");
    private static final SerializedString F_COUNT = new SerializedString("count");
    private static final SerializedString SQ_ENTRIES = new SerializedString("sqEntries");
    private static final SerializedString CQ_ENTRIES = new SerializedString("cqEntries");
    private static final SerializedString SETUP_FLAGS = new SerializedString("setupFlags");
    private static final SerializedString FEATURES = new SerializedString("features");
    private static final SerializedString ENABLED = new SerializedString("enabled");
    private static final SerializedString SQ_OFF = new SerializedString("sqOff");
    private static final SerializedString CQ_OFF = new SerializedString("cqOff");
    private static final SerializedString HEAD = new SerializedString("head");
    private static final SerializedString TAIL = new SerializedString("tail");
    private static final SerializedString RING_MASK = new SerializedString("ringMask");
    private static final SerializedString RING_ENTRIES = new SerializedString("ringEntries");
    private static final SerializedString FLAGS = new SerializedString("flags");
    private static final SerializedString DROPPED = new SerializedString("dropped");
    private static final SerializedString ARRAY = new SerializedString("array");
    private static final SerializedString OVERFLOW = new SerializedString("overflow");
    private static final SerializedString CQES = new SerializedString("cqes");
    private static final SerializedString INDEX = new SerializedString("index");
    private static final SerializedString NAME = new SerializedString("name");
    private static final SerializedString FD = new SerializedString("fd");
    private static final SerializedString LENGTH = new SerializedString("length");
    private static final SerializedString ADDRESS = new SerializedString("address");
    private static final SerializedString SQE_OPS = new SerializedString("sqeOps");
    private static final SerializedString SQE_FLAGS_ALLOWED = new SerializedString("sqeFlagsAllowed");
    private static final SerializedString SQE_FLAGS_REQUIRED = new SerializedString("sqeFlagsRequired");
    private static final SerializedString REGISTER_OPS = new SerializedString("registerOps");

    /**
     * The body of {@code request} if it is a hot kind, else {@code null}. The bytes are the
     * databind path's: the head, then the record's fields in declaration order (hot messages
     * have no null fields, their constructors see to it, so {@code NON_NULL} omits nothing).
     */
    static byte[] encode(Request request) {
        return switch (request) {
            case Request.Acquire a -> escapedAlike(a.policy()) ? acquire(a) : write(OP, a.op(), a);
            case Request.Release r -> escapedAlike(r.lease()) ? release(r) : write(OP, r.op(), r);
            default -> null;
        };
    }

    // The client's two requests, without a generator: a generator per message (its context, a
    // recycled 8 KB buffer, its writer code) was most of what encoding cost a cold client. The
    // bytes are the generator's: constant parts, the string escaped by Jackson's
    // JsonStringEncoder (the generator's escape table) and the number by its NumberOutput.
    private static final byte[] ACQUIRE_HEAD = ascii("{\"v\":" + ProtocolCodec.VERSION + ",\"op\":\"acquire\",\"policy\":\"");
    private static final byte[] ACQUIRE_CLIENT_FDS = ascii("\",\"clientFds\":");
    private static final byte[] RELEASE_HEAD = ascii("{\"v\":" + ProtocolCodec.VERSION + ",\"op\":\"release\",\"lease\":\"");

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Whether JsonStringEncoder writes {@code s} as the generator does: they differ only on
     * UTF-16 surrogates (the generator writes each half as a six-character escape, the encoder writes
     * the pair as one UTF-8 sequence and refuses a lone half).
     */
    private static boolean escapedAlike(String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            if (Character.isSurrogate(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** {@code {"v":1,"op":"acquire","policy":"<policy>","clientFds":<n>}}. */
    private static byte[] acquire(Request.Acquire a) {
        byte[] policy = JsonStringEncoder.getInstance().quoteAsUTF8(a.policy());
        byte[] digits = new byte[11];
        int digitCount = NumberOutput.outputInt(a.clientFds(), digits, 0);
        byte[] out = new byte[ACQUIRE_HEAD.length + policy.length + ACQUIRE_CLIENT_FDS.length + digitCount + 1];
        int at = put(out, 0, ACQUIRE_HEAD);
        at = put(out, at, policy);
        at = put(out, at, ACQUIRE_CLIENT_FDS);
        System.arraycopy(digits, 0, out, at, digitCount);
        out[at + digitCount] = '}';
        return out;
    }

    /** {@code {"v":1,"op":"release","lease":"<lease>"}}. */
    private static byte[] release(Request.Release r) {
        byte[] lease = JsonStringEncoder.getInstance().quoteAsUTF8(r.lease());
        byte[] out = new byte[RELEASE_HEAD.length + lease.length + 2];
        int at = put(out, 0, RELEASE_HEAD);
        at = put(out, at, lease);
        out[at] = '"';
        out[at + 1] = '}';
        return out;
    }

    private static int put(byte[] out, int at, byte[] part) {
        System.arraycopy(part, 0, out, at, part.length);
        return at + part.length;
    }

    /** As {@link #encode(Request)}, for responses. */
    static byte[] encode(Response response) {
        return switch (response) {
            case Response.Grant g -> write(TYPE, g.type(), g);
            case Response.Released r -> write(TYPE, r.type(), r);
            case Response.Error e -> write(TYPE, e.type(), e);
            case Response.SendFds s -> write(TYPE, s.type(), s);
            default -> null;
        };
    }

    private static byte[] write(SerializableString kindField, String kind, Object message) {
        ByteArrayBuilder out = new ByteArrayBuilder(message instanceof Response.Grant ? 1024 : 128);
        try (JsonGenerator g = FACTORY.createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeFieldName(V);
            g.writeNumber(ProtocolCodec.VERSION);
            g.writeFieldName(kindField);
            g.writeString(kind);
            switch (message) {
                case Request.Acquire a -> {
                    g.writeFieldName(F_POLICY);
                    g.writeString(a.policy());
                    g.writeFieldName(F_CLIENT_FDS);
                    g.writeNumber(a.clientFds());
                }
                case Request.Release r -> {
                    g.writeFieldName(F_LEASE);
                    g.writeString(r.lease());
                }
                case Response.Grant gr -> grant(g, gr);
                case Response.Released r -> {
                    g.writeFieldName(F_LEASE);
                    g.writeString(r.lease());
                }
                case Response.Error e -> {
                    g.writeFieldName(F_CODE);
                    g.writeString(e.code().name());
                    g.writeFieldName(F_MESSAGE);
                    g.writeString(e.message());
                }
                case Response.SendFds s -> {
                    g.writeFieldName(F_COUNT);
                    g.writeNumber(s.count());
                }
                default -> throw new IllegalStateException("not a hot message: " + kind);
            }
            g.writeEndObject();
        } catch (JacksonException e) {
            throw new IllegalStateException("cannot write " + kind + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + kind + ": " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    private static void grant(JsonGenerator g, Response.Grant grant) throws IOException {
        g.writeFieldName(F_LEASE);
        g.writeString(grant.lease());
        g.writeFieldName(F_POLICY);
        g.writeString(grant.policy());
        g.writeFieldName(F_TICKET);
        g.writeNumber(grant.ticket());
        g.writeFieldName(F_FDS);
        g.writeNumber(grant.fds());

        Response.Ring ring = grant.ring();
        g.writeFieldName(F_RING);
        g.writeStartObject();
        g.writeFieldName(SQ_ENTRIES);
        g.writeNumber(ring.sqEntries());
        g.writeFieldName(CQ_ENTRIES);
        g.writeNumber(ring.cqEntries());
        g.writeFieldName(SETUP_FLAGS);
        g.writeNumber(ring.setupFlags());
        g.writeFieldName(FEATURES);
        g.writeNumber(ring.features());
        g.writeFieldName(ENABLED);
        g.writeBoolean(ring.enabled());
        IoUringParams.SqOffsets sq = ring.sqOff();
        g.writeFieldName(SQ_OFF);
        g.writeStartObject();
        intField(g, HEAD, sq.head());
        intField(g, TAIL, sq.tail());
        intField(g, RING_MASK, sq.ringMask());
        intField(g, RING_ENTRIES, sq.ringEntries());
        intField(g, FLAGS, sq.flags());
        intField(g, DROPPED, sq.dropped());
        intField(g, ARRAY, sq.array());
        g.writeEndObject();
        IoUringParams.CqOffsets cq = ring.cqOff();
        g.writeFieldName(CQ_OFF);
        g.writeStartObject();
        intField(g, HEAD, cq.head());
        intField(g, TAIL, cq.tail());
        intField(g, RING_MASK, cq.ringMask());
        intField(g, RING_ENTRIES, cq.ringEntries());
        intField(g, OVERFLOW, cq.overflow());
        intField(g, CQES, cq.cqes());
        intField(g, FLAGS, cq.flags());
        g.writeEndObject();
        g.writeEndObject();

        g.writeFieldName(F_FILES);
        g.writeStartArray();
        for (Response.FileSlot f : grant.files()) {
            g.writeStartObject();
            intField(g, INDEX, f.index());
            g.writeFieldName(NAME);
            g.writeString(f.name());
            g.writeEndObject();
        }
        g.writeEndArray();

        g.writeFieldName(F_BUFFERS);
        g.writeStartArray();
        for (Response.BufferSlot b : grant.buffers()) {
            g.writeStartObject();
            intField(g, INDEX, b.index());
            g.writeFieldName(NAME);
            g.writeString(b.name());
            intField(g, FD, b.fd());
            g.writeFieldName(LENGTH);
            g.writeNumber(b.length());
            g.writeFieldName(ADDRESS);
            g.writeNumber(b.address());
            g.writeEndObject();
        }
        g.writeEndArray();

        Response.Allowed allowed = grant.allowed();
        g.writeFieldName(F_ALLOWED);
        g.writeStartObject();
        strings(g, SQE_OPS, allowed.sqeOps());
        strings(g, SQE_FLAGS_ALLOWED, allowed.sqeFlagsAllowed());
        strings(g, SQE_FLAGS_REQUIRED, allowed.sqeFlagsRequired());
        strings(g, REGISTER_OPS, allowed.registerOps());
        g.writeEndObject();
    }

    private static void intField(JsonGenerator g, SerializableString name, int value) throws IOException {
        g.writeFieldName(name);
        g.writeNumber(value);
    }

    private static void strings(JsonGenerator g, SerializableString name, List<String> values) throws IOException {
        g.writeFieldName(name);
        g.writeStartArray();
        for (int i = 0, n = values.size(); i < n; i++) {
            g.writeString(values.get(i));
        }
        g.writeEndArray();
    }

    private static ProtocolException bad(String message) {
        return new ProtocolException(ErrorCode.BAD_REQUEST, message);
    }
}
