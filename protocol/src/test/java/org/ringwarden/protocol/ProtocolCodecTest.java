package org.ringwarden.protocol;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.uring.IoUringParams;

@Timeout(10)
class ProtocolCodecTest {

    private static Request req(String json) throws RefusedException {
        return ProtocolCodec.decodeRequest(json.getBytes(UTF_8));
    }

    private static RefusedException refused(String json) {
        return catchThrowableOfType(RefusedException.class, () -> req(json));
    }

    @Test
    void everyRequestSurvivesARoundTrip() throws Exception {
        List<Request> all = List.of(new Request.Attach(1, null), new Request.Attach(1, "fio"),
                new Request.Acquire("reader", 0), new Request.Acquire("reader", 3), new Request.ListPolicies(),
                new Request.Release("abc"), new Request.Status(), new Request.Leases(), new Request.Reload(),
                new Request.Revoke("abc", null), new Request.Revoke(null, 1000));
        for (Request r : all) {
            assertThat(ProtocolCodec.decodeRequest(ProtocolCodec.encode(r))).as("round trip of %s", r).isEqualTo(r);
        }
    }

    @Test
    void revokeNamesExactlyOneLeaseOrOneUid() {
        assertThat(refused("{\"v\":1,\"op\":\"revoke\"}").getMessage()).as("neither")
                .contains("give exactly one of lease and uid");
        assertThat(refused("{\"v\":1,\"op\":\"revoke\",\"lease\":\"a\",\"uid\":3}").getMessage()).as("both")
                .contains("give exactly one of lease and uid");
        assertThat(refused("{\"v\":1,\"op\":\"revoke\",\"uid\":-1}").getMessage()).as("negative uid")
                .contains("uid must not be negative");
        assertThat(refused("{\"v\":1,\"op\":\"revoke\",\"uid\":\"1000\"}").code()).as("a quoted uid")
                .isEqualTo(ErrorCode.BAD_REQUEST);
    }

    @Test
    void attachIsWrittenAsTheProtocolShowsIt() {
        assertThat(new String(ProtocolCodec.encode(new Request.Attach(1, null)), UTF_8))
                .as("attach frame body").isEqualTo("{\"v\":1,\"op\":\"attach\",\"fds\":1}");
    }

    @Test
    void grantIsWrittenWithTheFieldNamesOfProtocolMd() throws Exception {
        Response.Grant g = new Response.Grant("7f3a", "reader", 4738381338321616L, 1,
                new Response.Ring(64, 128, 128, 262143, true,
                        new IoUringParams.SqOffsets(0, 64, 256, 264, 276, 272, 2368),
                        new IoUringParams.CqOffsets(128, 192, 260, 268, 284, 320, 280)),
                List.of(new Response.FileSlot(0, "data")),
                List.of(new Response.BufferSlot(0, "io", 0, 1048576, 140234227138560L)),
                new Response.Allowed(List.of("NOP", "READ_FIXED"), List.of("IO_LINK"), List.of("FIXED_FILE"), List.of("PROBE")));
        String json = new String(ProtocolCodec.encode(g), UTF_8);
        assertThat(json).as("grant JSON").isEqualTo("{\"v\":1,\"type\":\"grant\",\"lease\":\"7f3a\",\"policy\":\"reader\","
                + "\"ticket\":4738381338321616,\"fds\":1,\"ring\":{\"sqEntries\":64,\"cqEntries\":128,\"setupFlags\":128,"
                + "\"features\":262143,\"enabled\":true,\"sqOff\":{\"head\":0,\"tail\":64,\"ringMask\":256,\"ringEntries\":264,"
                + "\"flags\":276,\"dropped\":272,\"array\":2368},\"cqOff\":{\"head\":128,\"tail\":192,\"ringMask\":260,"
                + "\"ringEntries\":268,\"overflow\":284,\"cqes\":320,\"flags\":280}},\"files\":[{\"index\":0,\"name\":\"data\"}],"
                + "\"buffers\":[{\"index\":0,\"name\":\"io\",\"fd\":0,\"length\":1048576,\"address\":140234227138560}],"
                + "\"allowed\":{\"sqeOps\":[\"NOP\",\"READ_FIXED\"],\"sqeFlagsAllowed\":[\"IO_LINK\"],"
                + "\"sqeFlagsRequired\":[\"FIXED_FILE\"],\"registerOps\":[\"PROBE\"]}}");
        assertThat(ProtocolCodec.decodeResponse(json.getBytes(UTF_8))).as("grant round trip").isEqualTo(g);
    }

