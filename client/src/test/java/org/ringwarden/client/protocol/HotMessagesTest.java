package org.ringwarden.client.protocol;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.uring.IoUringParams;

/** The streaming path of the acquire-path messages, case by case (ProtocolCodecDifferentialTest generates the rest). */
@Timeout(10)
class HotMessagesTest {

    /** What the benchmark daemon sends, byte for byte. */
    static final String BENCH_GRANT = "{\"v\":1,\"type\":\"grant\",\"lease\":\"a979656aff5a9a7aad347446a76eff28\","
            + "\"policy\":\"bench-nop\",\"ticket\":7683424845172460601,\"fds\":0,\"ring\":{\"sqEntries\":64,\"cqEntries\":128,"
            + "\"setupFlags\":200,\"features\":262143,\"enabled\":true,\"sqOff\":{\"head\":0,\"tail\":4,\"ringMask\":16,"
            + "\"ringEntries\":24,\"flags\":36,\"dropped\":32,\"array\":2112},\"cqOff\":{\"head\":8,\"tail\":12,\"ringMask\":20,"
            + "\"ringEntries\":28,\"overflow\":44,\"cqes\":64,\"flags\":40}},\"files\":[],\"buffers\":[],"
            + "\"allowed\":{\"sqeOps\":[\"NOP\"],\"sqeFlagsAllowed\":[],\"sqeFlagsRequired\":[],\"registerOps\":[\"PROBE\"]}}";

    private static Request request(String json) throws ProtocolException {
        Request r = HotMessages.decodeRequest(json.getBytes(UTF_8));
        assertThat(r).as("the streaming path decides %s", json).isNotNull();
        return r;
    }

    private static Response response(String json) throws ProtocolException {
        Response r = HotMessages.decodeResponse(json.getBytes(UTF_8));
        assertThat(r).as("the streaming path decides %s", json).isNotNull();
        return r;
    }

    private static ProtocolException requestRefused(String json) {
        ProtocolException e = catchThrowableOfType(ProtocolException.class,
                () -> HotMessages.decodeRequest(json.getBytes(UTF_8)));
        assertThat(e).as("refused: %s", json).isNotNull();
        ProtocolException reference = catchThrowableOfType(ProtocolException.class,
                () -> ProtocolCodec.decodeRequestWithDatabind(json.getBytes(UTF_8)));
        assertThat(reference).as("refused by the databind path too: %s", json).isNotNull();
        assertThat(e.code()).as("same code as the databind path for %s", json).isEqualTo(reference.code());
        return e;
    }

    private static ProtocolException responseRefused(String json) {
        ProtocolException e = catchThrowableOfType(ProtocolException.class,
                () -> HotMessages.decodeResponse(json.getBytes(UTF_8)));
        assertThat(e).as("refused: %s", json).isNotNull();
        ProtocolException reference = catchThrowableOfType(ProtocolException.class,
                () -> ProtocolCodec.decodeResponseWithDatabind(json.getBytes(UTF_8)));
        assertThat(reference).as("refused by the databind path too: %s", json).isNotNull();
        assertThat(e.code()).as("same code as the databind path for %s", json).isEqualTo(reference.code());
        return e;
    }

    /**
     * Refused by the codec (the streaming path, or the databind path if the streaming path
     * hands the body on) with the databind path's code; the streaming path either hands it on
     * or refuses it with that code too.
     */
    private static ProtocolException responseRefusedByTheCodec(String json) {
        byte[] body = json.getBytes(UTF_8);
        ProtocolException e = catchThrowableOfType(ProtocolException.class, () -> ProtocolCodec.decodeResponse(body));
        assertThat(e).as("refused: %s", json).isNotNull();
        ProtocolException reference = catchThrowableOfType(ProtocolException.class,
                () -> ProtocolCodec.decodeResponseWithDatabind(body));
        assertThat(reference).as("refused by the databind path too: %s", json).isNotNull();
        assertThat(e.code()).as("same code as the databind path for %s", json).isEqualTo(reference.code());
        Throwable streaming = catchThrowable(() -> assertThat(HotMessages.decodeResponse(body))
                .as("the streaming path hands %s on", json).isNull());
        if (streaming != null) {
            assertThat(streaming).as("the streaming path's refusal of %s", json).isInstanceOf(ProtocolException.class);
            assertThat(((ProtocolException) streaming).code()).as("streaming code for %s", json).isEqualTo(reference.code());
        }
        return e;
    }

