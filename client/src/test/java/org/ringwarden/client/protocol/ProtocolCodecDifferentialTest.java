package org.ringwarden.client.protocol;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import org.ringwarden.linux.uring.IoUringParams;

/**
 * The streaming path (HotMessages) against the databind path it replaces, on the kinds it
 * handles: generated valid messages, written with random field order and whitespace, and then
 * mutated (a field dropped, duplicated, renamed, given a value of another shape, the document
 * cut or followed by garbage, several at once) must decode to equal records or fail with the
 * same {@link ErrorCode} on both paths; encoding must give the databind path's bytes.
 */
class ProtocolCodecDifferentialTest {

    private static final ObjectMapper TREES = new ObjectMapper();

    // ------------------------------------------------------------------ generated messages

    @Provide
    Arbitrary<String> text() {
        // escapes, controls, non-ASCII, a supplementary character (a valid surrogate pair)
        return Arbitraries.oneOf(
                Arbitraries.strings().withCharRange('a', 'z').withChars('-', '_', '0', '9').ofMinLength(1).ofMaxLength(34),
                Arbitraries.strings().withCharRange('\u0000', '\u00ff').withChars('\u2028', '\u20ac', '\uffff')
                        .ofMaxLength(12),
                Arbitraries.of("", "\"", "\\", "\uD83D\uDE00", "é\u0001\n\t/", " BAD_REQUEST "));
    }

    private Arbitrary<String> nonEmptyText() {
        return text().filter(s -> !s.isEmpty());
    }

