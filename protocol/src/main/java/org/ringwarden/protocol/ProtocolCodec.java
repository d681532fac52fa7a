package org.ringwarden.protocol;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.jspecify.annotations.Nullable;

/**
 * Strict JSON binding of {@link Request} and {@link Response} frame bodies.
 *
 * <p>Strict means: one JSON object per frame and nothing after it, {@code "v"} present and an
 * integer ({@code 1}; any other number is {@link ErrorCode#UNSUPPORTED_VERSION}), a known
 * {@code op}/{@code type}, no unknown or duplicate fields, no type coercion ({@code "1"} is not
 * a number, {@code 1.0} is not an int), nesting at most {@value #MAX_DEPTH} deep. Whatever the
 * input, decoding either returns a message or throws {@link RefusedException}; nothing else
 * escapes (the decoder is fuzzed).
 *
 * <p>One path for every message, in both directions: Jackson databind, with a typed reader per
 * kind and a typed writer per direction, and Jackson's own checks for the rules above (duplicate
 * names, nesting depth, number and string lengths, unknown properties, no coercion). The daemon
 * decodes untrusted requests here. A refusal names the field it concerns ({@code "ring.sqEntries":
 * ...}, {@code unknown field "x" in files[0]}) or, for a syntax error, the byte where it is.
 *
 * <pre>{@code
 * byte[] body = ProtocolCodec.encode(new Request.Acquire("reader", 0));
 * Request r = ProtocolCodec.decodeRequest(body);   // Acquire[policy=reader, clientFds=0]
 * }</pre>
 */
public final class ProtocolCodec {
    /** The only protocol version. */
    public static final int VERSION = 1;
    /** The deepest nesting any message needs is 3; anything far deeper is an attack on the parser. */
    static final int MAX_DEPTH = 16;

    private static final ObjectMapper MAPPER = newMapper();

    private static final Map<String, Class<?>> REQUESTS = Map.ofEntries(
            Map.entry("attach", Request.Attach.class),
            Map.entry("acquire", Request.Acquire.class),
            Map.entry("policies", Request.ListPolicies.class),
            Map.entry("release", Request.Release.class),
            Map.entry("status", Request.Status.class),
            Map.entry("leases", Request.Leases.class),
            Map.entry("reload", Request.Reload.class),
            Map.entry("report-refusals", Request.ReportRefusals.class),
            Map.entry("complain-targets", Request.ComplainTargets.class),
            Map.entry("revoke", Request.Revoke.class),
            Map.entry("transparent-setup", Request.TransparentSetup.class));

    private static final Map<String, Class<?>> RESPONSES = Map.ofEntries(
            Map.entry("send-fds", Response.SendFds.class),
            Map.entry("attached", Response.Attached.class),
            Map.entry("grant", Response.Grant.class),
            Map.entry("policies", Response.Policies.class),
            Map.entry("released", Response.Released.class),
            Map.entry("error", Response.Error.class),
            Map.entry("status", Response.StatusReport.class),
            Map.entry("leases", Response.LeaseList.class),
            Map.entry("reloaded", Response.Reloaded.class),
            Map.entry("refusals-recorded", Response.RefusalsRecorded.class),
            Map.entry("complain-targets", Response.ComplainTargets.class),
            Map.entry("revoked", Response.Revoked.class),
            Map.entry("transparent-ring", Response.TransparentRing.class));

    /**
     * A typed reader per kind, made on first use: making one builds the deserializer of its
     * record (reflection over its components and annotations), and a process that reads a few
     * kinds ({@code ringwarden run} reads two) should not pay for all of them at start.
     */
    private static final ConcurrentHashMap<Class<?>, ObjectReader> READERS = new ConcurrentHashMap<>();

    /**
     * A request on the wire: {@code v} and {@code op} first, then the record's own fields in
     * declaration order. No message has a field named {@code v}, {@code op} or {@code type}
     * (ProtocolCodecTest checks), so unwrapping cannot write a name twice.
     */
    record RequestFrame(int v, String op, @JsonUnwrapped Request request) {
    }

    /** A response on the wire: {@code v} and {@code type} first, then the record's own fields. */
    record ResponseFrame(int v, String type, @JsonUnwrapped Response response) {
    }

    /** The request writer, made on first use (the daemon never writes requests). */
    private static final class RequestWriter {
        static final ObjectWriter WRITER = MAPPER.writerFor(RequestFrame.class);
    }

    /** The response writer, made on first use (a client never writes responses). */
    private static final class ResponseWriter {
        static final ObjectWriter WRITER = MAPPER.writerFor(ResponseFrame.class);
    }

    private ProtocolCodec() {
    }