    private static String grantWith(String from, String to) {
        assertThat(BENCH_GRANT).as("the grant has %s", from).contains(from);
        return BENCH_GRANT.replace(from, to);
    }

    @Test
    void theBenchmarkGrantDecodesAndEncodesToTheSameBytes() throws Exception {
        Response.Grant expected = new Response.Grant("a979656aff5a9a7aad347446a76eff28", "bench-nop", 7683424845172460601L, 0,
                new Response.Ring(64, 128, 200, 262143, true, new IoUringParams.SqOffsets(0, 4, 16, 24, 36, 32, 2112),
                        new IoUringParams.CqOffsets(8, 12, 20, 28, 44, 64, 40)),
                List.of(), List.of(), new Response.Allowed(List.of("NOP"), List.of(), List.of(), List.of("PROBE")));
        assertThat(response(BENCH_GRANT)).as("decoded grant").isEqualTo(expected);
        assertThat(new String(ProtocolCodec.encode(expected), UTF_8)).as("encoded grant").isEqualTo(BENCH_GRANT);
    }

    @Test
    void fieldsMayComeInAnyOrderWithTheHeadLast() throws Exception {
        assertThat(request("{\"clientFds\":2,\"policy\":\"p\",\"op\":\"acquire\",\"v\":1}")).as("acquire, head last")
                .isEqualTo(new Request.Acquire("p", 2));
        assertThat(response("{\"message\":\"no\",\"type\":\"error\",\"code\":\"NOT_PERMITTED\",\"v\":1}"))
                .as("error, head scattered").isEqualTo(new Response.Error(ErrorCode.NOT_PERMITTED, "no"));
        assertThat(request("{\"v\":1,\"op\":\"rel\\u0065ase\",\"le\\u0061se\":\"l\"}")).as("escaped names and kind")
                .isEqualTo(new Request.Release("l"));
        assertThat(response("{\"v\":1,\"type\":\"released\",\"le\\u0061se\":\"l\"}")).as("escaped name where expected")
                .isEqualTo(new Response.Released("l"));
        assertThat(responseRefused("{\"v\":1,\"type\":\"released\",\"lease\":\"l\",\"le\\u0061se\":\"m\"}").getMessage())
                .as("escaped duplicate").contains("lease");
        assertThat(response(" {\n\"lease\" : \"l\" ,\t\"v\":1 , \"type\":\"released\" }\r\n")).as("released with whitespace")
                .isEqualTo(new Response.Released("l"));
    }

    @Test
    void absentOptionalNumbersAreZero() throws Exception {
        assertThat(request("{\"v\":1,\"op\":\"acquire\",\"policy\":\"p\"}")).as("acquire without clientFds")
                .isEqualTo(new Request.Acquire("p", 0));
        assertThat(response(grantWith("\"setupFlags\":200,", ""))).as("grant without ring.setupFlags")
                .extracting(r -> ((Response.Grant) r).ring().setupFlags()).isEqualTo(0);
    }

    @Test
    void anUnsupportedVersionWinsOverAFieldRefusedBeforeIt() {
        assertThat(requestRefused("{\"clientFds\":\"2\",\"policy\":\"p\",\"v\":2,\"op\":\"acquire\"}").code())
                .as("bad clientFds before v:2").isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        assertThat(responseRefused("{\"ticket\":null,\"x\":1,\"type\":\"grant\",\"v\":99999999999}").code())
                .as("null and unknown field before a huge v").isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        // the rest of ring is skipped unread by the typed reader, so its duplicates are not
        // checked: the streaming path hands the body on, the codec still answers alike
        assertThat(responseRefusedByTheCodec(grantWith("\"v\":1", "\"v\":3").replace("\"sqEntries\":64",
                "\"sqEntries\":6.4")).code()).as("v:3 before a float ring.sqEntries")
                .isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
    }

