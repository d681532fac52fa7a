package org.ringwarden.daemon.oci;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * What an OCI runtime sends to a seccomp agent ({@code specs.ContainerProcessState} of the
 * runtime spec): the container state as JSON, with the listener as {@code SCM_RIGHTS}.
 * runc 1.1 sends it compact, crun 1.8 pretty-printed:
 *
 * <pre>{@code
 * {"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":7619,"metadata":"policy=fio",
 *  "state":{"ociVersion":"1.0.2-dev","id":"t1","status":"creating","pid":7619,"bundle":"/path"}}
 * }</pre>
 *
 * Parsed strictly, as hostile input: bounded in size and depth, duplicate keys refused, every
 * field this daemon uses required and checked for type and form; fields it does not use are
 * ignored (runtimes add them).
 *
 * @param fds      the names of the descriptors sent, in order ({@code seccompFd} once)
 * @param pid      the container's process, in the agent's pid namespace
 * @param metadata the profile's {@code listenerMetadata} ({@code ""} if absent)
 * @param id       the container id ({@code state.id})
 * @param bundle   the bundle directory ({@code state.bundle}), absolute
 */
public record AgentMessage(List<String> fds, int pid, String metadata, String id, String bundle) {
    /** The largest message taken: a state is a few hundred bytes; annotations may add some. */
    public static final int MAX_BYTES = 64 * 1024;
    /** OCI runtimes' container ids (runc: {@code ^[\w+-\.]+$}), bounded. */
    static final Pattern ID = Pattern.compile("[A-Za-z0-9_+.-]{1,1024}");
    static final int MAX_METADATA = 1024;
    static final int MAX_PATH = 4096;

    private static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16)
                            .maxStringLength(MAX_BYTES).maxNumberLength(20).build())
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    public AgentMessage {
        fds = List.copyOf(fds);
        requireNonNull(metadata, "metadata");
        requireNonNull(id, "id");
        requireNonNull(bundle, "bundle");
    }

    /** The index of the seccomp listener among the descriptors sent. */
    public int seccompFdIndex() {
        return fds.indexOf("seccompFd");
    }

    /** A message that is not acceptable; the words say which field and why. */
    public static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message);
        }
    }

    /**
     * Whether {@code bytes[0..length)} holds one whole JSON value (perhaps followed by blanks):
     * the runtime may keep the connection open after sending, so the end of the message is
     * the end of the value, not of the stream.
     *
     * @throws Malformed if it can never become one (bad syntax, too deep, too long)
     */
    static boolean complete(byte[] bytes, int length) throws Malformed {
        try (JsonParser p = MAPPER.getFactory().createParser(bytes, 0, length)) {
            if (p.nextToken() == null) {
                return false;
            }
            p.skipChildren();
            return true;
        } catch (JsonEOFException e) {
            return false;
        } catch (IOException e) {
            throw new Malformed("not JSON: " + firstLine(String.valueOf(e.getMessage())));
        }
    }

    /** Parses and checks a whole message. */
    public static AgentMessage parse(byte[] bytes, int length) throws Malformed {
        if (length > MAX_BYTES) {
            throw new Malformed("the message is longer than " + MAX_BYTES + " bytes");
        }
        JsonNode root;
        try (JsonParser p = MAPPER.getFactory().createParser(bytes, 0, length)) {
            root = MAPPER.readTree(p);
            if (p.nextToken() != null) {
                throw new Malformed("trailing content after the JSON value");
            }
        } catch (IOException e) {
            throw new Malformed("not JSON: " + firstLine(String.valueOf(e.getMessage())));
        }
        if (root == null || !root.isObject()) {
            throw new Malformed("expected a JSON object (the container process state)");
        }
        JsonNode fdsNode = root.get("fds");
        if (fdsNode == null || !fdsNode.isArray() || fdsNode.size() == 0 || fdsNode.size() > 8) {
            throw new Malformed("`fds` must be an array of 1 to 8 descriptor names");
        }
        List<String> fds = new ArrayList<>();
        for (JsonNode f : fdsNode) {
            if (!f.isTextual() || f.asText().length() > 64) {
                throw new Malformed("`fds` holds a name that is not a short string");
            }
            fds.add(f.asText());
        }
        if (fds.stream().filter("seccompFd"::equals).count() != 1) {
            throw new Malformed("`fds` must name `seccompFd` exactly once, not " + fds);
        }
        int pid = positiveInt(root.get("pid"), "pid");
        String metadata = "";
        JsonNode md = root.get("metadata");
        if (md != null && !md.isNull()) {
            if (!md.isTextual() || md.asText().length() > MAX_METADATA) {
                throw new Malformed("`metadata` must be a string of at most " + MAX_METADATA + " characters");
            }
            metadata = md.asText();
        }
        JsonNode state = root.get("state");
        if (state == null || !state.isObject()) {
            throw new Malformed("`state` must be an object (the container's OCI state)");
        }
        JsonNode idNode = state.get("id");
        if (idNode == null || !idNode.isTextual() || !ID.matcher(idNode.asText()).matches()) {
            throw new Malformed("`state.id` must be a container id: 1 to 1024 of [A-Za-z0-9_+.-]");
        }
        JsonNode b = state.get("bundle");
        if (b == null || !b.isTextual() || !b.asText().startsWith("/") || b.asText().length() > MAX_PATH
                || b.asText().indexOf('\0') >= 0) {
            throw new Malformed("`state.bundle` must be an absolute path of at most " + MAX_PATH + " bytes");
        }
        JsonNode statePid = state.get("pid");
        if (statePid != null && positiveInt(statePid, "state.pid") != pid) {
            throw new Malformed("`state.pid` and `pid` differ");
        }
        return new AgentMessage(fds, pid, metadata, idNode.asText(), b.asText());
    }

    private static int positiveInt(JsonNode n, String field) throws Malformed {
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() <= 0) {
            throw new Malformed("`" + field + "` must be a positive integer (a process id)");
        }
        return n.asInt();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return printable(nl < 0 ? s : s.substring(0, nl));
    }

    /** At most 200 characters, control characters as {@code ?}: for audit lines and logs. */
    static String printable(String s) {
        String t = s.length() > 200 ? s.substring(0, 200) + "…" : s;
        return t.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }
}
