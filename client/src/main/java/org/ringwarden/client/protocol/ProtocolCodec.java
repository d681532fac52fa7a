package org.ringwarden.client.protocol;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Strict JSON binding of {@link Request} and {@link Response} frame bodies.
 *
 * <p>Strict means: one JSON object per frame and nothing after it, {@code "v"} present and an
 * integer ({@code 1}; any other number is {@link ErrorCode#UNSUPPORTED_VERSION}), a known
 * {@code op}/{@code type}, no unknown or duplicate fields, no type coercion ({@code "1"} is not
 * a number, {@code 1.0} is not an int), nesting at most {@value #MAX_DEPTH} deep. Whatever the
 * input, decoding either returns a message or throws {@link ProtocolException}; nothing else
 * escapes (the decoder is fuzzed).
 *
 * <p>The messages of the acquire path ({@code acquire}, {@code release}, {@code grant},
 * {@code released}, {@code error}, {@code send-fds}) are read and written in one streaming pass
 * by {@link HotMessages}, with the same parser limits and the same results as the databind
 * path that handles every other kind (a differential test holds the two together; the
 * streaming path finds duplicate names itself instead of through the parser).
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

    /** {@link HotMessages} derives its factory from this one's. */
    static final ObjectMapper MAPPER = newMapper();

    private static final Map<String, Class<? extends Request>> REQUESTS = Map.of(
            "attach", Request.Attach.class,
            "acquire", Request.Acquire.class,
            "policies", Request.ListPolicies.class,
            "release", Request.Release.class,
            "status", Request.Status.class,
            "leases", Request.Leases.class,
            "reload", Request.Reload.class,
            "transparent-setup", Request.TransparentSetup.class);

    private static final Map<String, Class<? extends Response>> RESPONSES = Map.of(
            "send-fds", Response.SendFds.class,
            "attached", Response.Attached.class,
            "grant", Response.Grant.class,
            "policies", Response.Policies.class,
            "released", Response.Released.class,
            "error", Response.Error.class,
            "status", Response.StatusReport.class,
            "leases", Response.LeaseList.class,
            "reloaded", Response.Reloaded.class,
            "transparent-ring", Response.TransparentRing.class);

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
        byte[] hot = HotMessages.encode(request);
        return hot != null ? hot : write("op", request.op(), request);
    }

    /** The body of a response frame: {@code {"v":1,"type":...,fields}}. */
    public static byte[] encode(Response response) {
        requireNonNull(response, "response");
        byte[] hot = HotMessages.encode(response);
        return hot != null ? hot : write("type", response.type(), response);
    }

    /** Reads a request body; the daemon answers a {@link ProtocolException} with its code. */
    public static Request decodeRequest(byte[] body) throws ProtocolException {
        requireNonNull(body, "body");
        Request hot = HotMessages.decodeRequest(body);
        return hot != null ? hot : decodeRequestWithDatabind(body);
    }

    /** Reads a response body. */
    public static Response decodeResponse(byte[] body) throws ProtocolException {
        requireNonNull(body, "body");
        Response hot = HotMessages.decodeResponse(body);
        return hot != null ? hot : decodeResponseWithDatabind(body);
    }

    // The databind path: every kind that is not on the acquire path, and the reference the
    // streaming path of HotMessages is compared with (ProtocolCodecDifferentialTest).

    static byte[] encodeWithDatabind(Request request) {
        return write("op", request.op(), request);
    }

    static byte[] encodeWithDatabind(Response response) {
        return write("type", response.type(), response);
    }

    static Request decodeRequestWithDatabind(byte[] body) throws ProtocolException {
        return decode(body, "op", REQUESTS, "request");
    }

    static Response decodeResponseWithDatabind(byte[] body) throws ProtocolException {
        return decode(body, "type", RESPONSES, "response");
    }

    /**
     * {@code {"v":1,"<kindField>":"<kind>",<the message's fields>}} in one pass: the message (a
     * record, so a JSON object) is written as bytes and the head spliced in front of its fields.
     * (Building a tree and writing it again cost the daemon about a tenth of an acquire.) No
     * message has a field named {@code v}, {@code op} or {@code type} (ProtocolCodecTest checks).
     */
    private static byte[] write(String kindField, String kind, Object message) {
        byte[] fields;
        try {
            fields = MAPPER.writeValueAsBytes(message);
        } catch (JacksonException e) {
            throw new IllegalStateException("cannot write " + kind + ": " + e.getOriginalMessage(), e);
        }
        if (fields.length < 2 || fields[0] != '{' || fields[fields.length - 1] != '}') {
            throw new IllegalStateException("cannot write " + kind + ": not a JSON object");
        }
        byte[] head = ("{\"v\":" + VERSION + ",\"" + kindField + "\":\"").getBytes(StandardCharsets.UTF_8);
        byte[] quotedKind = JsonStringEncoder.getInstance().quoteAsUTF8(kind);
        boolean noFields = fields.length == 2;
        // head + kind + '"' + (',' + fields without '{') or '}'
        byte[] out = new byte[head.length + quotedKind.length + 1 + (noFields ? 1 : fields.length)];
        int at = 0;
        System.arraycopy(head, 0, out, at, head.length);
        at += head.length;
        System.arraycopy(quotedKind, 0, out, at, quotedKind.length);
        at += quotedKind.length;
        out[at++] = '"';
        if (noFields) {
            out[at] = '}';
        } else {
            out[at++] = ',';
            System.arraycopy(fields, 1, out, at, fields.length - 1);
        }
        return out;
    }

    private static <T> T decode(byte[] body, String kindField, Map<String, Class<? extends T>> kinds, String what)
            throws ProtocolException {
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
                throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION,
                        "protocol version " + v.asText() + " is not supported; this daemon speaks version " + VERSION);
            }
            JsonNode kindNode = root.remove(kindField);
            if (kindNode == null || !kindNode.isTextual()) {
                throw bad("a " + what + " needs a string \"" + kindField + "\"");
            }
            Class<? extends T> type = kinds.get(kindNode.textValue());
            if (type == null) {
                throw bad("unknown " + kindField + " \"" + printable(kindNode.textValue()) + "\"; known: "
                        + String.join(", ", new java.util.TreeSet<>(kinds.keySet())));
            }
            noNulls(root);
            return MAPPER.treeToValue(root, type);
        } catch (ProtocolException e) {
            throw e;
        } catch (UnrecognizedPropertyException e) {
            throw bad("unknown field \"" + printable(e.getPropertyName()) + "\"");
        } catch (JacksonException e) {
            throw bad(describe(e));
        } catch (java.io.IOException e) {
            throw bad("unreadable " + what + ": " + e.getMessage());
        } catch (RuntimeException | StackOverflowError e) {
            // The contract is "a message or a ProtocolException": a binding bug must not kill a connection handler.
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "malformed " + what + ": " + e, e);
        }
    }

    /** No message has a field whose value may be null: absent and null must not mean the same thing. */
    private static void noNulls(JsonNode node) throws ProtocolException {
        if (node.isNull()) {
            throw bad("null is not a value in this protocol; leave an optional field out instead");
        }
        if (node.isContainerNode()) {
            for (JsonNode child : node) {
                noNulls(child);
            }
        }
    }

    static String describe(JacksonException e) {
        Throwable cause = e.getCause();
        if (cause instanceof IllegalArgumentException || cause instanceof NullPointerException) {
            return messageOf(cause);
        }
        String m = e.getOriginalMessage();
        return m == null ? e.getClass().getSimpleName() : firstLine(m);
    }

    /** What a record constructor's refusal says. */
    static String messageOf(Throwable e) {
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 300 ? line.substring(0, 300) + "…" : line;
    }

    /** A client-supplied string, shortened and stripped of control characters before it goes into a message. */
    static String printable(String s) {
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

    private static ProtocolException bad(String message) {
        return new ProtocolException(ErrorCode.BAD_REQUEST, message);
    }
}
