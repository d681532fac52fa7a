package org.ringwarden.policy;

import static org.ringwarden.linux.uring.IoUringOp.ACCEPT;
import static org.ringwarden.linux.uring.IoUringOp.ASYNC_CANCEL;
import static org.ringwarden.linux.uring.IoUringOp.CONNECT;
import static org.ringwarden.linux.uring.IoUringOp.FSYNC;
import static org.ringwarden.linux.uring.IoUringOp.LINK_TIMEOUT;
import static org.ringwarden.linux.uring.IoUringOp.NOP;
import static org.ringwarden.linux.uring.IoUringOp.POLL_ADD;
import static org.ringwarden.linux.uring.IoUringOp.POLL_REMOVE;
import static org.ringwarden.linux.uring.IoUringOp.READ;
import static org.ringwarden.linux.uring.IoUringOp.READV;
import static org.ringwarden.linux.uring.IoUringOp.READ_FIXED;
import static org.ringwarden.linux.uring.IoUringOp.RECV;
import static org.ringwarden.linux.uring.IoUringOp.RECVMSG;
import static org.ringwarden.linux.uring.IoUringOp.SEND;
import static org.ringwarden.linux.uring.IoUringOp.SENDMSG;
import static org.ringwarden.linux.uring.IoUringOp.SHUTDOWN;
import static org.ringwarden.linux.uring.IoUringOp.SYNC_FILE_RANGE;
import static org.ringwarden.linux.uring.IoUringOp.TIMEOUT;
import static org.ringwarden.linux.uring.IoUringOp.TIMEOUT_REMOVE;
import static org.ringwarden.linux.uring.IoUringOp.WRITE;
import static org.ringwarden.linux.uring.IoUringOp.WRITEV;
import static org.ringwarden.linux.uring.IoUringOp.WRITE_FIXED;

import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.RegisterOp;

/**
 * Named groups of opcodes that a policy's lists may use ({@code "ops": ["@read", "FADVISE"]}),
 * as systemd's {@code SystemCallFilter=@file-system} does for system calls. A group stands for
 * its members, no more: the compiled restrictions list opcodes, never groups.
 *
 * <p>Every member is an opcode of Linux 5.19 or older, so that a group never names something
 * the running kernel's probe refuses (a policy using {@code @read} loads on every kernel the
 * daemon supports). Groups do not overlap the risk classes in {@link OpcodeClasses} by
 * accident: {@code @net} is the only group with opcodes that act on descriptors the client
 * brings itself, and the loader's usual warnings apply to what it expands to.
 */
final class OpcodeGroups {
    private OpcodeGroups() {
    }

    /** SQE opcode groups, by name (with the {@code @}), in the documented order. */
    static final Map<String, Set<IoUringOp>> SQE = sqeGroups();

    /** Register opcode groups, by name. */
    static final Map<String, Set<RegisterOp>> REGISTER = registerGroups();

    private static Map<String, Set<IoUringOp>> sqeGroups() {
        Map<String, Set<IoUringOp>> m = new LinkedHashMap<>();
        m.put("@read", EnumSet.of(READ, READV, READ_FIXED));
        m.put("@write", EnumSet.of(WRITE, WRITEV, WRITE_FIXED));
        m.put("@sync", EnumSet.of(FSYNC, SYNC_FILE_RANGE));
        m.put("@net", EnumSet.of(ACCEPT, CONNECT, SEND, RECV, SENDMSG, RECVMSG, SHUTDOWN));
        m.put("@poll", EnumSet.of(POLL_ADD, POLL_REMOVE));
        m.put("@timeout", EnumSet.of(TIMEOUT, TIMEOUT_REMOVE, LINK_TIMEOUT));
        m.put("@basic", EnumSet.of(NOP, ASYNC_CANCEL));
        return frozen(m);
    }

    private static Map<String, Set<RegisterOp>> registerGroups() {
        Map<String, Set<RegisterOp>> m = new LinkedHashMap<>();
        m.put("@probe", EnumSet.of(RegisterOp.REGISTER_PROBE));
        m.put("@buffers", EnumSet.of(RegisterOp.REGISTER_BUFFERS, RegisterOp.UNREGISTER_BUFFERS));
        m.put("@files", EnumSet.of(RegisterOp.REGISTER_FILES, RegisterOp.UNREGISTER_FILES,
                RegisterOp.REGISTER_FILES_UPDATE));
        m.put("@eventfd", EnumSet.of(RegisterOp.REGISTER_EVENTFD, RegisterOp.REGISTER_EVENTFD_ASYNC,
                RegisterOp.UNREGISTER_EVENTFD));
        return frozen(m);
    }

    private static <E extends Enum<E>> Map<String, Set<E>> frozen(Map<String, Set<E>> m) {
        m.replaceAll((k, v) -> Collections.unmodifiableSet(v));
        return Collections.unmodifiableMap(m);
    }

    /** The members of group {@code name} for a list of {@code type}; null when there is no such group. */
    @SuppressWarnings("unchecked")
    static <E extends Enum<E>> @Nullable Set<E> members(Class<E> type, String name) {
        Map<String, ? extends Set<?>> groups = groupsOf(type);
        return (Set<E>) groups.get(name);
    }

    /** The group names a list of {@code type} may use (empty for lists without groups). */
    static List<String> names(Class<?> type) {
        return List.copyOf(groupsOf(type).keySet());
    }

    private static Map<String, ? extends Set<?>> groupsOf(Class<?> type) {
        if (type == IoUringOp.class) {
            return SQE;
        }
        if (type == RegisterOp.class) {
            return REGISTER;
        }
        return Map.of();
    }
}
