package org.ringwarden.daemon.oci;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.jspecify.annotations.Nullable;

/**
 * The OCI seccomp profile a container needs to get its rings from ringwarden
 * (docs/containers.md): an allow-list (ringwarden's {@code default-profile.json}, or the
 * administrator's {@code --base}) in which {@code io_uring_setup} is {@code SCMP_ACT_NOTIFY},
 * {@code io_uring_enter}/{@code io_uring_register} are allowed (the only rings in the
 * container are the daemon's, restricted by the policy), and {@code listenerPath} and
 * {@code listenerMetadata} send the listener to the agent socket under the policy's name.
 * The same JSON is a runc/crun bundle's {@code linux.seccomp}, and a profile file for podman,
 * Docker and Kubernetes ({@code seccompProfile: Localhost}).
 */
public final class SeccompProfile {
    /** The three io_uring calls, which the profile decides itself whatever the base says. */
    static final List<String> IO_URING = List.of("io_uring_setup", "io_uring_enter", "io_uring_register");
    private static final Pattern POLICY = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private SeccompProfile() {
    }

    /** A base profile that cannot be used; the message says where and why. */
    public static final class BadBase extends Exception {
        private static final long serialVersionUID = 1L;

        BadBase(String message, @Nullable Throwable cause) {
            super(message, cause);
        }
    }

    /** ringwarden's own allow-list, shipped in the jar. */
    public static ObjectNode defaultBase() {
        try (InputStream in = SeccompProfile.class.getResourceAsStream("default-profile.json")) {
            return (ObjectNode) JSON.readTree(requireNonNull(in, "default-profile.json is in the jar"));
        } catch (IOException e) {
            throw new IllegalStateException("the bundled default-profile.json cannot be read", e);
        }
    }

    /** Parses a base profile ({@code --base}): a JSON object whose {@code syscalls}, if any, is an array of objects. */
    public static ObjectNode parseBase(byte[] bytes, String source) throws BadBase {
        JsonNode n;
        try {
            n = JSON.readTree(bytes);
        } catch (JacksonException e) {
            var at = e.getLocation();
            throw new BadBase(source + (at == null ? "" : ":" + at.getLineNr() + ":" + at.getColumnNr()) + ": "
                    + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new BadBase(source + ": " + e.getMessage(), e);
        }
        if (!(n instanceof ObjectNode o)) {
            throw new BadBase(source + ": a seccomp profile is a JSON object", null);
        }
        JsonNode sc = o.get("syscalls");
        if (sc != null && !(sc.isArray() && java.util.stream.StreamSupport.stream(sc.spliterator(), false)
                .allMatch(JsonNode::isObject))) {
            throw new BadBase(source + ": `syscalls` must be an array of objects", null);
        }
        if (!o.has("defaultAction")) {
            throw new BadBase(source + ": the profile has no `defaultAction`", null);
        }
        return o;
    }

    /**
     * The profile: {@code base} (not modified) without any rule for the io_uring calls, plus
     * ringwarden's two rules and the listener settings.
     *
     * @param policy      the policy the agent is to serve the container under ({@code listenerMetadata})
     * @param agentSocket the agent socket's path ({@code listenerPath}), absolute
     */
    public static ObjectNode build(ObjectNode base, String policy, String agentSocket) {
        if (!POLICY.matcher(policy).matches()) {
            throw new IllegalArgumentException("not a policy name: " + policy);
        }
        if (!agentSocket.startsWith("/")) {
            throw new IllegalArgumentException("the agent socket path must be absolute: " + agentSocket);
        }
        ObjectNode p = base.deepCopy();
        p.put("listenerPath", agentSocket);
        p.put("listenerMetadata", "policy=" + policy);
        ArrayNode out = JSON.createArrayNode();
        JsonNode in = p.get("syscalls");
        if (in != null) {
            for (JsonNode rule : in) {
                ObjectNode r = ((ObjectNode) rule).deepCopy();
                JsonNode names = r.get("names");
                if (names instanceof ArrayNode a) {
                    for (Iterator<JsonNode> it = a.iterator(); it.hasNext(); ) {
                        if (IO_URING.contains(it.next().asText())) {
                            it.remove();
                        }
                    }
                    if (a.isEmpty()) {
                        continue;
                    }
                }
                if (r.has("name") && IO_URING.contains(r.get("name").asText())) {
                    continue; // the older single-name form
                }
                out.add(r);
            }
        }
        ObjectNode notify = out.addObject();
        notify.putArray("names").add("io_uring_setup");
        notify.put("action", "SCMP_ACT_NOTIFY");
        notify.put("comment", "answered by the ringwarden daemon with a ring made under policy " + policy);
        ObjectNode allow = out.addObject();
        allow.putArray("names").add("io_uring_enter").add("io_uring_register");
        allow.put("action", "SCMP_ACT_ALLOW");
        allow.put("comment", "the only rings in the container are ringwarden's, restricted by the policy");
        p.set("syscalls", out);
        return p;
    }

    /** The profile as the text the command prints. */
    public static String toJson(ObjectNode profile) {
        try {
            return JSON.writeValueAsString(profile) + "\n";
        } catch (JacksonException e) {
            throw new IllegalStateException(e);
        }
    }
}