    @Test
    void noMessageHasAFieldNamedLikeTheHeadTheCodecSplicesInFront() {
        // encode writes {"v":1,"op"|"type":...} and then the record's own fields: a component of
        // one of those names would appear twice in the frame (a duplicate the decoder refuses).
        for (Class<?> kind : List.of(Request.class, Response.class)) {
            for (Class<?> c : kind.getPermittedSubclasses()) {
                for (var component : c.getRecordComponents()) {
                    assertThat(component.getName()).as("%s.%s", c.getSimpleName(), component.getName())
                            .isNotIn("v", "op", "type");
                }
            }
        }
    }

    @Test
    void everyResponseSurvivesARoundTrip() throws Exception {
        List<Response> all = List.of(new Response.SendFds(2), new Response.Attached(),
                new Response.Policies(List.of(new Response.PolicySummary("reader", "reads data"))),
                new Response.Released("x"), new Response.Error(ErrorCode.NOT_PERMITTED, "no"),
                new Response.StatusReport("0.1.0", 5, "6.18.0", 2, 1, 0, 3, Map.of("NOT_PERMITTED", 2L), 4096),
                new Response.LeaseList(List.of(new Response.LeaseEntry("l", "reader", 10, 1000, "/bin/x",
                        "2026-01-01T00:00:00Z", 4096, false))),
                new Response.Reloaded(false, 2, List.of("a.json:1:2: bad")));
        for (Response r : all) {
            assertThat(ProtocolCodec.decodeResponse(ProtocolCodec.encode(r))).as("round trip of %s", r).isEqualTo(r);
        }
    }

    @Test
    void unknownFieldIsBadRequestNamingTheField() {
        RefusedException e = refused("{\"v\":1,\"op\":\"acquire\",\"policy\":\"p\",\"extra\":true}");
        assertThat(e).as("unknown field refused").isNotNull();
        assertThat(e.code()).as("code").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(e.getMessage()).as("message names the field").contains("extra");
    }

    @Test
    void unknownFieldOnAFieldlessRequestIsBadRequest() {
        assertThat(refused("{\"v\":1,\"op\":\"policies\",\"all\":true}").code()).as("policies with a field").isEqualTo(ErrorCode.BAD_REQUEST);
    }

    @Test
    void otherVersionIsUnsupportedVersion() {
        assertThat(refused("{\"v\":2,\"op\":\"policies\"}").code()).as("v:2").isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        assertThat(refused("{\"v\":99999999999,\"op\":\"policies\"}").code()).as("huge v").isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
    }