    @Test
    void aDuplicateAnywhereIsBadRequestEvenWithAnUnsupportedVersion() {
        assertThat(requestRefused("{\"v\":2,\"v\":2,\"op\":\"release\",\"lease\":\"l\"}").getMessage())
                .as("duplicate v").isEqualTo("Duplicate field 'v'");
        assertThat(requestRefused("{\"v\":1,\"op\":\"release\",\"op\":\"release\",\"lease\":\"l\"}").getMessage())
                .as("duplicate op").isEqualTo("Duplicate field 'op'");
        assertThat(responseRefused("{\"type\":\"released\",\"lease\":\"l\",\"type\":\"released\",\"v\":2}").code())
                .as("duplicate type before v:2").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(requestRefused("{\"x\":1,\"y\":[],\"x\":2,\"v\":2,\"op\":\"release\",\"lease\":\"l\"}").getMessage())
                .as("duplicate unknown name before v:2").isEqualTo("Duplicate field 'x'");
        assertThat(requestRefused("{\"v\":2,\"op\":\"release\",\"ticket\":1,\"ticket\":1,\"lease\":\"l\"}").code())
                .as("duplicate name of the other direction after v:2").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(responseRefused(grantWith("\"v\":1", "\"v\":2").replace("\"features\":262143,",
                "\"features\":262143,\"cqEntries\":1,")).getMessage()).as("duplicate in ring after v:2")
                .isEqualTo("Duplicate field 'cqEntries'");
        assertThat(responseRefused(grantWith("\"v\":1", "\"v\":2").replace("\"cqes\":64,", "\"cqes\":64,\"cqes\":64,"))
                .code()).as("duplicate in ring.cqOff after v:2").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(responseRefused(grantWith("\"files\":[]", "\"files\":[{\"index\":0,\"name\":\"a\"},"
                + "{\"name\":\"b\",\"index\":1,\"name\":\"c\"}]").replace("\"v\":1", "\"v\":2")).code())
                .as("duplicate in the second files[] after v:2").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(responseRefused(grantWith("\"fds\":0", "\"fds\":1").replace("\"buffers\":[]",
                "\"buffers\":[{\"index\":0,\"name\":\"io\",\"fd\":0,\"fd\":0,\"length\":1,\"address\":2}]")).code())
                .as("duplicate in buffers[]").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(responseRefused(grantWith("\"registerOps\"", "\"sqeOps\":[],\"registerOps\"")).getMessage())
                .as("duplicate in allowed").isEqualTo("Duplicate field 'sqeOps'");
        // inside values the typed reader skips after a refusal: the databind path decides
        assertThat(responseRefusedByTheCodec("{\"v\":2,\"type\":\"released\",\"lease\":{\"a\":1,\"a\":2}}").code())
                .as("duplicate inside a refused lease after v:2").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(responseRefusedByTheCodec("{\"lease\":{\"a\":1,\"b\":{\"c\":[{\"d\":0,\"d\":0}]}},\"v\":2,"
                + "\"type\":\"released\"}").code()).as("duplicate deep inside a refused lease before v:2")
                .isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(responseRefusedByTheCodec("{\"lease\":{\"a\":1,\"b\":2},\"v\":2,\"type\":\"released\"}").code())
                .as("no duplicate inside a refused lease before v:2").isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        assertThat(responseRefusedByTheCodec(grantWith("\"v\":1", "\"v\":2").replace("\"sqEntries\":64",
                "\"sqEntries\":true").replace("\"array\":2112", "\"array\":2112,\"head\":0")).code())
                .as("duplicate in ring.sqOff after a refused ring.sqEntries").isEqualTo(ErrorCode.BAD_REQUEST);
    }

