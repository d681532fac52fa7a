package org.ringwarden.client.protocol;

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

    private static Request req(String json) throws ProtocolException {
        return ProtocolCodec.decodeRequest(json.getBytes(UTF_8));
    }

    private static ProtocolException refused(String json) {
        return catchThrowableOfType(ProtocolException.class, () -> req(json));
    }

    @Test
    void everyRequestSurvivesARoundTrip() throws Exception {
        List<Request> all = List.of(new Request.Attach(1, null), new Request.Attach(1, "fio"),
                new Request.Acquire("reader", 0), new Request.Acquire("reader", 3), new Request.ListPolicies(),
                new Request.Release("abc"), new Request.Status(), new Request.Leases(), new Request.Reload());
        for (Request r : all) {
            assertThat(ProtocolCodec.decodeRequest(ProtocolCodec.encode(r))).as("round trip of %s", r).isEqualTo(r);
        }
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
        ProtocolException e = refused("{\"v\":1,\"op\":\"acquire\",\"policy\":\"p\",\"extra\":true}");
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
                .isInstanceOfSatisfying(ProtocolException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BAD_REQUEST));
    }

    @Test
    void deepNestingIsRefusedWithoutStackOverflow() {
        String deep = "{\"v\":1,\"op\":\"policies\",\"x\":" + "[".repeat(5000) + "]".repeat(5000) + "}";
        assertThat(refused(deep).code()).as("deep nesting").isEqualTo(ErrorCode.BAD_REQUEST);
    }
}
