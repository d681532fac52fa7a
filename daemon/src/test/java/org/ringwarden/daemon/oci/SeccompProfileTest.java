package org.ringwarden.daemon.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.Test;

/** {@code ringwarden seccomp-profile}: the io_uring rules and listener settings over an allow-list. */
class SeccompProfileTest {
    /** Every rule naming {@code call}, as "ACTION" strings. */
    private static List<String> actionsFor(JsonNode profile, String call) {
        List<String> out = new ArrayList<>();
        for (JsonNode r : profile.get("syscalls")) {
            for (JsonNode n : r.path("names")) {
                if (n.asText().equals(call)) {
                    out.add(r.get("action").asText());
                }
            }
        }
        return out;
    }

    @Test
    void defaultProfileNotifiesSetupAllowsEnterAndRegisterAndNamesTheListener() {
        ObjectNode p = SeccompProfile.build(SeccompProfile.defaultBase(), "fio", "/run/ringwarden/oci-agent.sock");
        assertThat(p.get("listenerPath").asText()).isEqualTo("/run/ringwarden/oci-agent.sock");
        assertThat(p.get("listenerMetadata").asText()).isEqualTo("policy=fio");
        assertThat(p.get("defaultAction").asText()).isEqualTo("SCMP_ACT_ERRNO");
        assertThat(actionsFor(p, "io_uring_setup")).containsExactly("SCMP_ACT_NOTIFY");
        assertThat(actionsFor(p, "io_uring_enter")).containsExactly("SCMP_ACT_ALLOW");
        assertThat(actionsFor(p, "io_uring_register")).containsExactly("SCMP_ACT_ALLOW");
        assertThat(actionsFor(p, "read")).containsExactly("SCMP_ACT_ALLOW");
        for (String host : new String[] {"mount", "unshare", "setns", "bpf", "ptrace", "init_module", "kexec_load",
                "reboot", "keyctl", "perf_event_open"}) {
            assertThat(actionsFor(p, host)).as(host + " is not allowed").isEmpty();
        }
    }

    @Test
    void aBaseKeepsItsRulesButNotItsOwnIoUringOnes() throws Exception {
        String base = """
                {"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                  {"names":["read","io_uring_setup","io_uring_enter"],"action":"SCMP_ACT_ALLOW"},
                  {"names":["io_uring_register"],"action":"SCMP_ACT_ALLOW"},
                  {"names":["write"],"action":"SCMP_ACT_LOG"}]}""";
        ObjectNode b = SeccompProfile.parseBase(base.getBytes(StandardCharsets.UTF_8), "base.json");
        ObjectNode p = SeccompProfile.build(b, "pg", "/x.sock");
        assertThat(actionsFor(p, "io_uring_setup")).containsExactly("SCMP_ACT_NOTIFY");
        assertThat(actionsFor(p, "io_uring_enter")).containsExactly("SCMP_ACT_ALLOW");
        assertThat(actionsFor(p, "read")).containsExactly("SCMP_ACT_ALLOW");
        assertThat(actionsFor(p, "write")).containsExactly("SCMP_ACT_LOG");
        assertThat(p.get("syscalls")).hasSize(4);
        assertThat(b.get("syscalls")).as("the base itself is untouched").hasSize(3);
    }

    @Test
    void unusableBasesAndNamesAreRefused() {
        assertThatThrownBy(() -> SeccompProfile.parseBase("{\"defaultAction\":\n 1,}".getBytes(StandardCharsets.UTF_8), "b.json"))
                .hasMessageStartingWith("b.json:2:");
        assertThatThrownBy(() -> SeccompProfile.parseBase("{\"syscalls\":[]}".getBytes(StandardCharsets.UTF_8), "b.json"))
                .hasMessageContaining("defaultAction");
        assertThatThrownBy(() -> SeccompProfile.parseBase("{\"defaultAction\":\"X\",\"syscalls\":[1]}"
                .getBytes(StandardCharsets.UTF_8), "b.json")).hasMessageContaining("array of objects");
        assertThatThrownBy(() -> SeccompProfile.build(SeccompProfile.defaultBase(), "Bad Name", "/x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SeccompProfile.build(SeccompProfile.defaultBase(), "fio", "relative.sock"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