    @Test
    void aSyntaxErrorWinsOverAnUnsupportedVersion() {
        assertThat(requestRefused("{\"v\":2,\"op\":\"acquire\",\"policy\":\"p\"").code()).as("truncated after v:2")
                .isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(requestRefused("{\"v\":2,\"op\":\"release\",\"lease\":\"l\",\"lease\":\"m\"}").code())
                .as("duplicate after v:2").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(requestRefused("{\"policy\":\"p\",\"v\":2,\"op\":\"acquire\",\"policy\":\"q\"}").code())
                .as("duplicate where the reader expects that name next").isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(responseRefused(grantWith("\"tail\":4,", "\"tail\":4,\"head\":0,")).getMessage())
                .as("duplicate in ring.sqOff").contains("head");
        assertThat(responseRefused("{\"v\":2,\"type\":\"released\",\"lease\":\"l\"} x").code()).as("garbage after v:2")
                .isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(responseRefused("{\"v\":2,\"type\":\"released\",\"x\":" + "[".repeat(40) + "]".repeat(40) + "}").code())
                .as("too deep after v:2").isEqualTo(ErrorCode.BAD_REQUEST);
    }

    @Test
    void invalidUtf8InAValueTheReaderRefusesIsStillASyntaxError() throws Exception {
        // v:2 would win over the refused ticket, but the tree the databind path builds first
        // cannot hold the broken string: BAD_REQUEST on both paths.
        byte[] head = "{\"v\":2,\"type\":\"grant\",\"ticket\":\"".getBytes(UTF_8);
        byte[] body = new byte[head.length + 4];
        System.arraycopy(head, 0, body, 0, head.length);
        body[head.length] = (byte) 0xC3;
        body[head.length + 1] = (byte) 0x28;
        body[head.length + 2] = '"';
        body[head.length + 3] = '}';
        ProtocolException streaming = catchThrowableOfType(ProtocolException.class,
                () -> HotMessages.decodeResponse(body));
        ProtocolException databind = catchThrowableOfType(ProtocolException.class,
                () -> ProtocolCodec.decodeResponseWithDatabind(body));
        assertThat(databind).as("databind refuses it").isNotNull();
        assertThat(streaming).as("streaming refuses it").isNotNull();
        assertThat(streaming.code()).as("same code").isEqualTo(databind.code()).isEqualTo(ErrorCode.BAD_REQUEST);
    }

    @Test
    void aBodyInAnotherUnicodeEncodingIsReadAsTheDatabindPathReadsIt() throws Exception {
        byte[] utf16 = "{\"v\":1,\"op\":\"release\",\"lease\":\"l\u00e9\"}".getBytes(java.nio.charset.StandardCharsets.UTF_16);
        assertThat(ProtocolCodec.decodeRequest(utf16)).as("UTF-16 with a byte order mark, streaming")
                .isEqualTo(ProtocolCodec.decodeRequestWithDatabind(utf16)).isEqualTo(new Request.Release("l\u00e9"));
    }

    @Test
    void aVersionThatIsNotAnIntegerIsBadRequest() {
        for (String v : List.of("1.0", "\"1\"", "null", "true", "[1]", "{\"v\":1}")) {
            assertThat(requestRefused("{\"v\":" + v + ",\"op\":\"release\",\"lease\":\"l\"}").getMessage())
                    .as("v: %s", v).contains("\"v\"");
        }
        assertThat(requestRefused("{\"op\":\"release\",\"lease\":\"l\"}").getMessage()).as("no v").contains("\"v\"");
    }

    @Test
    void unknownFieldsAreRefusedByNameWhereverTheyAre() {
        assertThat(requestRefused("{\"v\":1,\"op\":\"release\",\"lease\":\"l\",\"extra\":1}").getMessage())
                .as("after the fields").isEqualTo("unknown field \"extra\"");
        assertThat(requestRefused("{\"extra\":[1,{}],\"v\":1,\"op\":\"release\",\"lease\":\"l\"}").getMessage())
                .as("before the head").isEqualTo("unknown field \"extra\"");
        assertThat(responseRefused("{\"v\":1,\"type\":\"released\",\"lease\":\"l\",\"ticket\":1}").getMessage())
                .as("a grant field on released").isEqualTo("unknown field \"ticket\"");
        assertThat(responseRefused("{\"ticket\":1,\"v\":1,\"type\":\"released\",\"lease\":\"l\"}").getMessage())
                .as("a grant field on released, before the head").isEqualTo("unknown field \"ticket\"");
        assertThat(responseRefused(grantWith("\"array\":2112", "\"array\":2112,\"bogus\":0")).getMessage())
                .as("inside ring.sqOff").isEqualTo("unknown field \"bogus\"");
    }