    @Test
    void missingOrNonIntegerVersionIsBadRequest() {
        assertThat(refused("{\"op\":\"policies\"}").code()).as("no v").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":\"1\",\"op\":\"policies\"}").code()).as("v as string").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":1.0,\"op\":\"policies\"}").code()).as("v as float").isEqualTo(ErrorCode.BAD_REQUEST);
    }

    @Test
    void scalarsAreNotCoerced() {
        assertThat(refused("{\"v\":1,\"op\":\"acquire\",\"policy\":\"p\",\"clientFds\":\"2\"}").code())
                .as("clientFds as string").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":1,\"op\":\"acquire\",\"policy\":\"p\",\"clientFds\":2.5}").code())
                .as("clientFds as float").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":1,\"op\":\"acquire\",\"policy\":7}").code())
                .as("policy as number").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":1,\"op\":\"acquire\",\"policy\":null}").code())
                .as("policy null").isEqualTo(ErrorCode.BAD_REQUEST);
    }

    @Test
    void duplicateFieldsTrailingDataAndNonObjectsAreBadRequest() {
        assertThat(refused("{\"v\":1,\"op\":\"release\",\"lease\":\"a\",\"lease\":\"b\"}").code()).as("duplicate").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":1,\"op\":\"policies\"} {}").code()).as("trailing object").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("[1]").code()).as("array").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("\"x\"").code()).as("string").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("").code()).as("empty").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":1,\"op\":\"policies\"").code()).as("truncated").isEqualTo(ErrorCode.BAD_REQUEST);
    }

    @Test
    void requestRulesBeyondTypesAreBadRequest() {
        assertThat(refused("{\"v\":1,\"op\":\"attach\",\"fds\":2}").getMessage()).as("two listeners").contains("exactly one");
        assertThat(refused("{\"v\":1,\"op\":\"attach\"}").code()).as("attach without fds").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":1,\"op\":\"acquire\"}").code()).as("acquire without policy").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":1,\"op\":\"acquire\",\"policy\":\"p\",\"clientFds\":-1}").code()).as("negative").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":1,\"op\":\"acquire\",\"policy\":\"p\",\"clientFds\":254}").code()).as("over SCM_MAX_FD").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":1,\"op\":\"release\"}").code()).as("release without lease").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":1,\"op\":\"fly\"}").getMessage()).as("unknown op").contains("unknown op");
    }

    @Test
    void invalidUtf8IsBadRequest() {
        byte[] body = {'{', '"', 'v', '"', ':', '1', ',', '"', 'o', 'p', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
        assertThatThrownBy(() -> ProtocolCodec.decodeRequest(body)).as("invalid UTF-8")
                .isInstanceOfSatisfying(RefusedException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BAD_REQUEST));
    }

    @Test
    void deepNestingIsRefusedWithoutStackOverflow() {
        String deep = "{\"v\":1,\"op\":\"policies\",\"x\":" + "[".repeat(5000) + "]".repeat(5000) + "}";
        assertThat(refused(deep).code()).as("deep nesting").isEqualTo(ErrorCode.BAD_REQUEST);
    }

    // ------------------------------------------------------------------ the bytes on the wire

    /** The grant of the benchmark daemon, byte for byte (an empty files, buffers and flags list). */
    static final String BENCH_GRANT = "{\"v\":1,\"type\":\"grant\",\"lease\":\"a979656aff5a9a7aad347446a76eff28\","
            + "\"policy\":\"bench-nop\",\"ticket\":7683424845172460601,\"fds\":0,\"ring\":{\"sqEntries\":64,\"cqEntries\":128,"
            + "\"setupFlags\":200,\"features\":262143,\"enabled\":true,\"sqOff\":{\"head\":0,\"tail\":4,\"ringMask\":16,"
            + "\"ringEntries\":24,\"flags\":36,\"dropped\":32,\"array\":2112},\"cqOff\":{\"head\":8,\"tail\":12,\"ringMask\":20,"
            + "\"ringEntries\":28,\"overflow\":44,\"cqes\":64,\"flags\":40}},\"files\":[],\"buffers\":[],"
            + "\"allowed\":{\"sqeOps\":[\"NOP\"],\"sqeFlagsAllowed\":[],\"sqeFlagsRequired\":[],\"registerOps\":[\"PROBE\"]}}";

    private static final Response.Ring RING = new Response.Ring(32, 64, 264, 262143, true,
            new IoUringParams.SqOffsets(0, 64, 256, 264, 276, 272, 2368),
            new IoUringParams.CqOffsets(128, 192, 260, 268, 284, 320, 280));
    private static final String RING_JSON = "{\"sqEntries\":32,\"cqEntries\":64,\"setupFlags\":264,\"features\":262143,"
            + "\"enabled\":true,\"sqOff\":{\"head\":0,\"tail\":64,\"ringMask\":256,\"ringEntries\":264,\"flags\":276,"
            + "\"dropped\":272,\"array\":2368},\"cqOff\":{\"head\":128,\"tail\":192,\"ringMask\":260,\"ringEntries\":268,"
            + "\"overflow\":284,\"cqes\":320,\"flags\":280}}";

    /** Every request kind against the bytes it has always been written as (docs/protocol.md's forms, compact). */
    @Test
    void everyRequestIsWrittenAsOnTheWire() throws Exception {
        Map<Request, String> wire = new java.util.LinkedHashMap<>();
        wire.put(new Request.Attach(1, null), "{\"v\":1,\"op\":\"attach\",\"fds\":1}");
        wire.put(new Request.Attach(1, "fio"), "{\"v\":1,\"op\":\"attach\",\"fds\":1,\"policy\":\"fio\"}");
        wire.put(new Request.Acquire("reader", 0), "{\"v\":1,\"op\":\"acquire\",\"policy\":\"reader\",\"clientFds\":0}");
        wire.put(new Request.Acquire("reader", 3), "{\"v\":1,\"op\":\"acquire\",\"policy\":\"reader\",\"clientFds\":3}");
        wire.put(new Request.ListPolicies(), "{\"v\":1,\"op\":\"policies\"}");
        wire.put(new Request.Release("7f3a"), "{\"v\":1,\"op\":\"release\",\"lease\":\"7f3a\"}");
        wire.put(new Request.Status(), "{\"v\":1,\"op\":\"status\"}");
        wire.put(new Request.Leases(), "{\"v\":1,\"op\":\"leases\"}");
        wire.put(new Request.Reload(), "{\"v\":1,\"op\":\"reload\"}");
        wire.put(new Request.ComplainTargets(), "{\"v\":1,\"op\":\"complain-targets\"}");
        wire.put(new Request.ReportRefusals(List.of(new Request.RefusedSqe(4243, "FSYNC", 1, 4242))),
                "{\"v\":1,\"op\":\"report-refusals\",\"refusals\":[{\"tid\":4243,\"op\":\"FSYNC\",\"sqeFlags\":1,"
                        + "\"pid\":4242}]}");
        wire.put(new Request.Revoke("7f3a", null), "{\"v\":1,\"op\":\"revoke\",\"lease\":\"7f3a\"}");
        wire.put(new Request.Revoke(null, 1000), "{\"v\":1,\"op\":\"revoke\",\"uid\":1000}");
        wire.put(new Request.TransparentSetup(-3897411237650143721L, 4242, 32, 12296, 64, "/usr/bin/fio"),
                "{\"v\":1,\"op\":\"transparent-setup\",\"notif\":-3897411237650143721,\"pid\":4242,\"entries\":32,"
                        + "\"flags\":12296,\"cqEntries\":64,\"program\":\"/usr/bin/fio\"}");
        wire.put(new Request.TransparentSetup(Long.MIN_VALUE, 1, 0xFFFF_FFFFL, 0, 0, null),
                "{\"v\":1,\"op\":\"transparent-setup\",\"notif\":-9223372036854775808,\"pid\":1,\"entries\":4294967295,"
                        + "\"flags\":0,\"cqEntries\":0}");
        for (Map.Entry<Request, String> e : wire.entrySet()) {
            onTheWire(e.getKey(), ProtocolCodec.encode(e.getKey()), e.getValue(), ProtocolCodec::decodeRequest);
        }
        // A report from a watcher that predates the pid: the pid is unknown (0).
        assertThat(ProtocolCodec.decodeRequest(("{\"v\":1,\"op\":\"report-refusals\",\"refusals\":[{\"tid\":4243,"
                + "\"op\":\"FSYNC\",\"sqeFlags\":1}]}").getBytes(UTF_8)))
                .isEqualTo(new Request.ReportRefusals(List.of(new Request.RefusedSqe(4243, "FSYNC", 1, 0))));
    }

    /** Every response kind against the bytes it has always been written as. */
    @Test
    void everyResponseIsWrittenAsOnTheWire() throws Exception {
        Map<Response, String> wire = new java.util.LinkedHashMap<>();
        wire.put(new Response.SendFds(1), "{\"v\":1,\"type\":\"send-fds\",\"count\":1}");
        wire.put(new Response.Attached(), "{\"v\":1,\"type\":\"attached\"}");
        wire.put(new Response.Grant("a979656aff5a9a7aad347446a76eff28", "bench-nop", 7683424845172460601L, 0,
                new Response.Ring(64, 128, 200, 262143, true, new IoUringParams.SqOffsets(0, 4, 16, 24, 36, 32, 2112),
                        new IoUringParams.CqOffsets(8, 12, 20, 28, 44, 64, 40)),
                List.of(), List.of(), new Response.Allowed(List.of("NOP"), List.of(), List.of(), List.of("PROBE"))), BENCH_GRANT);
        wire.put(new Response.Policies(List.of(new Response.PolicySummary("reader", "reads data"))),
                "{\"v\":1,\"type\":\"policies\",\"policies\":[{\"name\":\"reader\",\"description\":\"reads data\"}]}");
        wire.put(new Response.Released("7f3a"), "{\"v\":1,\"type\":\"released\",\"lease\":\"7f3a\"}");
        wire.put(new Response.Error(ErrorCode.NOT_PERMITTED, "no"),
                "{\"v\":1,\"type\":\"error\",\"code\":\"NOT_PERMITTED\",\"message\":\"no\"}");
        wire.put(new Response.StatusReport("0.1.0", 5, "6.18.0", 2, 1, 0, 3, Map.of("NOT_PERMITTED", 2L), -1),
                "{\"v\":1,\"type\":\"status\",\"version\":\"0.1.0\",\"uptimeSeconds\":5,\"kernel\":\"6.18.0\",\"policies\":2,"
                        + "\"connections\":1,\"leases\":0,\"grants\":3,\"refusals\":{\"NOT_PERMITTED\":2},\"pinnedBytes\":-1}");
        wire.put(new Response.LeaseList(List.of(new Response.LeaseEntry("l", "reader", 10, 1000, "/bin/x",
                        "2026-01-01T00:00:00Z", 4096, false))),
                "{\"v\":1,\"type\":\"leases\",\"leases\":[{\"lease\":\"l\",\"policy\":\"reader\",\"pid\":10,\"uid\":1000,"
                        + "\"exe\":\"/bin/x\",\"since\":\"2026-01-01T00:00:00Z\",\"bufferBytes\":4096,\"collected\":false}]}");
        wire.put(new Response.Reloaded(false, 2, List.of("a.json:1:2: bad")),
                "{\"v\":1,\"type\":\"reloaded\",\"ok\":false,\"policies\":2,\"problems\":[\"a.json:1:2: bad\"]}");
        wire.put(new Response.Revoked(List.of(new Response.LeaseEntry("l", "reader", 10, 1000, "/bin/x",
                        "2026-01-01T00:00:00Z", 4096, true))),
                "{\"v\":1,\"type\":\"revoked\",\"leases\":[{\"lease\":\"l\",\"policy\":\"reader\",\"pid\":10,\"uid\":1000,"
                        + "\"exe\":\"/bin/x\",\"since\":\"2026-01-01T00:00:00Z\",\"bufferBytes\":4096,\"collected\":true}]}");
        wire.put(new Response.ComplainTargets(List.of(4242, 4250)),
                "{\"v\":1,\"type\":\"complain-targets\",\"tids\":[4242,4250]}");
        wire.put(new Response.TransparentRing(0, 5, RING, "ring installed as fd 5"),
                "{\"v\":1,\"type\":\"transparent-ring\",\"errno\":0,\"fd\":5,\"ring\":" + RING_JSON
                        + ",\"message\":\"ring installed as fd 5\"}");
        // A refusal carries no ring; its fd is written as -1 (as the daemon always has).
        wire.put(new Response.TransparentRing(1, -1, null, "policy fio refuses IORING_SETUP_SQPOLL: EPERM"),
                "{\"v\":1,\"type\":\"transparent-ring\",\"errno\":1,\"fd\":-1,"
                        + "\"message\":\"policy fio refuses IORING_SETUP_SQPOLL: EPERM\"}");
        for (Map.Entry<Response, String> e : wire.entrySet()) {
            onTheWire(e.getKey(), ProtocolCodec.encode(e.getKey()), e.getValue(), ProtocolCodec::decodeResponse);
        }
    }

    private interface Decoder {
        Object decode(byte[] body) throws RefusedException;
    }

    /** {@code message} was written as {@code wire}, and {@code wire} reads back as {@code message}. */
    private static void onTheWire(Object message, byte[] written, String wire, Decoder decoder) throws RefusedException {
        assertThat(new String(written, UTF_8)).as("bytes of %s", message).isEqualTo(wire);
        assertThat(decoder.decode(wire.getBytes(UTF_8))).as("decoded %s", wire).isEqualTo(message);
    }

    @Test
    void stringsAreEscapedAsJacksonsGeneratorEscapesThem() {
        // controls as \\u escapes, quote and backslash escaped, '/' and non-ASCII as UTF-8; a UTF-16
        // surrogate (paired or not) as a six-character escape of its own.
        Map<String, String> escaped = Map.of(
                "\u0000\u001f\u007f\"\\/\u2028\u00e9", "\\u0000\\u001F\u007f\\\"\\\\/\u2028\u00e9",
                "a\uD800b", "a\\uD800b",
                "x\uD83D\uDE00y", "x\\uD83D\\uDE00y");
        for (Map.Entry<String, String> e : escaped.entrySet()) {
            assertThat(new String(ProtocolCodec.encode(new Request.Release(e.getKey())), UTF_8)).as("lease %s", e.getKey())
                    .isEqualTo("{\"v\":1,\"op\":\"release\",\"lease\":\"" + e.getValue() + "\"}");
        }
    }

    // ------------------------------------------------------------------ reading: what is accepted

    private static Response resp(String json) throws RefusedException {
        return ProtocolCodec.decodeResponse(json.getBytes(UTF_8));
    }

    private static RefusedException responseRefused(String json) {
        RefusedException e = catchThrowableOfType(RefusedException.class, () -> resp(json));
        assertThat(e).as("refused: %s", json).isNotNull();
        return e;
    }

    private static String grantWith(String from, String to) {
        assertThat(BENCH_GRANT).as("the grant has %s", from).contains(from);
        return BENCH_GRANT.replace(from, to);
    }

    @Test
    void fieldsMayComeInAnyOrderWithTheHeadLast() throws Exception {
        assertThat(req("{\"clientFds\":2,\"policy\":\"p\",\"op\":\"acquire\",\"v\":1}")).as("acquire, head last")
                .isEqualTo(new Request.Acquire("p", 2));
        assertThat(resp("{\"message\":\"no\",\"type\":\"error\",\"code\":\"NOT_PERMITTED\",\"v\":1}"))
                .as("error, head scattered").isEqualTo(new Response.Error(ErrorCode.NOT_PERMITTED, "no"));
        assertThat(req("{\"v\":1,\"op\":\"rel\\u0065ase\",\"le\\u0061se\":\"l\"}")).as("escaped names and kind")
                .isEqualTo(new Request.Release("l"));
        assertThat(responseRefused("{\"v\":1,\"type\":\"released\",\"lease\":\"l\",\"le\\u0061se\":\"m\"}").getMessage())
                .as("escaped duplicate").contains("lease");
        assertThat(resp(" {\n\"lease\" : \"l\" ,\t\"v\":1 , \"type\":\"released\" }\r\n")).as("released with whitespace")
                .isEqualTo(new Response.Released("l"));
    }

    @Test
    void absentOptionalNumbersAreZero() throws Exception {
        assertThat(req("{\"v\":1,\"op\":\"acquire\",\"policy\":\"p\"}")).as("acquire without clientFds")
                .isEqualTo(new Request.Acquire("p", 0));
        assertThat(resp(grantWith("\"setupFlags\":200,", ""))).as("grant without ring.setupFlags")
                .extracting(r -> ((Response.Grant) r).ring().setupFlags()).isEqualTo(0);
    }

    @Test
    void errorCodesAreTheirNamesWithBlanksAroundThemAtMost() throws Exception {
        assertThat(resp("{\"v\":1,\"type\":\"error\",\"code\":\" NOT_PERMITTED \",\"message\":\"m\"}"))
                .as("code with blanks around it").isEqualTo(new Response.Error(ErrorCode.NOT_PERMITTED, "m"));
        for (String code : List.of("\"not_permitted\"", "\"\"", "\"0\"", "0", "[\"BUSY\"]")) {
            assertThat(responseRefused("{\"v\":1,\"type\":\"error\",\"code\":" + code + ",\"message\":\"m\"}").getMessage())
                    .as("code %s", code).contains("code");
        }
    }

    // ------------------------------------------------------------------ reading: which refusal wins

    @Test
    void anUnsupportedVersionWinsOverAnyFieldRefusal() {
        assertThat(refused("{\"clientFds\":\"2\",\"policy\":\"p\",\"v\":2,\"op\":\"acquire\"}").code())
                .as("bad clientFds before v:2").isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        assertThat(responseRefused("{\"ticket\":null,\"x\":1,\"type\":\"grant\",\"v\":99999999999}").code())
                .as("null and unknown field before a huge v").isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        assertThat(responseRefused(grantWith("\"v\":1", "\"v\":3").replace("\"sqEntries\":64", "\"sqEntries\":6.4")).code())
                .as("v:3 with a float ring.sqEntries").isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        assertThat(responseRefused("{\"lease\":{\"a\":1,\"b\":2},\"v\":2,\"type\":\"released\"}").code())
                .as("an object for a lease before v:2").isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        assertThat(refused("{\"v\":2,\"op\":\"fly\"}").code()).as("v:2 with an unknown op")
                .isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
    }

    @Test
    void aDuplicateNameAnywhereIsBadRequestEvenWithAnUnsupportedVersion() {
        assertThat(refused("{\"v\":2,\"v\":2,\"op\":\"release\",\"lease\":\"l\"}").getMessage())
                .as("duplicate v").startsWith("Duplicate field 'v'");
        assertThat(refused("{\"v\":1,\"op\":\"release\",\"op\":\"release\",\"lease\":\"l\"}").getMessage())
                .as("duplicate op").startsWith("Duplicate field 'op'");
        assertThat(refused("{\"x\":1,\"y\":[],\"x\":2,\"v\":2,\"op\":\"release\",\"lease\":\"l\"}").getMessage())
                .as("duplicate unknown name before v:2").startsWith("Duplicate field 'x'");
        assertThat(responseRefused(grantWith("\"v\":1", "\"v\":2").replace("\"features\":262143,",
                "\"features\":262143,\"cqEntries\":1,")).getMessage()).as("duplicate in ring after v:2")
                .startsWith("Duplicate field 'cqEntries'");
        assertThat(responseRefused(grantWith("\"files\":[]", "\"files\":[{\"index\":0,\"name\":\"a\"},"
                + "{\"name\":\"b\",\"index\":1,\"name\":\"c\"}]").replace("\"v\":1", "\"v\":2")).code())
                .as("duplicate in the second files[] after v:2").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(responseRefused(grantWith("\"registerOps\"", "\"sqeOps\":[],\"registerOps\"")).getMessage())
                .as("duplicate in allowed").startsWith("Duplicate field 'sqeOps'");
        assertThat(responseRefused("{\"lease\":{\"a\":1,\"b\":{\"c\":[{\"d\":0,\"d\":0}]}},\"v\":2,"
                + "\"type\":\"released\"}").code()).as("duplicate deep inside a value before v:2")
                .isEqualTo(ErrorCode.BAD_REQUEST);
    }

    @Test
    void aSyntaxErrorOrALimitWinsOverAnUnsupportedVersion() {
        assertThat(refused("{\"v\":2,\"op\":\"acquire\",\"policy\":\"p\"").code()).as("truncated after v:2")
                .isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(responseRefused("{\"v\":2,\"type\":\"released\",\"lease\":\"l\"} x").code()).as("garbage after v:2")
                .isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(responseRefused("{\"v\":2,\"type\":\"released\",\"x\":" + "[".repeat(40) + "]".repeat(40) + "}").code())
                .as("too deep after v:2").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(refused("{\"v\":2,\"op\":\"acquire\",\"policy\":\"p\",\"clientFds\":1" + "0".repeat(40) + "}").code())
                .as("a 41-digit number after v:2").isEqualTo(ErrorCode.BAD_REQUEST);
        // The tree is built first, and it cannot hold a broken string: v:2 does not get to win.
        byte[] head = "{\"v\":2,\"type\":\"grant\",\"ticket\":\"".getBytes(UTF_8);
        byte[] body = java.util.Arrays.copyOf(head, head.length + 4);
        body[head.length] = (byte) 0xC3;
        body[head.length + 1] = (byte) 0x28;
        body[head.length + 2] = '"';
        body[head.length + 3] = '}';
        assertThat(catchThrowableOfType(RefusedException.class, () -> ProtocolCodec.decodeResponse(body)).code())
                .as("invalid UTF-8 in a value after v:2").isEqualTo(ErrorCode.BAD_REQUEST);
    }

    @Test
    void aSyntaxErrorSaysWhereItIs() {
        assertThat(refused("{\"v\":1,\"op\":\"release\",\"lease\":\"l\"} x").getMessage()).as("garbage after the object")
                .endsWith("(at byte 35)");
    }

    // ------------------------------------------------------------------ reading: refusals name the field

    @Test
    void aVersionThatIsNotAnIntegerIsBadRequest() {
        for (String v : List.of("1.0", "\"1\"", "null", "true", "[1]", "{\"v\":1}")) {
            RefusedException e = refused("{\"v\":" + v + ",\"op\":\"release\",\"lease\":\"l\"}");
            assertThat(e.code()).as("v: %s", v).isEqualTo(ErrorCode.BAD_REQUEST);
            assertThat(e.getMessage()).as("v: %s", v).contains("\"v\"");
        }
        assertThat(refused("{\"op\":\"release\",\"lease\":\"l\"}").getMessage()).as("no v").contains("\"v\"");
    }

    @Test
    void unknownFieldsAreRefusedByNameWhereverTheyAre() {
        assertThat(refused("{\"v\":1,\"op\":\"release\",\"lease\":\"l\",\"extra\":1}").getMessage())
                .as("after the fields").isEqualTo("unknown field \"extra\"");
        assertThat(refused("{\"extra\":[1,{}],\"v\":1,\"op\":\"release\",\"lease\":\"l\"}").getMessage())
                .as("before the head").isEqualTo("unknown field \"extra\"");
        assertThat(responseRefused("{\"v\":1,\"type\":\"released\",\"lease\":\"l\",\"ticket\":1}").getMessage())
                .as("a grant field on released").isEqualTo("unknown field \"ticket\"");
        assertThat(responseRefused(grantWith("\"array\":2112", "\"array\":2112,\"bogus\":0")).getMessage())
                .as("inside ring.sqOff").isEqualTo("unknown field \"bogus\" in ring.sqOff");
        assertThat(responseRefused(grantWith("\"files\":[]", "\"files\":[{\"index\":0,\"name\":\"a\",\"x\":1}]")).getMessage())
                .as("inside files[0]").isEqualTo("unknown field \"x\" in files[0]");
    }

    @Test
    void nullIsRefusedWherever() {
        String message = "null is not a value in this protocol; leave an optional field out instead";
        assertThat(refused("{\"v\":1,\"op\":\"release\",\"lease\":null}").getMessage()).as("top level").isEqualTo(message);
        assertThat(responseRefused(grantWith("[\"NOP\"]", "[\"NOP\",null]")).getMessage()).as("in allowed.sqeOps")
                .isEqualTo(message);
        assertThat(responseRefused(grantWith("\"cqOff\":{", "\"cqOff\":null,\"x\":{")).getMessage()).as("ring.cqOff")
                .isEqualTo(message);
    }

    @Test
    void valuesOfTheWrongShapeOrSizeAreRefusedNamingTheField() {
        assertThat(refused("{\"v\":1,\"op\":\"acquire\",\"policy\":\"p\",\"clientFds\":2.5}").getMessage())
                .as("float clientFds").startsWith("\"clientFds\": ");
        assertThat(refused("{\"v\":1,\"op\":\"acquire\",\"policy\":true}").getMessage()).as("boolean policy")
                .startsWith("\"policy\": ");
        assertThat(responseRefused(grantWith("\"sqEntries\":64", "\"sqEntries\":\"64\"")).getMessage())
                .as("string ring.sqEntries").startsWith("\"ring.sqEntries\": ");
        assertThat(responseRefused(grantWith("\"sqEntries\":64", "\"sqEntries\":2147483648")).getMessage())
                .as("ring.sqEntries beyond int").startsWith("\"ring.sqEntries\": ").contains("out of range of int");
        assertThat(responseRefused(grantWith("\"ticket\":7683424845172460601", "\"ticket\":9223372036854775808"))
                .getMessage()).as("ticket beyond long").startsWith("\"ticket\": ").contains("out of range of long");
        assertThat(refused("{\"v\":1,\"op\":\"transparent-setup\",\"notif\":18446744073709551615,\"pid\":1,\"entries\":1,"
                + "\"flags\":0,\"cqEntries\":0}").getMessage()).as("notif as an unsigned 64-bit number")
                .startsWith("\"notif\": ");
        assertThat(responseRefused(grantWith("\"enabled\":true", "\"enabled\":1")).getMessage()).as("number enabled")
                .startsWith("\"ring.enabled\": ");
        assertThat(responseRefused(grantWith("\"files\":[]", "\"files\":{}")).getMessage()).as("object files")
                .startsWith("\"files\": ");
        assertThat(responseRefused(grantWith("\"files\":[]", "\"files\":[{\"index\":0,\"name\":\"a\"},{\"index\":\"1\",\"name\":\"b\"}]"))
                .getMessage()).as("string index of the second file").startsWith("\"files[1].index\": ");
        assertThat(responseRefused(grantWith("\"registerOps\":[\"PROBE\"]", "\"registerOps\":\"PROBE\"")).getMessage())
                .as("string registerOps").startsWith("\"allowed.registerOps\": ");
        assertThat(responseRefused("{\"v\":1,\"type\":\"send-fds\",\"count\":1e0}").getMessage()).as("float count")
                .startsWith("\"count\": ");
    }

    @Test
    void theRecordsOwnChecksStillApply() {
        assertThat(refused("{\"v\":1,\"op\":\"acquire\",\"policy\":\"\"}").getMessage()).as("empty policy")
                .isEqualTo("acquire: policy must not be empty");
        assertThat(refused("{\"v\":1,\"op\":\"acquire\"}").getMessage()).as("no policy").isEqualTo("acquire needs a policy");
        assertThat(responseRefused("{\"v\":1,\"type\":\"send-fds\"}").getMessage()).as("count absent, so 0")
                .contains("send-fds count");
        assertThat(responseRefused(grantWith("\"buffers\":[]",
                "\"buffers\":[{\"index\":0,\"name\":\"io\",\"fd\":0,\"length\":1,\"address\":2}]")).getMessage())
                .as("a buffer naming a descriptor the grant does not send").contains("names descriptor 0 of 0");
        assertThat(responseRefused(grantWith(",\"cqOff\":{\"head\":8,\"tail\":12,\"ringMask\":20,\"ringEntries\":28,"
                + "\"overflow\":44,\"cqes\":64,\"flags\":40}", "")).getMessage()).as("ring without cqOff").isEqualTo("cqOff");
        assertThat(responseRefused(grantWith("\"files\":[]", "\"files\":[{\"index\":0}]")).getMessage())
                .as("file without name").isEqualTo("name");
        assertThat(refused("{\"policy\":\"p\",\"op\":\"fly\",\"v\":1}").getMessage()).as("unknown op, after a field")
                .contains("unknown op \"fly\"");
    }
}
