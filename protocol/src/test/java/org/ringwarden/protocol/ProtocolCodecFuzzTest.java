package org.ringwarden.protocol;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
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
import org.ringwarden.linux.uring.IoUringParams;

/**
 * Whatever bytes or JSON arrive, decoding returns a message or throws RefusedException, nothing
 * else; and every message, generated with awkward strings and extreme numbers, comes back from its
 * bytes, also with its fields in another order and whitespace between them.
 */
class ProtocolCodecFuzzTest {
    private static final ObjectMapper TREES = new ObjectMapper();

    @Property(tries = 3000)
    void arbitraryBytesOnlyEverGiveAMessageOrARefusedException(@ForAll byte[] body) {
        decodeBoth(body);
    }

    @Property(tries = 3000)
    void arbitraryJsonOnlyEverGivesAMessageOrARefusedException(@ForAll("jsonish") String json) {
        decodeBoth(json.getBytes(UTF_8));
    }

    private static void decodeBoth(byte[] body) {
        try {
            ProtocolCodec.decodeRequest(body);
        } catch (RefusedException expected) {
            // the only allowed failure
        }
        try {
            ProtocolCodec.decodeResponse(body);
        } catch (RefusedException expected) {
            // the only allowed failure
        }
    }

    @Provide
    Arbitrary<String> jsonish() {
        Arbitrary<String> keys = Arbitraries.of("v", "op", "type", "fds", "policy", "clientFds", "lease", "count",
                "code", "message", "ring", "files", "buffers", "allowed", "x");
        Arbitrary<String> values = Arbitraries.oneOf(
                Arbitraries.of("1", "2", "0", "-1", "1.5", "1e400", "true", "null", "\"\"", "[]", "{}", "\"attach\"",
                        "\"acquire\"", "\"policies\"", "\"release\"", "\"grant\"", "\"error\"", "\"send-fds\"",
                        "\"BAD_REQUEST\"", "99999999999999999999", "[1,2]", "{\"head\":1}"),
                Arbitraries.strings().ofMaxLength(12).map(s -> "\"" + s.replace("\\", "").replace("\"", "") + "\""));
        Arbitrary<String> member = keys.flatMap(k -> values.map(v -> "\"" + k + "\":" + v));
        return member.list().ofMaxSize(8).map(ms -> "{" + String.join(",", ms) + "}");
    }

    // ------------------------------------------------------------------ generated messages

    @Property(tries = 1500)
    void everyRequestComesBackFromItsBytesInAnyFieldOrder(@ForAll("requests") Request request, @ForAll long seed)
            throws Exception {
        comesBack(request, ProtocolCodec.encode(request), ProtocolCodec::decodeRequest, new Random(seed));
    }

    @Property(tries = 1500)
    void everyResponseComesBackFromItsBytesInAnyFieldOrder(@ForAll("responses") Response response, @ForAll long seed)
            throws Exception {
        comesBack(response, ProtocolCodec.encode(response), ProtocolCodec::decodeResponse, new Random(seed));
    }

    private interface Decoder {
        Object decode(byte[] body) throws RefusedException;
    }

    /** {@code body} decodes to {@code message}, and so does the same document reordered. */
    private static void comesBack(Object message, byte[] body, Decoder decoder, Random rnd) throws Exception {
        assertThat(decoder.decode(body)).as("round trip of %s", message).isEqualTo(message);
        byte[] reordered = reorder(body, rnd);
        assertThat(decoder.decode(reordered)).as("%s", new String(reordered, UTF_8)).isEqualTo(message);
    }

    /** The same document with every object's members shuffled and whitespace strewn between tokens. */
    private static byte[] reorder(byte[] body, Random rnd) throws Exception {
        StringBuilder b = new StringBuilder();
        render(TREES.readTree(body), b, rnd);
        return b.toString().getBytes(UTF_8);
    }

    private static void render(JsonNode n, StringBuilder b, Random rnd) throws Exception {
        if (n.isObject()) {
            List<Map.Entry<String, JsonNode>> members = new ArrayList<>(n.properties());
            Collections.shuffle(members, rnd);
            b.append('{');
            for (int i = 0; i < members.size(); i++) {
                space(b, rnd);
                b.append(TREES.writeValueAsString(members.get(i).getKey())).append(':');
                space(b, rnd);
                render(members.get(i).getValue(), b, rnd);
                b.append(i < members.size() - 1 ? "," : "");
            }
            b.append('}');
        } else if (n.isArray()) {
            b.append('[');
            for (int i = 0; i < n.size(); i++) {
                space(b, rnd);
                render(n.get(i), b, rnd);
                b.append(i < n.size() - 1 ? "," : "");
            }
            b.append(']');
        } else {
            b.append(TREES.writeValueAsString(n));
        }
        space(b, rnd);
    }

    private static void space(StringBuilder b, Random rnd) {
        if (rnd.nextInt(4) == 0) {
            b.append(List.of(" ", "\n", "\t", "\r\n  ").get(rnd.nextInt(4)));
        }
    }

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

    private Arbitrary<String> optionalText() {
        return Arbitraries.oneOf(Arbitraries.just((String) null), nonEmptyText());
    }