    @Test
    void nullIsRefusedWithTheSameMessageAsBefore() {
        String message = "null is not a value in this protocol; leave an optional field out instead";
        assertThat(requestRefused("{\"v\":1,\"op\":\"release\",\"lease\":null}").getMessage()).as("top level").isEqualTo(message);
        assertThat(responseRefused(grantWith("[\"NOP\"]", "[\"NOP\",null]")).getMessage()).as("in allowed.sqeOps")
                .isEqualTo(message);
        assertThat(responseRefused(grantWith("\"cqOff\":{", "\"cqOff\":null,\"x\":{")).getMessage()).as("ring.cqOff")
                .isEqualTo(message);
    }

    @Test
    void valuesOfTheWrongShapeAreRefusedNamingTheField() {
        assertThat(requestRefused("{\"v\":1,\"op\":\"acquire\",\"policy\":\"p\",\"clientFds\":2.5}").getMessage())
                .as("float clientFds").contains("clientFds");
        assertThat(requestRefused("{\"v\":1,\"op\":\"acquire\",\"policy\":true}").getMessage()).as("boolean policy")
                .contains("policy");
        assertThat(responseRefused(grantWith("\"sqEntries\":64", "\"sqEntries\":\"64\"")).getMessage())
                .as("string ring.sqEntries").contains("sqEntries");
        assertThat(responseRefused(grantWith("\"sqEntries\":64", "\"sqEntries\":2147483648")).getMessage())
                .as("ring.sqEntries beyond int").contains("sqEntries");
        assertThat(responseRefused(grantWith("\"ticket\":7683424845172460601", "\"ticket\":9223372036854775808"))
                .getMessage()).as("ticket beyond long").contains("ticket");
        assertThat(responseRefused(grantWith("\"enabled\":true", "\"enabled\":1")).getMessage()).as("number enabled")
                .contains("enabled");
        assertThat(responseRefused(grantWith("\"files\":[]", "\"files\":{}")).getMessage()).as("object files")
                .contains("files");
        assertThat(responseRefused(grantWith("\"registerOps\":[\"PROBE\"]", "\"registerOps\":\"PROBE\"")).getMessage())
                .as("string registerOps").contains("registerOps");
        assertThat(responseRefused("{\"v\":1,\"type\":\"send-fds\",\"count\":1e0}").getMessage()).as("float count")
                .contains("count");
    }

    @Test
    void theRecordsOwnChecksStillApply() {
        assertThat(requestRefused("{\"v\":1,\"op\":\"acquire\",\"policy\":\"\"}").getMessage()).as("empty policy")
                .isEqualTo("acquire: policy must not be empty");
        assertThat(requestRefused("{\"v\":1,\"op\":\"acquire\"}").getMessage()).as("no policy")
                .isEqualTo("acquire needs a policy");
        assertThat(responseRefused("{\"v\":1,\"type\":\"send-fds\"}").getMessage()).as("count absent, so 0")
                .contains("send-fds count");
        assertThat(responseRefused(grantWith("\"buffers\":[]",
                "\"buffers\":[{\"index\":0,\"name\":\"io\",\"fd\":0,\"length\":1,\"address\":2}]")).getMessage())
                .as("a buffer naming a descriptor the grant does not send").contains("names descriptor 0 of 0");
        assertThat(responseRefused(grantWith(",\"cqOff\":{\"head\":8,\"tail\":12,\"ringMask\":20,\"ringEntries\":28,"
                + "\"overflow\":44,\"cqes\":64,\"flags\":40}", "")).getMessage()).as("ring without cqOff").isEqualTo("cqOff");
        assertThat(responseRefused(grantWith("\"files\":[]", "\"files\":[{\"index\":0}]")).getMessage())
                .as("file without name").isEqualTo("name");
    }

