package org.ringwarden.policy;

/** The kinds of policy problem; programs and tests switch on these, people read the message. */
public enum ProblemCode {
    // --- reading the file ---
    /** The file or directory could not be read. */
    IO_ERROR,
    /** Larger than {@link PolicyLoader#MAX_FILE_BYTES}. */
    TOO_LARGE,
    /** Empty, or only white space. */
    EMPTY_FILE,
    /** Not valid UTF-8. */
    ENCODING,
    /** Not valid JSON. */
    SYNTAX,
    /** Nested deeper than any policy needs. */
    TOO_DEEP,
    /** The same key twice in one object. */
    DUPLICATE_KEY,
    /** The file or its directory may be written by someone other than root or the daemon's user. */
    INSECURE_PERMISSIONS,

    /** More problems than are worth listing in one file: the count of those left out. */
    TOO_MANY_PROBLEMS,

    // --- shape ---
    /** A field the language does not have. */
    UNKNOWN_FIELD,
    /** A required field is absent. */
    MISSING_FIELD,
    /** A value of the wrong JSON type. */
    WRONG_TYPE,
    /** A value of the right type outside what the field accepts. */
    BAD_VALUE,
    /** A name (policy, file, buffer) that does not match the naming rule. */
    BAD_NAME,
    /** A size that does not parse, or uses an unknown unit. */
    BAD_SIZE,
    /** Two policies, files or buffers with the same name, or a list naming the same thing twice. */
    DUPLICATE_NAME,

    // --- names of kernel things ---
    UNKNOWN_SQE_OP,
    UNKNOWN_SQE_FLAG,
    UNKNOWN_REGISTER_OP,
    UNKNOWN_SETUP_FLAG,
    UNKNOWN_OPEN_FLAG,
    /** An {@code @group} name that does not exist for the list it is in. */
    UNKNOWN_OP_GROUP,
    UNKNOWN_ACCESS_MODE,

    // --- composition (extends and drop-ins) ---
    /** {@code extends} names a policy that is not in the set; the nearest name is suggested. */
    UNKNOWN_BASE,
    /** {@code extends} leads back to the policy itself. */
    EXTENDS_CYCLE,
    /** A base policy has errors of its own, so nothing can be composed from it. */
    BROKEN_BASE,
    /** A drop-in sets {@code name} or {@code extends}, which only the policy itself may. */
    DROP_IN_FIELD,
    /** A {@code NAME.d} directory of drop-ins with no policy {@code NAME} in the set. */
    ORPHAN_DROP_IN,

    // --- the security rules ---
    /** {@code SQPOLL} (and {@code SQ_AFF}): the poll thread runs SQEs with the daemon's credentials. */
    SQPOLL_FORBIDDEN,
    /** {@code MSG_RING} copies fixed files into an unrestricted ring. */
    MSG_RING_FORBIDDEN,
    /** A register opcode that would undo the restrictions ({@code RESTRICTIONS}, {@code ENABLE_RINGS}, {@code PERSONALITY}). */
    REGISTER_OP_FORBIDDEN,
    /** A register opcode that changes the fixed-file table, allowed only when acknowledged. */
    REGISTER_OP_NOT_ACKNOWLEDGED,
    /** A setup flag the broker cannot grant ({@code R_DISABLED}, {@code ATTACH_WQ}, {@code NO_MMAP}...). */
    SETUP_FLAG_FORBIDDEN,
    /** Setup flags that do not work together, or not with this enabler. */
    SETUP_FLAG_CONFLICT,
    /** Ring entries outside the kernel's range. */
    ENTRIES_OUT_OF_RANGE,
    /** Ring entries not a power of two. */
    ENTRIES_NOT_POWER_OF_TWO,
    /** Fewer CQ entries than SQ entries. */
    CQ_SMALLER_THAN_SQ,
    /** A path that is not absolute. */
    PATH_NOT_ABSOLUTE,
    /** A path with {@code .}, {@code ..}, {@code //} or a trailing slash. */
    PATH_NOT_NORMALISED,
    /** A user name that this system does not know. */
    UNKNOWN_USER,
    /** A group name that this system does not know. */
    UNKNOWN_GROUP,
    /** Limits that make the policy impossible to grant (its own buffers exceed the per-user bytes). */
    LIMIT_CONFLICT,
    /** An SQE opcode the running kernel does not support. */
    KERNEL_UNSUPPORTED,
    /** {@code subjects.containers} on a policy that is not for transparent use (docs/containers.md). */
    CONTAINERS_NEED_TRANSPARENT,

    // --- warnings ---
    /** An opcode that takes a path or no file, allowed without {@code FIXED_FILE} required. */
    UNFIXED_OPCODE,
    /** Nobody may acquire the policy, or it allows no operation. */
    GRANTS_NOTHING,
    /** A fixed file the daemon cannot open now. */
    FILE_NOT_OPENABLE,
    /** A file's open mode was narrowed to what its allowed opcodes need. */
    MODE_NARROWED,
    /** {@code FIXED_FD_INSTALL}: hands the client an ordinary descriptor of a fixed file, outside the restrictions. */
    FIXED_FILE_ESCAPE,
    /** A register opcode that pins memory charged to the daemon's user, outside the policy's limits. */
    DAEMON_CHARGED_MEMORY,
    /** The SQE opcode {@code FILES_UPDATE}: the client can put its own descriptors in the fixed-file table. */
    FIXED_TABLE_CHANGE,
    /** Fixed files or client descriptors that no SQE can use, since {@code FIXED_FILE} is neither allowed nor required. */
    UNUSABLE_FILES,
    /** Ring entries rounded or capped because the policy asked for clamping. */
    ENTRIES_CLAMPED,
    /** {@code SUBMIT_ALL} not among the setup flags: a refused SQE ends the batch. */
    NO_SUBMIT_ALL,
    /** A directory on a fixed file's path that someone but root or the daemon's user may change (or owns). */
    REPLACEABLE_FILE,
    /** Open to {@code everyone} with fixed files, buffers or register opcodes that pin memory. */
    OPEN_TO_EVERYONE,
    /** Register opcodes listed without {@code PROBE}, which the list then no longer holds. */
    NO_PROBE,
    /** Transparent use drops {@code SQPOLL}: a program that relies on the SQ thread waits for it forever. */
    SQPOLL_DROPPED,
    /** The kernel could not be probed, so opcode support was not checked. */
    KERNEL_PROBE_FAILED,
    /** {@code "mode": "complain"}: the kernel enforces only the ceiling; what the lists leave out is reported. */
    COMPLAIN_MODE
}
