package org.ringwarden.client.protocol;

import static java.nio.charset.StandardCharsets.UTF_8;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Whatever bytes or JSON arrive, decoding returns a message or throws ProtocolException, nothing else. */
class ProtocolCodecFuzzTest {

    @Property(tries = 3000)
    void arbitraryBytesOnlyEverGiveAMessageOrAProtocolException(@ForAll byte[] body) {
        decodeBoth(body);
    }

    @Property(tries = 3000)
    void arbitraryJsonOnlyEverGivesAMessageOrAProtocolException(@ForAll("jsonish") String json) {
        decodeBoth(json.getBytes(UTF_8));
    }

    private static void decodeBoth(byte[] body) {
        try {
            ProtocolCodec.decodeRequest(body);
        } catch (ProtocolException expected) {
            // the only allowed failure
        }
        try {
            ProtocolCodec.decodeResponse(body);
        } catch (ProtocolException expected) {
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
}