    private static ObjectMapper newMapper() {
        JsonFactory factory = JsonFactory.builder()
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(MAX_DEPTH)
                        .maxStringLength(Frames.MAX_LENGTH)
                        .maxNumberLength(32)
                        .build())
                .build();
        JsonMapper mapper = JsonMapper.builder(factory)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                // An absent optional number binds as 0; an explicit null is refused before binding (noNulls).
                .disable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .serializationInclusion(JsonInclude.Include.NON_NULL)
                .build();
        mapper.coercionConfigDefaults()
                .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                .setAcceptBlankAsEmpty(false);
        return mapper;
    }

    /** The body of a request frame: {@code {"v":1,"op":...,fields}}. */
    public static byte[] encode(Request request) {
        requireNonNull(request, "request");
        return write(RequestWriter.WRITER, new RequestFrame(VERSION, request.op(), request), request.op());
    }

    /** The body of a response frame: {@code {"v":1,"type":...,fields}}. */
    public static byte[] encode(Response response) {
        requireNonNull(response, "response");
        return write(ResponseWriter.WRITER, new ResponseFrame(VERSION, response.type(), response), response.type());
    }

    /** Reads a request body; the daemon answers a {@link RefusedException} with its code. */
    public static Request decodeRequest(byte[] body) throws RefusedException {
        return (Request) decode(body, "op", REQUESTS, "request");
    }

    /** Reads a response body. */
    public static Response decodeResponse(byte[] body) throws RefusedException {
        return (Response) decode(body, "type", RESPONSES, "response");
    }

    private static byte[] write(ObjectWriter writer, Object frame, String kind) {
        try {
            return writer.writeValueAsBytes(frame);
        } catch (JacksonException e) {
            throw new IllegalStateException("cannot write " + kind + ": " + e.getOriginalMessage(), e);
        }
    }

    /**
     * The whole document is parsed first (a syntax error anywhere is {@code BAD_REQUEST}), then
     * {@code v} is checked before anything else about the message (an integer other than 1 is
     * {@code UNSUPPORTED_VERSION} whatever else is wrong), then the kind, then the fields.
     */
    private static Object decode(byte[] body, String kindField, Map<String, Class<?>> kinds, String what)
            throws RefusedException {
        requireNonNull(body, "body");
        try {
            JsonNode tree = MAPPER.readTree(body);
            if (!(tree instanceof ObjectNode root)) {
                throw bad("a " + what + " must be one JSON object");
            }
            JsonNode v = root.remove("v");
            if (v == null) {
                throw bad("every message needs \"v\": " + VERSION);
            }
            if (!v.isIntegralNumber()) {
                throw bad("\"v\" must be an integer");
            }
            if (!v.canConvertToInt() || v.intValue() != VERSION) {
                throw new RefusedException(ErrorCode.UNSUPPORTED_VERSION,
                        "protocol version " + v.asText() + " is not supported; this daemon speaks version " + VERSION);
            }
            JsonNode kindNode = root.remove(kindField);
            if (kindNode == null || !kindNode.isTextual()) {
                throw bad("a " + what + " needs a string \"" + kindField + "\"");
            }
            Class<?> type = kinds.get(kindNode.textValue());
            if (type == null) {
                throw bad("unknown " + kindField + " \"" + printable(kindNode.textValue()) + "\"; known: "
                        + String.join(", ", new TreeSet<>(kinds.keySet())));
            }
            noNulls(root);
            return READERS.computeIfAbsent(type, MAPPER::readerFor).readValue(root);
        } catch (RefusedException e) {
            throw e;
        } catch (UnrecognizedPropertyException e) {
            String in = path(e, 1);
            throw bad("unknown field \"" + printable(e.getPropertyName()) + "\"" + (in.isEmpty() ? "" : " in " + in));
        } catch (JacksonException e) {
            throw bad(describe(e));
        } catch (java.io.IOException e) {
            throw bad("unreadable " + what + ": " + e.getMessage());
        } catch (RuntimeException | StackOverflowError e) {
            // The contract is "a message or a RefusedException": a binding bug must not kill a connection handler.
            throw new RefusedException(ErrorCode.BAD_REQUEST, "malformed " + what + ": " + e, e);
        }
    }

    /** No message has a field whose value may be null: absent and null must not mean the same thing. */
    private static void noNulls(JsonNode node) throws RefusedException {
        if (node.isNull()) {
            throw bad("null is not a value in this protocol; leave an optional field out instead");
        }
        if (node.isContainerNode()) {
            for (JsonNode child : node) {
                noNulls(child);
            }
        }
    }

    /**
     * A binding or parsing failure for people: a record constructor's own refusal as it is,
     * anything else with the field it concerns ({@code "ring.sqEntries": ...}) or, for a syntax
     * error, where in the body it is.
     */
    private static String describe(JacksonException e) {
        Throwable cause = e.getCause();
        if (cause instanceof IllegalArgumentException || cause instanceof NullPointerException) {
            return messageOf(cause);
        }
        String m = e.getOriginalMessage();
        m = m == null ? e.getClass().getSimpleName() : firstLine(m);
        String field = path(e, 0);
        if (!field.isEmpty()) {
            return "\"" + printable(field) + "\": " + m;
        }
        JsonLocation at = e.getLocation();
        return at == null || at.getByteOffset() < 0 ? m : m + " (at byte " + at.getByteOffset() + ")";
    }

    /** The field a binding failure concerns, as {@code ring.sqOff.head} or {@code files[1].name}, less the last {@code drop} steps. */
    private static String path(JacksonException e, int drop) {
        List<JsonMappingException.Reference> refs = e instanceof JsonMappingException m ? m.getPath() : List.of();
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < refs.size() - drop; i++) {
            JsonMappingException.Reference r = refs.get(i);
            if (r.getFieldName() != null) {
                b.append(b.isEmpty() ? "" : ".").append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            }
        }
        return b.toString();
    }

    /** What a record constructor's refusal says. */
    private static String messageOf(Throwable e) {
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 300 ? line.substring(0, 300) + "…" : line;
    }

    /**
     * A client-supplied string, shortened and stripped of control characters before it goes into
     * a message; {@code "null"} for null (Jackson's property name of a failure may be null).
     */
    private static String printable(@Nullable String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder(Math.min(s.length(), 64));
        for (int i = 0; i < s.length() && b.length() < 64; i++) {
            char c = s.charAt(i);
            b.append(Character.isISOControl(c) ? '?' : c);
        }
        return s.length() > 64 ? b + "…" : b.toString();
    }

    private static RefusedException bad(String message) {
        return new RefusedException(ErrorCode.BAD_REQUEST, message);
    }
}
