package org.ringwarden.daemon.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** The runtime's message is hostile input: every field the agent uses is checked, sizes and depth bounded. */
class AgentMessageTest {
    private static final String RUNC = """
            {"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":7619,"metadata":"policy=fio",\
            "state":{"ociVersion":"1.0.2-dev","id":"t1","status":"creating","pid":7619,"bundle":"/path/to/bundle"}}""";
    private static final String CRUN = """
            {
              "ociVersion": "0.2.0",
              "fds": [
                "seccompFd"
              ],
              "pid": 4242,
              "metadata": "policy=fio",
              "state": {
                "ociVersion": "0.2.0",
                "id": "t2",
                "status": "creating",
                "pid": 4242,
                "bundle": "/b",
                "annotations": {"io.kubernetes.pod.name": "x"}
              }
            }
            """;

    private static AgentMessage parse(String s) throws AgentMessage.Malformed {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return AgentMessage.parse(b, b.length);
    }

    @Test
    void runcAndCrunMessagesParse() throws Exception {
        AgentMessage r = parse(RUNC);
        assertThat(r).isEqualTo(new AgentMessage(java.util.List.of("seccompFd"), 7619, "policy=fio", "t1", "/path/to/bundle"));
        assertThat(r.seccompFdIndex()).isZero();
        assertThat(parse(CRUN).id()).isEqualTo("t2");
    }

    @Test
    void aMessageIsCompleteOnlyAtTheEndOfItsValue() throws Exception {
        byte[] b = RUNC.getBytes(StandardCharsets.UTF_8);
        assertThat(AgentMessage.complete(b, b.length - 1)).isFalse();
        assertThat(AgentMessage.complete(b, 0)).isFalse();
        assertThat(AgentMessage.complete(b, b.length)).isTrue();
        assertThatThrownBy(() -> AgentMessage.complete("{]".getBytes(StandardCharsets.UTF_8), 2))
                .isInstanceOf(AgentMessage.Malformed.class);
    }

    @Test
    void hostileMessagesAreRefusedWithTheFieldNamed() {
        String[][] cases = {
                {RUNC.replace("\"fds\":[\"seccompFd\"]", "\"fds\":[\"seccompFd\",\"seccompFd\"]"), "`fds`"},
                {RUNC.replace("\"fds\":[\"seccompFd\"]", "\"fds\":[]"), "`fds`"},
                {RUNC.replace("\"pid\":7619,\"metadata\"", "\"pid\":-1,\"metadata\""), "`pid`"},
                {RUNC.replace("\"pid\":7619,\"metadata\"", "\"pid\":99999999999,\"metadata\""), "`pid`"},
                {RUNC.replace("\"pid\":7619,\"metadata\"", "\"pid\":\"7619\",\"metadata\""), "`pid`"},
                {RUNC.replace("\"pid\":7619,\"bundle\"", "\"pid\":7620,\"bundle\""), "differ"},
                {RUNC.replace("\"id\":\"t1\"", "\"id\":\"../etc\\n\""), "`state.id`"},
                {RUNC.replace("\"id\":\"t1\"", "\"id\":\"\""), "`state.id`"},
                {RUNC.replace("/path/to/bundle", "relative"), "`state.bundle`"},
                {RUNC.replace("\"metadata\":\"policy=fio\"", "\"metadata\":7"), "`metadata`"},
                {RUNC.replace("\"metadata\":\"policy=fio\"", "\"metadata\":\"a\",\"metadata\":\"b\""), "Duplicate"},
                {RUNC + " {}", "trailing"},
                {"[" + "[".repeat(40) + "]".repeat(40) + "]", "not JSON"},
                {"[1]", "object"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> parse(c[0])).as(c[0]).isInstanceOf(AgentMessage.Malformed.class)
                    .hasMessageContaining(c[1]);
        }
        byte[] big = new byte[AgentMessage.MAX_BYTES + 1];
        assertThatThrownBy(() -> AgentMessage.parse(big, big.length)).hasMessageContaining("longer than");
    }

    @Test
    void metadataNamesExactlyOnePolicy() throws Exception {
        assertThat(ListenerMetadata.parse("policy=fio").policy()).isEqualTo("fio");
        for (String bad : new String[] {"", "fio", "policy=", "policy=Fio", "policy=a,policy=b", "policy=a,uid=0",
                "policy=../x"}) {
            assertThatThrownBy(() -> ListenerMetadata.parse(bad)).as(bad).isInstanceOf(AgentMessage.Malformed.class);
        }
    }
}
