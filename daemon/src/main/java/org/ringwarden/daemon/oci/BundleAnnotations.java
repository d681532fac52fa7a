package org.ringwarden.daemon.oci;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import org.jspecify.annotations.Nullable;

/**
 * The Kubernetes pod of a container, from its bundle's {@code config.json} annotations
 * {@code io.kubernetes.pod.namespace} and {@code io.kubernetes.pod.name} (set by containerd's
 * and CRI-O's CRI plugins). The bundle path comes from the runtime, which runs as root; the
 * file is still read as untrusted input: a regular file (no symlink as its last component), at
 * most {@link #MAX_BYTES}, depth-bounded, and a name that is not a Kubernetes name is ignored.
 *
 * @param podNamespace the namespace, or null
 * @param podName      the pod's name, or null
 * @param note         why there is no pod when the file could not be used ({@code ""} otherwise)
 */
public record BundleAnnotations(@Nullable String podNamespace, @Nullable String podName, String note) {
    public static final int MAX_BYTES = 4 * 1024 * 1024;
    /** DNS subdomain (namespaces are labels, pod names subdomains), at most 253 characters. */
    private static final Pattern K8S_NAME = Pattern.compile("[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?");
    private static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build()).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    /** Reads {@code bundle/config.json}; never throws: what could not be read is in {@link #note()}. */
    public static BundleAnnotations read(Path bundle) {
        Path config = bundle.resolve("config.json");
        try {
            if (!Files.isRegularFile(config, LinkOption.NOFOLLOW_LINKS)) {
                return new BundleAnnotations(null, null, config + " is not a regular file");
            }
            byte[] bytes;
            try (InputStream in = Files.newInputStream(config, LinkOption.NOFOLLOW_LINKS)) {
                bytes = in.readNBytes(MAX_BYTES + 1);
            }
            if (bytes.length > MAX_BYTES) {
                return new BundleAnnotations(null, null, config + " is larger than " + MAX_BYTES + " bytes");
            }
            JsonNode root = MAPPER.readTree(bytes);
            JsonNode a = root == null ? null : root.get("annotations");
            if (a == null || !a.isObject()) {
                return new BundleAnnotations(null, null, "");
            }
            return new BundleAnnotations(name(a.get("io.kubernetes.pod.namespace")),
                    name(a.get("io.kubernetes.pod.name")), "");
        } catch (IOException | RuntimeException e) {
            return new BundleAnnotations(null, null, "cannot read " + config + ": "
                    + AgentMessage.printable(String.valueOf(e.getMessage())));
        }
    }

    private static @Nullable String name(@Nullable JsonNode n) {
        return n != null && n.isTextual() && K8S_NAME.matcher(n.asText()).matches() ? n.asText() : null;
    }
}