    private static Arbitrary<Integer> anyInt() {
        return Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.of(0, -1, 1, Integer.MAX_VALUE, Integer.MIN_VALUE));
    }

    private static Arbitrary<Long> anyLong() {
        return Arbitraries.oneOf(Arbitraries.longs(),
                Arbitraries.of(0L, -1L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 31, -(1L << 31) - 1, (1L << 53) - 1));
    }

    private static Arbitrary<Long> u32() {
        return Arbitraries.oneOf(Arbitraries.longs().between(0, 0xFFFF_FFFFL), Arbitraries.of(0L, 0xFFFF_FFFFL));
    }

    @Provide
    Arbitrary<Request> requests() {
        return Arbitraries.oneOf(
                optionalText().map(p -> new Request.Attach(1, p)),
                Combinators.combine(nonEmptyText(), Arbitraries.integers().between(0, Request.MAX_DESCRIPTORS))
                        .as(Request.Acquire::new),
                nonEmptyText().map(Request.Release::new),
                Arbitraries.of(new Request.ListPolicies(), new Request.Status(), new Request.Leases(), new Request.Reload()),
                nonEmptyText().map(l -> new Request.Revoke(l, null)),
                Arbitraries.integers().between(0, Integer.MAX_VALUE).map(u -> new Request.Revoke(null, u)),
                Combinators.combine(anyLong(), Arbitraries.integers().between(1, Integer.MAX_VALUE), u32(), u32(), u32(),
                        optionalText()).as(Request.TransparentSetup::new));
    }

    @Provide
    Arbitrary<Response> responses() {
        return Arbitraries.oneOf(
                Arbitraries.integers().between(1, Request.MAX_DESCRIPTORS).map(Response.SendFds::new),
                Arbitraries.just(new Response.Attached()),
                grants(),
                Combinators.combine(text(), text()).as(Response.PolicySummary::new).list().ofMaxSize(3)
                        .map(Response.Policies::new),
                text().map(Response.Released::new),
                Combinators.combine(Arbitraries.of(ErrorCode.class), text()).as(Response.Error::new),
                Combinators.combine(text(), anyLong(), text(), anyInt(), anyInt(), anyInt(), anyLong(), anyLong())
                        .as((v, up, k, p, c, l, g, pin) -> new Response.StatusReport(v, up, k, p, c, l, g,
                                Map.of("NOT_PERMITTED", g, "BUSY", 0L), pin)),
                Combinators.combine(text(), text(), anyInt(), anyInt(), text(), text(), anyLong(), Arbitraries.of(true, false))
                        .as(Response.LeaseEntry::new).list().ofMaxSize(3).map(Response.LeaseList::new),
                Combinators.combine(Arbitraries.of(true, false), anyInt(), text().list().ofMaxSize(3))
                        .as(Response.Reloaded::new),
                Combinators.combine(text(), text(), anyInt(), anyInt(), text(), text(), anyLong(), Arbitraries.of(true, false))
                        .as(Response.LeaseEntry::new).list().ofMaxSize(3).map(Response.Revoked::new),
                Combinators.combine(Arbitraries.integers().between(1, 4095), text())
                        .as((errno, m) -> new Response.TransparentRing(errno, -1, null, m)),
                Combinators.combine(rings(), Arbitraries.integers().between(0, Integer.MAX_VALUE), text())
                        .as((r, fd, m) -> new Response.TransparentRing(0, fd, r, m)));
    }

    private static Arbitrary<Response.Ring> rings() {
        Arbitrary<IoUringParams.SqOffsets> sq = anyInt().list().ofSize(7)
                .map(v -> new IoUringParams.SqOffsets(v.get(0), v.get(1), v.get(2), v.get(3), v.get(4), v.get(5), v.get(6)));
        Arbitrary<IoUringParams.CqOffsets> cq = anyInt().list().ofSize(7)
                .map(v -> new IoUringParams.CqOffsets(v.get(0), v.get(1), v.get(2), v.get(3), v.get(4), v.get(5), v.get(6)));
        return Combinators.combine(anyInt().list().ofSize(4), Arbitraries.of(true, false), sq, cq)
                .as((v, enabled, s, c) -> new Response.Ring(v.get(0), v.get(1), v.get(2), v.get(3), enabled, s, c));
    }

    private Arbitrary<Response.Grant> grants() {
        Arbitrary<List<Response.FileSlot>> files = Combinators.combine(anyInt(), text()).as(Response.FileSlot::new)
                .list().ofMaxSize(3);
        Arbitrary<List<String>> names = Arbitraries.oneOf(Arbitraries.of("NOP", "READ_FIXED", "PROBE", "IO_LINK"), text())
                .list().ofMaxSize(3);
        Arbitrary<Response.Allowed> allowed = Combinators.combine(names, names, names, names).as(Response.Allowed::new);
        return Arbitraries.integers().between(0, Request.MAX_DESCRIPTORS).flatMap(n -> {
            Arbitrary<List<Response.BufferSlot>> buffers = n == 0
                    ? Arbitraries.just(List.of())
                    : Combinators.combine(anyInt(), text(), Arbitraries.integers().between(0, n - 1), anyLong(), anyLong())
                            .as(Response.BufferSlot::new).list().ofMaxSize(3);
            return Combinators.combine(text(), text(), anyLong(), rings(), files, buffers, allowed)
                    .as((lease, policy, ticket, r, f, b, a) -> new Response.Grant(lease, policy, ticket, n, r, f, b, a));
        });
    }
}
