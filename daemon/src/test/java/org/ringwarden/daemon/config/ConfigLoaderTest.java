package org.ringwarden.daemon.config;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ConfigLoaderTest {
    private static final Map<String, String> ENV = Map.of();

    private static DaemonConfig parse(String json) throws ConfigException {
        return ConfigLoader.parse(json.getBytes(UTF_8), "daemon.json", ENV);
    }

    @Test
    void emptyObjectGivesTheDefaults() throws Exception {
        assertThat(parse("{}")).as("{} is the default configuration").isEqualTo(DaemonConfig.defaults(ENV));
    }

    @Test
    void defaultsUseTheRuntimeDirectory() {
        DaemonConfig c = DaemonConfig.defaults(Map.of("RUNTIME_DIRECTORY", "/run/rw-test:/run/other"));
        assertThat(c.socket().path()).as("socket in $RUNTIME_DIRECTORY's first entry").isEqualTo(Path.of("/run/rw-test/ringwarden.sock"));
        assertThat(DaemonConfig.defaults(ENV).socket().path()).as("without it")
                .isEqualTo(Path.of("/run/ringwarden/ringwarden.sock"));
        assertThat(DaemonConfig.defaults(ENV).adminSocket().mode()).as("admin socket root-only by default").isEqualTo(0600);
        assertThat(DaemonConfig.defaults(ENV).policies()).as("bundled policies by default").isNull();
    }

    @Test
    void everyFieldIsRead() throws Exception {
        DaemonConfig c = parse("""
                {"socket":{"path":"/run/x/c.sock","mode":"0660","group":"users"},
                 "adminSocket":{"path":"/run/x/a.sock"},
                 "adminGroup":"wheel",
                 "policies":"/etc/rw/p",
                 "limits":{"connectionsTotal":10,"connectionsPerUid":2,"requestTimeout":"250ms","idleTimeout":"2m",
                           "ticketExpiry":"10s","leasesTotal":7,"leasesPerUid":3,"bufferBytesTotal":"1GiB",
                           "bufferBytesPerUid":4096},
                 "audit":{"destination":"stdout"}}
                """);
        assertThat(c.socket()).as("socket").isEqualTo(new SocketSettings(Path.of("/run/x/c.sock"), 0660, "users"));
        assertThat(c.adminSocket()).as("admin socket opened to the admin group")
                .isEqualTo(new SocketSettings(Path.of("/run/x/a.sock"), 0660, "wheel"));
        assertThat(c.policies()).as("policies").isEqualTo(Path.of("/etc/rw/p"));
        assertThat(c.limits()).as("limits").isEqualTo(new Limits(10, 2, Duration.ofMillis(250), Duration.ofMinutes(2),
                Duration.ofSeconds(10), 7, 3, 1L << 30, 4096));
        assertThat(c.audit()).as("audit").isEqualTo(new AuditSettings(AuditSettings.Destination.STDOUT, null));
    }

    @Test
    void agentSocketIsOffUnlessTheFileAsksAndThenDefaultsToTheRuntimeDirectory() throws Exception {
        assertThat(parse("{}").agentSocket()).as("no agent socket by default").isNull();
        assertThat(parse("{\"agentSocket\": {}}").agentSocket())
                .isEqualTo(new SocketSettings(DaemonConfig.runtimeDirectory(ENV).resolve("oci-agent.sock"), 0600, null));
        assertThat(parse("{\"agentSocket\": {\"path\": \"/run/x/agent.sock\", \"mode\": \"0660\"}}").agentSocket())
                .isEqualTo(new SocketSettings(java.nio.file.Path.of("/run/x/agent.sock"), 0660, null));
        assertThatThrownBy(() -> parse("{\"agentSocket\": {\"pth\": \"/x\"}}"))
                .hasMessageContaining("daemon.json:1:").hasMessageContaining("pth");
    }

    @Test
    void unknownFieldIsAnErrorWithLineAndColumn() {
        assertThatThrownBy(() -> parse("{\n  \"limits\": {\n    \"connectionz\": 3\n  }\n}"))
                .as("misspelt field").isInstanceOf(ConfigException.class)
                .hasMessageContaining("daemon.json:3:").hasMessageContaining("connectionz");
    }

    @Test
    void errorsSayWhereWhichFieldWhatItMustHoldAndWhatItHeld() {
        assertThatThrownBy(() -> parse("{\"limits\": {\"connectionsTotal\": \"10\"}}")).as("a quoted number")
                .isInstanceOf(ConfigException.class)
                .hasMessage("daemon.json:1:33: limits.connectionsTotal: expected a whole number (up to 2147483647, "
                        + "without quotes), not the string \"10\"");
        assertThatThrownBy(() -> parse("{\n  \"limits\": {\n    \"connectionsTotl\": 3\n  }\n}")).as("misspelt field")
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("daemon.json:3:5: unknown field \"connectionsTotl\" in \"limits\"; "
                        + "did you mean \"connectionsTotal\"? (known: ");
        assertThatThrownBy(() -> parse("{\"polices\": \"/etc/rw\"}")).as("misspelt top-level field")
                .isInstanceOf(ConfigException.class).hasMessageContaining("did you mean \"policies\"?");
        assertThatThrownBy(() -> parse("{\"socket\": \"/run/rw.sock\"}")).as("a string where an object belongs")
                .isInstanceOf(ConfigException.class)
                .hasMessage("daemon.json:1:12: socket: expected an object { ... }, not the string \"/run/rw.sock\"");
        assertThatThrownBy(() -> parse("{\"adminGroup\": null}")).as("null")
                .isInstanceOf(ConfigException.class).hasMessageContaining("adminGroup: expected a string, not null");
        assertThatThrownBy(() -> parse("{\n\"limits\": {\"requestTimeout\": \"5 years\"}}")).as("a bad value, after binding")
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("daemon.json:2:30: limits.requestTimeout must be a duration");
        assertThatThrownBy(() -> parse("{\"limits\": {\"connectionsTotal\": 1.5}}")).as("a fraction")
                .isInstanceOf(ConfigException.class).hasMessageContaining("not the number 1.5, which is not whole");
    }

    @Test
    void wrongTypesAndBadValuesAreErrors() {
        assertThatThrownBy(() -> parse("{\"limits\":{\"connectionsTotal\":\"ten\"}}")).as("string for int")
                .isInstanceOf(ConfigException.class).hasMessageContaining("daemon.json:1:");
        assertThatThrownBy(() -> parse("{\"limits\":{\"requestTimeout\":\"5 years\"}}")).as("bad duration")
                .isInstanceOf(ConfigException.class).hasMessageContaining("requestTimeout");
        assertThatThrownBy(() -> parse("{\"limits\":{\"connectionsTotal\":0}}")).as("zero")
                .isInstanceOf(ConfigException.class).hasMessageContaining("connectionsTotal");
        assertThatThrownBy(() -> parse("{\"socket\":{\"path\":\"relative.sock\"}}")).as("relative path")
                .isInstanceOf(ConfigException.class).hasMessageContaining("absolute");
        assertThatThrownBy(() -> parse("{\"socket\":{\"mode\":\"0999\"}}")).as("bad mode")
                .isInstanceOf(ConfigException.class).hasMessageContaining("octal");
        assertThatThrownBy(() -> parse("{\"audit\":{\"destination\":\"syslog\"}}")).as("bad destination")
                .isInstanceOf(ConfigException.class).hasMessageContaining("destination");
        assertThatThrownBy(() -> parse("{\"policies\":\"/a\",\"policies\":\"/b\"}")).as("duplicate")
                .isInstanceOf(ConfigException.class).hasMessageContaining("policies");
        assertThatThrownBy(() -> parse("{\"socket\":{\"path\":\"/a.sock\"},\"adminSocket\":{\"path\":\"/a.sock\"}}"))
                .as("same path twice").isInstanceOf(ConfigException.class).hasMessageContaining("different");
        assertThatThrownBy(() -> parse("[]")).as("not an object").isInstanceOf(ConfigException.class);
    }

    @Test
    void theAuditFileHasASizeCapRotatedFilesAndAnOptionalGroup() throws Exception {
        assertThat(parse("{}").audit()).as("defaults: 64 MiB, four rotated files, no group")
                .isEqualTo(new AuditSettings(AuditSettings.Destination.FILE, Path.of("/var/log/ringwarden/audit.jsonl"),
                        64L << 20, 4, null));
        assertThat(parse("{}").audit().filePermissions()).as("no group: owner only")
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        AuditSettings a = parse("""
                {"audit":{"file":"/var/log/rw/a.jsonl","maxFileBytes":"1MiB","keepFiles":7,"group":"adm"}}
                """).audit();
        assertThat(a).as("every audit field")
                .isEqualTo(new AuditSettings(AuditSettings.Destination.FILE, Path.of("/var/log/rw/a.jsonl"), 1L << 20, 7,
                        "adm"));
        assertThat(a.filePermissions()).as("with a group: group may read")
                .isEqualTo(PosixFilePermissions.fromString("rw-r-----"));
        assertThat(parse("{\"audit\":{\"maxFileBytes\":8192}}").audit().maxFileBytes()).as("a plain number of bytes")
                .isEqualTo(8192);
    }

    @Test
    void badAuditFieldsAreErrors() {
        assertThatThrownBy(() -> parse("{\"audit\":{\"maxFileBytes\":\"1KiB\"}}")).as("cap below 4 KiB")
                .isInstanceOf(ConfigException.class).hasMessageContaining("audit.maxFileBytes").hasMessageContaining("4096");
        assertThatThrownBy(() -> parse("{\"audit\":{\"maxFileBytes\":\"lots\"}}")).as("not a size")
                .isInstanceOf(ConfigException.class).hasMessageContaining("audit.maxFileBytes");
        assertThatThrownBy(() -> parse("{\"audit\":{\"keepFiles\":0}}")).as("no rotated file")
                .isInstanceOf(ConfigException.class).hasMessageContaining("audit.keepFiles");
        assertThatThrownBy(() -> parse("{\"audit\":{\"keepFiles\":21}}")).as("more than Logback's window")
                .isInstanceOf(ConfigException.class).hasMessageContaining("audit.keepFiles");
        assertThatThrownBy(() -> parse("{\n \"audit\":{\"keepFiles\":\"4\"}}")).as("string for int, with its place")
                .isInstanceOf(ConfigException.class).hasMessageContaining("daemon.json:2:");
        assertThatThrownBy(() -> parse("{\n \"audit\":{\n  \"groupe\":\"adm\"}}")).as("misspelt, with its place")
                .isInstanceOf(ConfigException.class).hasMessageContaining("daemon.json:3:").hasMessageContaining("groupe");
        assertThatThrownBy(() -> parse("{\"audit\":{\"group\":\" \"}}")).as("blank group")
                .isInstanceOf(ConfigException.class).hasMessageContaining("audit.group");
        assertThatThrownBy(() -> parse("{\"audit\":{\"destination\":\"stdout\",\"keepFiles\":2}}"))
                .as("rotation without a file").isInstanceOf(ConfigException.class).hasMessageContaining("audit.keepFiles")
                .hasMessageContaining("only meaningful");
        assertThatThrownBy(() -> parse("{\"audit\":{\"destination\":\"stderr\",\"group\":\"adm\"}}"))
                .as("group without a file").isInstanceOf(ConfigException.class).hasMessageContaining("audit.group");
        assertThatThrownBy(() -> parse("{\"audit\":{\"file\":\"/var/log/a%i.jsonl\"}}")).as("a Logback pattern")
                .isInstanceOf(ConfigException.class).hasMessageContaining("'%'");
        assertThatThrownBy(() -> parse("{\"audit\":{\"file\":\"/var/log/a\\\\b.jsonl\"}}")).as("a backslash")
                .isInstanceOf(ConfigException.class).hasMessageContaining("'\\'");
    }

    @Test
    void sizesAndDurationsParse() {
        assertThat(ConfigLoader.size("x", "256MiB")).as("MiB").isEqualTo(256L << 20);
        assertThat(ConfigLoader.size("x", 12)).as("number").isEqualTo(12);
        assertThat(ConfigLoader.duration("x", "2h")).as("hours").isEqualTo(Duration.ofHours(2));
        assertThatThrownBy(() -> ConfigLoader.size("x", "99999999999TiB")).as("overflow")
                .isInstanceOf(IllegalArgumentException.class);
    }
}