    private static Arbitrary<Integer> anyInt() {
        return Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.of(0, -1, 1, Integer.MAX_VALUE, Integer.MIN_VALUE));
    }

    private static Arbitrary<Long> anyLong() {
        return Arbitraries.oneOf(Arbitraries.longs(),
                Arbitraries.of(0L, -1L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 31, -(1L << 31) - 1));
    }

    @Provide
    Arbitrary<Request> requests() {
        return Arbitraries.oneOf(
                Combinators.combine(nonEmptyText(), Arbitraries.integers().between(0, Request.MAX_DESCRIPTORS))
                        .as(Request.Acquire::new),
                nonEmptyText().map(Request.Release::new));
    }

    @Provide
    Arbitrary<Response> responses() {
        return Arbitraries.oneOf(grants(), text().map(Response.Released::new),
                Combinators.combine(Arbitraries.of(ErrorCode.class), text()).as(Response.Error::new),
                Arbitraries.integers().between(1, Request.MAX_DESCRIPTORS).map(Response.SendFds::new));
    }

    private Arbitrary<Response.Grant> grants() {
        Arbitrary<IoUringParams.SqOffsets> sq = anyInt().list().ofSize(7)
                .map(v -> new IoUringParams.SqOffsets(v.get(0), v.get(1), v.get(2), v.get(3), v.get(4), v.get(5), v.get(6)));
        Arbitrary<IoUringParams.CqOffsets> cq = anyInt().list().ofSize(7)
                .map(v -> new IoUringParams.CqOffsets(v.get(0), v.get(1), v.get(2), v.get(3), v.get(4), v.get(5), v.get(6)));
        Arbitrary<Response.Ring> ring = Combinators.combine(anyInt().list().ofSize(4), Arbitraries.of(true, false), sq, cq)
                .as((v, enabled, s, c) -> new Response.Ring(v.get(0), v.get(1), v.get(2), v.get(3), enabled, s, c));
        Arbitrary<List<Response.FileSlot>> files = Combinators.combine(anyInt(), text()).as(Response.FileSlot::new)
                .list().ofMaxSize(3);
        Arbitrary<List<String>> names = Arbitraries.oneOf(Arbitraries.of("NOP", "READ_FIXED", "PROBE", "IO_LINK"), text())
                .list().ofMaxSize(3);
        Arbitrary<Response.Allowed> allowed = Combinators.combine(names, names, names, names).as(Response.Allowed::new);
        Arbitrary<Integer> fds = Arbitraries.oneOf(Arbitraries.of(0, 1, Request.MAX_DESCRIPTORS),
                Arbitraries.integers().between(0, Request.MAX_DESCRIPTORS));
        return fds.flatMap(n -> {
            Arbitrary<List<Response.BufferSlot>> buffers = n == 0
                    ? Arbitraries.just(List.of())
                    : Combinators.combine(anyInt(), text(), Arbitraries.integers().between(0, n - 1), anyLong(), anyLong())
                            .as(Response.BufferSlot::new).list().ofMaxSize(3);
            return Combinators.combine(text(), text(), anyLong(), ring, files, buffers, allowed)
                    .as((lease, policy, ticket, r, f, b, a) -> new Response.Grant(lease, policy, ticket, n, r, f, b, a));
        });
    }

    // ------------------------------------------------------------------ round trips, bytes

    @Property(tries = 1500)
    void hotRequestsEncodeToTheDatabindBytesAndDecodeBackToThemselves(@ForAll("requests") Request request)
            throws Exception {
        assertSameBytesAndBack(request, ProtocolCodec::encode, ProtocolCodec::encodeWithDatabind,
                HotMessages::decodeRequest, ProtocolCodec::decodeRequestWithDatabind);
    }

    @Property(tries = 1500)
    void hotResponsesEncodeToTheDatabindBytesAndDecodeBackToThemselves(@ForAll("responses") Response response)
            throws Exception {
        assertSameBytesAndBack(response, ProtocolCodec::encode, ProtocolCodec::encodeWithDatabind,
                HotMessages::decodeResponse, ProtocolCodec::decodeResponseWithDatabind);
    }

    private interface Codec<A, B> {
        B apply(A a) throws Exception;
    }

    /** Both encoders give the same bytes, and both decoders give the message back from them. */
    private static <M> void assertSameBytesAndBack(M message, Codec<M, byte[]> streamingEncode,
            Codec<M, byte[]> databindEncode, Codec<byte[], M> streamingDecode, Codec<byte[], M> databindDecode)
            throws Exception {
        byte[] streaming = streamingEncode.apply(message);
        byte[] databind = databindEncode.apply(message);
        assertThat(new String(streaming, UTF_8)).as("bytes of %s", message).isEqualTo(new String(databind, UTF_8));
        assertThat(streaming).as("raw bytes of %s", message).isEqualTo(databind);
        assertThat(streamingDecode.apply(streaming)).as("streaming decode of %s", message).isEqualTo(message);
        assertThat(databindDecode.apply(streaming)).as("databind decode of %s", message).isEqualTo(message);
    }

    // ------------------------------------------------------------------ written by hand, mutated

    @Property(tries = 4000)
    void reorderedAndMutatedRequestsGiveTheSameResultOnBothPaths(@ForAll("requests") Request request,
                                                                  @ForAll long seed) throws Exception {
        sameOnBothPaths(ProtocolCodec.encodeWithDatabind(request), new Random(seed));
    }

    @Property(tries = 6000)
    void reorderedAndMutatedResponsesGiveTheSameResultOnBothPaths(@ForAll("responses") Response response,
                                                                   @ForAll long seed) throws Exception {
        sameOnBothPaths(ProtocolCodec.encodeWithDatabind(response), new Random(seed));
    }

    private static void sameOnBothPaths(byte[] valid, Random rnd) throws Exception {
        Json doc = Json.of(TREES.readTree(valid));
        int mutations = rnd.nextInt(4) == 0 ? 0 : 1 + rnd.nextInt(3);
        List<String> applied = new ArrayList<>();
        for (int i = 0; i < mutations; i++) {
            applied.add(mutate(doc, rnd));
        }
        String json = doc.render(rnd, rnd.nextBoolean());
        String tail = "";
        switch (rnd.nextInt(12)) {
            case 0 -> tail = Arrays.asList(" x", " {}", "]", " 1", "}", ",", " \"", " null").get(rnd.nextInt(8));
            case 1 -> json = json.substring(0, rnd.nextInt(json.length()));
            case 2 -> json = "[" + json + "]";
            default -> {
                // whole document as rendered
            }
        }
        byte[] body = (json + tail).getBytes(UTF_8);
        String what = (json + tail) + "  (mutations: " + applied + ")";
        Outcome requestStreaming = outcome(() -> ProtocolCodec.decodeRequest(body));
        Outcome requestDatabind = outcome(() -> ProtocolCodec.decodeRequestWithDatabind(body));
        assertThat(requestStreaming).as("as a request: %s", what).isEqualTo(requestDatabind);
        Outcome responseStreaming = outcome(() -> ProtocolCodec.decodeResponse(body));
        Outcome responseDatabind = outcome(() -> ProtocolCodec.decodeResponseWithDatabind(body));
        assertThat(responseStreaming).as("as a response: %s", what).isEqualTo(responseDatabind);
        Outcome requestHot = outcome(() -> HotMessages.decodeRequest(body));
        Outcome responseHot = outcome(() -> HotMessages.decodeResponse(body));
        Statistics.label("decided by the streaming path (request/response)")
                .collect(!requestHot.equals(new Outcome(null, null)), !responseHot.equals(new Outcome(null, null)));
        Statistics.label("mutations").collect(applied.isEmpty() ? "none" : applied.get(0).replaceAll(" .*", ""));
        Statistics.label("outcome").collect(requestStreaming.code != null || responseStreaming.code != null
                ? String.valueOf(requestStreaming.code) + "/" + responseStreaming.code : "decoded");
    }

    /** A decoded message, or the code of the refusal. */
    private record Outcome(Object message, ErrorCode code) {
    }

    private interface Decoding {
        Object decode() throws ProtocolException;
    }

    private static Outcome outcome(Decoding d) {
        try {
            return new Outcome(d.decode(), null);
        } catch (ProtocolException e) {
            return new Outcome(null, e.code());
        } catch (Throwable t) {
            return fail("neither a message nor a ProtocolException: " + t, t);
        }
    }

    private static final List<String> NAMES = List.of("v", "op", "type", "lease", "policy", "clientFds", "ticket", "fds",
            "ring", "files", "buffers", "allowed", "code", "message", "count", "sqOff", "cqOff", "head", "flags", "name",
            "index", "x", "Lease", "sqeOps", "enabled", "length", "address", "fd", "registerOps", "sqEntries");
    private static final List<String> VALUES = List.of("null", "\"1\"", "\"\"", "1.5", "1.0", "1e400", "-0", "0", "1",
            "-1", "2", "2147483647", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
            "99999999999999999999", "1" + "0".repeat(40), "[]", "[1]", "[null]", "[\"NOP\"]", "{}", "{\"x\":1}",
            "{\"head\":1}", "true", "false", "\"grant\"", "\"acquire\"", "\"release\"", "\"released\"", "\"error\"",
            "\"send-fds\"", "\"policies\"", "\"status\"", "\"fly\"", "\"BAD_REQUEST\"", "\" NOT_PERMITTED \"",
            "\"not_permitted\"", "[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]", "{\"index\":0,\"name\":\"n\"}",
            "[{\"index\":0,\"name\":\"n\",\"fd\":0,\"length\":1,\"address\":2}]", "\"" + "y".repeat(70) + "\"",
            // duplicates inside values, where the typed reader meets them or skips them
            "{\"x\":1,\"x\":1}", "{\"head\":1,\"head\":2}", "{\"head\":1,\"x\":{\"y\":[{\"z\":0,\"z\":0}]}}",
            "[{\"index\":0,\"name\":\"n\",\"index\":0}]", "{\"sqeOps\":[],\"sqeOps\":[]}",
            "{\"sqEntries\":1.5,\"sqOff\":{\"head\":0,\"head\":0}}", "{\"head\":1,\"tail\":{\"a\":1,\"b\":2}}");

    private static final List<String> VERSIONS = List.of("2", "0", "-1", "99999999999", "1" + "0".repeat(25), "1.0",
            "\"1\"", "null", "true", "[1]", "{}", "{\"v\":1,\"v\":1}", "[{\"a\":{},\"b\":{}}]");
    private static final List<String> KINDS = List.of("\"acquire\"", "\"release\"", "\"grant\"", "\"released\"",
            "\"error\"", "\"send-fds\"", "\"policies\"", "\"status\"", "\"attach\"", "\"fly\"", "\"\"", "1", "null",
            "[\"grant\"]");

    /** Changes {@code doc} in one random way and says how. */
    private static String mutate(Json doc, Random rnd) {
        Json.Obj top = (Json.Obj) doc;
        if (rnd.nextInt(5) == 0) {
            // the head decides between UNSUPPORTED_VERSION, BAD_REQUEST and the databind path: hit it often
            for (int i = 0; i < top.members.size(); i++) {
                String name = top.members.get(i).getKey();
                if (name.equals("v") && rnd.nextBoolean()) {
                    String value = VERSIONS.get(rnd.nextInt(VERSIONS.size()));
                    top.members.set(i, Map.entry(name, new Json.Raw(value)));
                    return "version " + value;
                }
                if (name.equals("op") || name.equals("type")) {
                    String value = KINDS.get(rnd.nextInt(KINDS.size()));
                    top.members.set(i, Map.entry(name, new Json.Raw(value)));
                    return "kind " + value;
                }
            }
        }
        List<Json.Obj> objects = new ArrayList<>();
        List<Json.Arr> arrays = new ArrayList<>();
        doc.collect(objects, arrays);
        if (!arrays.isEmpty() && rnd.nextInt(6) == 0) {
            Json.Arr a = arrays.get(rnd.nextInt(arrays.size()));
            if (!a.items.isEmpty() && rnd.nextBoolean()) {
                a.items.remove(rnd.nextInt(a.items.size()));
                return "array-remove";
            }
            a.items.add(rnd.nextInt(a.items.size() + 1), new Json.Raw(VALUES.get(rnd.nextInt(VALUES.size()))));
            return "array-insert";
        }
        Json.Obj o = rnd.nextInt(3) == 0 ? (Json.Obj) doc : objects.get(rnd.nextInt(objects.size()));
        if (o.members.isEmpty() || rnd.nextInt(8) == 0) {
            String name = NAMES.get(rnd.nextInt(NAMES.size()));
            o.members.add(Map.entry(name, new Json.Raw(VALUES.get(rnd.nextInt(VALUES.size())))));
            if (rnd.nextInt(4) == 0) {
                // a name the object may not have, twice (the reader checks those apart from its own names)
                o.members.add(rnd.nextInt(o.members.size() + 1),
                        Map.entry(name, new Json.Raw(VALUES.get(rnd.nextInt(VALUES.size())))));
                return "add-twice " + name;
            }
            return "add " + name;
        }
        int i = rnd.nextInt(o.members.size());
        Map.Entry<String, Json> m = o.members.get(i);
        switch (rnd.nextInt(4)) {
            case 0 -> {
                o.members.remove(i);
                return "drop " + m.getKey();
            }
            case 1 -> {
                o.members.add(rnd.nextInt(o.members.size() + 1), Map.entry(m.getKey(),
                        rnd.nextBoolean() ? m.getValue() : new Json.Raw(VALUES.get(rnd.nextInt(VALUES.size())))));
                return "duplicate " + m.getKey();
            }
            case 2 -> {
                String name = NAMES.get(rnd.nextInt(NAMES.size()));
                o.members.set(i, Map.entry(name, m.getValue()));
                return "rename " + m.getKey() + "->" + name;
            }
            default -> {
                String value = VALUES.get(rnd.nextInt(VALUES.size()));
                o.members.set(i, Map.entry(m.getKey(), new Json.Raw(value)));
                return "set " + m.getKey() + "=" + value;
            }
        }
    }

    /** A JSON document that may hold what a tree may not: duplicate names, members in any order. */
    private sealed interface Json {
        static Json of(JsonNode n) {
            if (n.isObject()) {
                Obj o = new Obj(new ArrayList<>());
                n.properties().forEach(e -> o.members.add(Map.entry(e.getKey(), of(e.getValue()))));
                return o;
            }
            if (n.isArray()) {
                Arr a = new Arr(new ArrayList<>());
                n.forEach(e -> a.items.add(of(e)));
                return a;
            }
            return new Raw(n.toString());
        }

        default void collect(List<Obj> objects, List<Arr> arrays) {
            switch (this) {
                case Obj o -> {
                    objects.add(o);
                    o.members.forEach(m -> m.getValue().collect(objects, arrays));
                }
                case Arr a -> {
                    arrays.add(a);
                    a.items.forEach(e -> e.collect(objects, arrays));
                }
                case Raw r -> {
                    // a scalar holds nothing
                }
            }
        }

        default String render(Random rnd, boolean shuffle) {
            StringBuilder b = new StringBuilder();
            render(b, rnd, shuffle);
            return b.toString();
        }

        private void render(StringBuilder b, Random rnd, boolean shuffle) {
            switch (this) {
                case Obj o -> {
                    List<Map.Entry<String, Json>> ms = new ArrayList<>(o.members);
                    if (shuffle) {
                        Collections.shuffle(ms, rnd);
                    }
                    b.append('{');
                    for (int i = 0; i < ms.size(); i++) {
                        space(b, rnd);
                        b.append(quote(ms.get(i).getKey()));
                        space(b, rnd);
                        b.append(':');
                        space(b, rnd);
                        ms.get(i).getValue().render(b, rnd, shuffle);
                        space(b, rnd);
                        if (i < ms.size() - 1) {
                            b.append(',');
                        }
                    }
                    b.append('}');
                }
                case Arr a -> {
                    b.append('[');
                    for (int i = 0; i < a.items.size(); i++) {
                        space(b, rnd);
                        a.items.get(i).render(b, rnd, shuffle);
                        space(b, rnd);
                        if (i < a.items.size() - 1) {
                            b.append(',');
                        }
                    }
                    b.append(']');
                }
                case Raw r -> b.append(r.text);
            }
        }

        private static void space(StringBuilder b, Random rnd) {
            if (rnd.nextInt(4) == 0) {
                b.append(List.of(" ", "\n", "\t", "\r\n  ").get(rnd.nextInt(4)));
            }
        }

        private static String quote(String s) {
            try {
                return TREES.writeValueAsString(s);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }

        record Obj(List<Map.Entry<String, Json>> members) implements Json {
        }

        record Arr(List<Json> items) implements Json {
        }

        record Raw(String text) implements Json {
        }
    }
}