    @Test
    void errorCodesAreReadAsTheDatabindPathReadsThem() throws Exception {
        assertThat(response("{\"v\":1,\"type\":\"error\",\"code\":\" NOT_PERMITTED \",\"message\":\"m\"}"))
                .as("code with blanks around it").isEqualTo(new Response.Error(ErrorCode.NOT_PERMITTED, "m"));
        for (String code : List.of("\"not_permitted\"", "\"\"", "\"0\"", "0", "[\"BUSY\"]")) {
            assertThat(responseRefused("{\"v\":1,\"type\":\"error\",\"code\":" + code + ",\"message\":\"m\"}").getMessage())
                    .as("code %s", code).contains("code");
        }
    }

    @Test
    void otherKindsAreLeftToTheDatabindPath() throws Exception {
        for (String json : List.of("{\"v\":1,\"type\":\"attached\"}", "{\"v\":1,\"type\":\"fly\"}", "{\"type\":7,\"v\":1}",
                "{\"lease\":\"l\",\"v\":1}", "{\"lease\":1,\"v\":2,\"type\":\"status\"}")) {
            assertThat(HotMessages.decodeResponse(json.getBytes(UTF_8))).as("handed on: %s", json)
                    .isNull();
        }
        assertThat(ProtocolCodec.decodeResponse("{\"v\":1,\"type\":\"attached\"}".getBytes(UTF_8))).as("attached")
                .isEqualTo(new Response.Attached());
        assertThat(catchThrowableOfType(ProtocolException.class,
                () -> ProtocolCodec.decodeRequest("{\"policy\":\"p\",\"op\":\"fly\",\"v\":1}".getBytes(UTF_8))).getMessage())
                .as("unknown op, after a hot field").contains("unknown op \"fly\"");
    }

    @Test
    void stringsJacksonCannotWriteFailTheSameWayOnBothPaths() {
        Response.Released loneSurrogate = new Response.Released("a\uD800b");
        Throwable streaming = catchThrowable(() -> ProtocolCodec.encode(loneSurrogate));
        Throwable databind = catchThrowable(() -> ProtocolCodec.encodeWithDatabind(loneSurrogate));
        if (databind == null) {
            assertThat(streaming).as("streaming writes it too").isNull();
            assertThat(ProtocolCodec.encode(loneSurrogate)).as("same bytes")
                    .isEqualTo(ProtocolCodec.encodeWithDatabind(loneSurrogate));
        } else {
            assertThat(streaming).as("streaming refuses it as databind does (%s)", databind)
                    .isInstanceOf(databind.getClass());
        }
    }

    @Test
    void requestsWithSurrogatesAndControlsAreWrittenAsTheDatabindPathWritesThem() {
        for (String s : List.of("a\uD800b", "\uDC00", "x\uD83D\uDE00y", "\uD83D", "\u0000\u001f\u007f\"\\/\u2028\u00e9\uffff")) {
            for (Request r : List.of(new Request.Acquire(s, 3), new Request.Release(s))) {
                Throwable databind = catchThrowable(() -> ProtocolCodec.encodeWithDatabind(r));
                Throwable streaming = catchThrowable(() -> ProtocolCodec.encode(r));
                if (databind == null) {
                    assertThat(streaming).as("streaming writes %s too", r).isNull();
                    assertThat(new String(ProtocolCodec.encode(r), UTF_8)).as("bytes of %s", r)
                            .isEqualTo(new String(ProtocolCodec.encodeWithDatabind(r), UTF_8));
                    assertThat(ProtocolCodec.encode(r)).as("raw bytes of %s", r).isEqualTo(ProtocolCodec.encodeWithDatabind(r));
                } else {
                    assertThat(streaming).as("streaming refuses %s as databind does (%s)", r, databind)
                            .isInstanceOf(databind.getClass());
                }
            }
        }
    }
}
