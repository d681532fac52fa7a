package org.ringwarden.daemon.oci;

import static java.util.Objects.requireNonNull;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.ringwarden.daemon.grant.ContainerRef;
import org.ringwarden.daemon.systemd.SdNotify;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Syscall;
import org.ringwarden.policy.ContainerSubject;

import org.jspecify.annotations.Nullable;

/**
 * Keeps containers' listeners in systemd's file descriptor store, so that they survive
 * {@code systemctl restart ringwarden} (docs/containers.md): for each attached container,
 * {@code FDSTORE=1} with {@code FDNAME=oci-N} (a duplicate of the listener) and
 * {@code FDNAME=ocimeta-N} (a sealed memfd with what the daemon knew: id, bundle, metadata,
 * pod, policy, pid). The next start gets them back in {@code LISTEN_FDS}
 * ({@link org.ringwarden.daemon.systemd.SocketActivation.Inherited#stored()}) and attaches them
 * again, under the policies then in force. When no process is left in the container,
 * {@code FDSTOREREMOVE=1} drops both. Without {@code NOTIFY_SOCKET} nothing is stored, and a
 * restart loses the listeners: the containers' later {@code io_uring_setup} fail {@code ENOSYS}.
 */
public final class ContainerFdStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long SYS_MEMFD_CREATE = 319;
    private static final int MFD_CLOEXEC = 1;
    private static final int MFD_ALLOW_SEALING = 2;
    private static final int F_ADD_SEALS = 1033;
    /** F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE. */
    private static final int SEALS = 0x1 | 0x2 | 0x4 | 0x8;
    private static final int MAX_META = 64 * 1024;

    private final SdNotify notify;
    private final AtomicLong next;

    /** What a stored {@code ocimeta-N} says. */
    public record Stored(ContainerRef container, String policy, int pid) {
    }

    /**
     * @param notify  the service manager
     * @param already the stored descriptors the daemon was started with: new names follow theirs
     */
    public ContainerFdStore(SdNotify notify, Map<String, Integer> already) {
        this.notify = requireNonNull(notify, "notify");
        long max = 0;
        for (String n : already.keySet()) {
            max = Math.max(max, Long.parseLong(n.substring(n.indexOf('-') + 1)));
        }
        this.next = new AtomicLong(max);
    }

    /** True if there is a service manager to store descriptors with. */
    public boolean enabled() {
        return notify.enabled();
    }

    /**
     * Stores {@code listenerFd} (not taken: the caller keeps and closes its fd) and its
     * description; returns the key for {@link #remove}, or null if nothing was stored.
     */
    public @Nullable String store(ContainerRef c, String policy, int pid, int listenerFd) {
        if (!notify.enabled()) {
            return null;
        }
        String key = Long.toString(next.incrementAndGet());
        ObjectNode meta = JSON.createObjectNode();
        meta.put("id", c.subject().id());
        meta.put("podNamespace", c.subject().podNamespace());
        meta.put("podName", c.subject().podName());
        meta.put("bundle", c.bundle());
        meta.put("metadata", c.metadata());
        meta.put("policy", policy);
        meta.put("pid", pid);
        int memfd = -1;
        try {
            memfd = sealedMemfd(JSON.writeValueAsBytes(meta));
            if (!notify.sendWithFds("FDSTORE=1\nFDNAME=ocimeta-" + key, memfd)
                    || !notify.sendWithFds("FDSTORE=1\nFDNAME=oci-" + key, listenerFd)) {
                remove(key);
                return null;
            }
            return key;
        } catch (com.fasterxml.jackson.core.JacksonException | KernelException e) {
            return null;
        } finally {
            Descriptors.closeQuietly(memfd);
        }
    }

    /** Drops a container's descriptors from the store (its last process is gone). */
    public void remove(String key) {
        notify.send("FDSTOREREMOVE=1\nFDNAME=oci-" + key);
        notify.send("FDSTOREREMOVE=1\nFDNAME=ocimeta-" + key);
    }

    /** The key of a stored name ({@code oci-7} and {@code ocimeta-7}: {@code 7}). */
    public static String keyOf(String name) {
        return name.substring(name.indexOf('-') + 1);
    }

    /** The stored listeners by key, each with its description's fd, from what the daemon was started with. */
    public static Map<String, int[]> pairs(Map<String, Integer> stored) {
        Map<String, int[]> out = new TreeMap<>();
        stored.forEach((name, fd) -> {
            int[] p = out.computeIfAbsent(keyOf(name), k -> new int[] {-1, -1});
            p[name.startsWith("ocimeta-") ? 1 : 0] = fd;
        });
        return out;
    }

    /** Reads a stored description (bounded, checked like the runtime's message). */
    public static Stored read(int memfd) throws AgentMessage.Malformed {
        byte[] bytes;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(MAX_META);
            long n = Syscall.checked("pread(ocimeta)", Syscall.SYS_PREAD64, memfd, buf.address(), MAX_META, 0);
            bytes = buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        } catch (KernelException e) {
            throw new AgentMessage.Malformed("the stored description cannot be read: " + e.getMessage());
        }
        JsonNode m;
        try {
            m = JSON.readTree(bytes);
        } catch (java.io.IOException e) {
            throw new AgentMessage.Malformed("the stored description is not JSON");
        }
        if (m == null || !m.path("id").isTextual() || !AgentMessage.ID.matcher(m.path("id").asText()).matches()
                || !m.path("bundle").isTextual() || !m.path("metadata").isTextual() || !m.path("policy").isTextual()
                || !m.path("pid").canConvertToInt() || m.path("pid").asInt() <= 0) {
            throw new AgentMessage.Malformed("the stored description lacks a field: " + new String(bytes,
                    StandardCharsets.UTF_8));
        }
        ContainerSubject s = new ContainerSubject(m.get("id").asText(), text(m.get("podNamespace")), text(m.get("podName")));
        return new Stored(new ContainerRef(s, m.get("bundle").asText(), m.get("metadata").asText()),
                m.get("policy").asText(), m.get("pid").asInt());
    }

    private static @Nullable String text(@Nullable JsonNode n) {
        return n == null || !n.isTextual() ? null : n.asText();
    }

    private static int sealedMemfd(byte[] content) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment name = a.allocateFrom("ringwarden-ocimeta");
            int fd = (int) Syscall.checked("memfd_create", SYS_MEMFD_CREATE, name.address(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
            try {
                MemorySegment buf = a.allocate(Math.max(1, content.length));
                MemorySegment.copy(content, 0, buf, ValueLayout.JAVA_BYTE, 0, content.length);
                Syscall.checked("write(memfd)", Syscall.SYS_WRITE, fd, buf.address(), content.length);
                Descriptors.fcntl(fd, F_ADD_SEALS, SEALS);
                return fd;
            } catch (RuntimeException e) {
                Descriptors.closeQuietly(fd);
                throw e;
            }
        }
    }
}
