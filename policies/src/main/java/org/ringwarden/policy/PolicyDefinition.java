package org.ringwarden.policy;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.FileType;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;

/**
 * A policy as its file says it, after the shape checks and before compiling: names resolved
 * to kernel constants, defaults filled in, users and groups still by name.
 */
record PolicyDefinition(String name, String description, Subjects subjects, Ring ring,
                        Set<IoUringOp> sqeOps, Set<SqeFlag> sqeFlagsAllowed, Set<SqeFlag> sqeFlagsRequired,
                        Set<RegisterOp> registerOps, Set<RegisterOp> acknowledged,
                        List<FileDef> files, int clientFds, List<BufferSpec> buffers, Limits limits,
                        Transparent transparent, PolicyMode mode) {
    static final int DEFAULT_SQ_ENTRIES = 64;
    static final int DEFAULT_TRANSPARENT_MAX_SQ = 4096;

    PolicyDefinition {
        sqeOps = copy(IoUringOp.class, sqeOps);
        sqeFlagsAllowed = copy(SqeFlag.class, sqeFlagsAllowed);
        sqeFlagsRequired = copy(SqeFlag.class, sqeFlagsRequired);
        registerOps = copy(RegisterOp.class, registerOps);
        acknowledged = copy(RegisterOp.class, acknowledged);
        files = List.copyOf(files);
        buffers = List.copyOf(buffers);
    }

    record Subjects(List<String> users, List<String> groups, List<Integer> uids, List<Integer> gids, boolean everyone,
                    List<ContainerMatch> containers) {
        Subjects {
            users = List.copyOf(users);
            groups = List.copyOf(groups);
            uids = List.copyOf(uids);
            gids = List.copyOf(gids);
            containers = List.copyOf(containers);
        }

        static Subjects nobody() {
            return new Subjects(List.of(), List.of(), List.of(), List.of(), false, List.of());
        }

        boolean isNobody() {
            return !everyone && users.isEmpty() && groups.isEmpty() && uids.isEmpty() && gids.isEmpty()
                    && containers.isEmpty();
        }
    }

    /** {@code cqEntries} 0 means twice {@code sqEntries}. */
    record Ring(int sqEntries, int cqEntries, Set<SetupFlag> setupFlags, Enabler enabler, boolean clamp) {
        Ring {
            setupFlags = copy(SetupFlag.class, setupFlags);
        }

        static Ring defaults() {
            return new Ring(DEFAULT_SQ_ENTRIES, 0, EnumSet.of(SetupFlag.SUBMIT_ALL), Enabler.DAEMON, false);
        }
    }

    /** The words of a file's {@code access}. */
    enum Access {
        READ("read"), WRITE("write"), READ_WRITE("read-write"), APPEND("append"), CREATE("create");

        final String word;

        Access(String word) {
            this.word = word;
        }

        static @Nullable Access byWord(String w) {
            for (Access a : values()) {
                if (a.word.equals(w)) {
                    return a;
                }
            }
            return null;
        }
    }

    /** The words of a file's {@code type}, in the order messages list them. */
    static final Map<String, FileType> FILE_TYPES = fileTypes();

    private static Map<String, FileType> fileTypes() {
        Map<String, FileType> m = new java.util.LinkedHashMap<>();
        m.put("regular", FileType.REGULAR);
        m.put("directory", FileType.DIRECTORY);
        m.put("char-device", FileType.CHARACTER_DEVICE);
        m.put("block-device", FileType.BLOCK_DEVICE);
        return Collections.unmodifiableMap(m);
    }

    record FileDef(String name, String path, Set<Access> access, Set<OpenFlag> openFlags, int createMode,
                   boolean followSymlinks, FileType type) {
        FileDef {
            access = copy(Access.class, access);
            openFlags = copy(OpenFlag.class, openFlags);
        }

        boolean mayRead() {
            return access.contains(Access.READ) || access.contains(Access.READ_WRITE);
        }

        boolean mayWrite() {
            return access.contains(Access.WRITE) || access.contains(Access.READ_WRITE) || access.contains(Access.APPEND);
        }
    }

    record Transparent(boolean enabled, Map<SetupFlag, FlagDisposition> dispositions, int maxSqEntries, int maxCqEntries) {
        Transparent {
            EnumMap<SetupFlag, FlagDisposition> m = new EnumMap<>(SetupFlag.class);
            m.putAll(dispositions);
            dispositions = Collections.unmodifiableMap(m);
        }

        static Transparent disabled() {
            return new Transparent(false, Map.of(), 0, 0);
        }
    }

    static <E extends Enum<E>> Set<E> copy(Class<E> type, Set<E> s) {
        EnumSet<E> c = EnumSet.noneOf(type);
        c.addAll(s);
        return Collections.unmodifiableSet(c);
    }
}
