package org.ringwarden.policy;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.FileType;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.KernelConstant;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;
import org.ringwarden.policy.JsonTree.Arr;
import org.ringwarden.policy.JsonTree.Location;
import org.ringwarden.policy.JsonTree.Member;
import org.ringwarden.policy.JsonTree.Node;
import org.ringwarden.policy.JsonTree.Obj;

/**
 * Turns a {@link JsonTree} into a {@link PolicyDefinition}, reporting every shape problem
 * (unknown field, wrong type, unknown name with the nearest valid one) and carrying on with a
 * default, so that one run shows all the problems of a file. Remembers where each resolved
 * name was written, for {@link PolicyRules}.
 */
final class PolicyReader {
    static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    static final Pattern ACCOUNT = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\\$?");

    /** {@code extends} is taken out by {@link PolicyComposer} before a document is read; listed for suggestions. */
    static final List<String> TOP = List.of("name", "extends", "description", "subjects", "ring", "sqe", "register", "files",
            "clientFds", "buffers", "limits", "transparent", "mode");
    static final List<String> SUBJECTS = List.of("users", "groups", "uids", "gids", "everyone", "containers");
    static final List<String> CONTAINER = List.of("id", "podNamespace", "podName");
    static final List<String> RING = List.of("sqEntries", "cqEntries", "setupFlags", "enabler", "clamp");
    static final List<String> SQE = List.of("ops", "flagsAllowed", "flagsRequired");
    static final List<String> REGISTER = List.of("ops", "acknowledge");
    static final List<String> FILE = List.of("name", "path", "access", "openFlags", "createMode", "followSymlinks", "type");
    static final List<String> BUFFER = List.of("name", "size");
    static final List<String> LIMITS = List.of("leasesPerUser", "bufferBytesPerUser");
    static final List<String> TRANSPARENT = List.of("enabled", "honour", "drop", "refuse", "maxSqEntries", "maxCqEntries");

    static final int MAX_CLIENT_FDS = 1024;
    static final int MAX_LIST = 256;

    /** Where things were written, for the semantic rules. */
    static final class Origins {
        final Map<String, Location> at = new HashMap<>();
        final Map<IoUringOp, Node> sqeOps = new EnumMap<>(IoUringOp.class);
        final Map<SqeFlag, Node> flagsRequired = new EnumMap<>(SqeFlag.class);
        final Map<SetupFlag, Node> setupFlags = new EnumMap<>(SetupFlag.class);
        final Map<RegisterOp, Node> registerOps = new EnumMap<>(RegisterOp.class);
        final Map<SetupFlag, Node> transparentFlags = new EnumMap<>(SetupFlag.class);
        final Map<String, Node> users = new LinkedHashMap<>();
        final Map<String, Node> groups = new LinkedHashMap<>();

        /** The location of {@code path}, or of its nearest written ancestor. */
        Location of(String path) {
            String p = path;
            while (true) {
                Location l = at.get(p);
                if (l != null) {
                    return l;
                }
                int cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
                if (cut <= 0) {
                    return at.getOrDefault("$", Location.START);
                }
                p = p.substring(0, cut);
            }
        }
    }

    /** A read policy: its definition (null if the shape was too broken to build one) and origins. */
    record Read(@Nullable PolicyDefinition definition, Origins origins) {
    }

    private final Problems problems;
    private final Origins origins = new Origins();

    private PolicyReader(Problems problems) {
        this.problems = problems;
    }

    static Read read(Node root, Problems problems) {
        PolicyReader r = new PolicyReader(problems);
        r.index(root);
        return new Read(r.policy(root), r.origins);
    }

    private void index(Node n) {
        origins.at.put(n.path(), n.at());
        if (n instanceof Obj o) {
            o.members().values().forEach(m -> index(m.value()));
        } else if (n instanceof Arr a) {
            a.items().forEach(this::index);
        }
    }

    private @Nullable PolicyDefinition policy(Node root) {
        if (!(root instanceof Obj o)) {
            problems.error(root.at(), "$", ProblemCode.WRONG_TYPE,
                    "expected a JSON object describing one policy, found " + root.kind(), null);
            return null;
        }
        fields(o, TOP, "a policy");
        String name = name(required(o, "name"), "policy");
        String description = description(required(o, "description"));
        PolicyDefinition.Subjects subjects = subjects(o.members().get("subjects"));
        PolicyDefinition.Ring ring = ring(o.members().get("ring"));
        Set<IoUringOp> ops = EnumSet.noneOf(IoUringOp.class);
        Set<SqeFlag> allowed = EnumSet.noneOf(SqeFlag.class);
        Set<SqeFlag> required = EnumSet.noneOf(SqeFlag.class);
        Member sqe = o.members().get("sqe");
        if (sqe != null && object(sqe.value()) instanceof Obj s) {
            fields(s, SQE, "`sqe`");
            ops = names(s.members().get("ops"), IoUringOp.class, IoUringOp.values(), "an SQE opcode",
                    ProblemCode.UNKNOWN_SQE_OP, origins.sqeOps);
            allowed = names(s.members().get("flagsAllowed"), SqeFlag.class, SqeFlag.values(), "an SQE flag",
                    ProblemCode.UNKNOWN_SQE_FLAG, new EnumMap<>(SqeFlag.class));
            required = names(s.members().get("flagsRequired"), SqeFlag.class, SqeFlag.values(), "an SQE flag",
                    ProblemCode.UNKNOWN_SQE_FLAG, origins.flagsRequired);
        }
        Set<RegisterOp> registerOps = EnumSet.noneOf(RegisterOp.class);
        Set<RegisterOp> acknowledged = EnumSet.noneOf(RegisterOp.class);
        Member reg = o.members().get("register");
        if (reg != null && object(reg.value()) instanceof Obj r) {
            fields(r, REGISTER, "`register`");
            registerOps = names(r.members().get("ops"), RegisterOp.class, RegisterOp.values(), "a register opcode",
                    ProblemCode.UNKNOWN_REGISTER_OP, origins.registerOps);
            acknowledged = names(r.members().get("acknowledge"), RegisterOp.class, RegisterOp.values(),
                    "a register opcode", ProblemCode.UNKNOWN_REGISTER_OP, new EnumMap<>(RegisterOp.class));
        }
        List<PolicyDefinition.FileDef> files = list(o.members().get("files"), this::file);
        int clientFds = 0;
        Member cf = o.members().get("clientFds");
        if (cf != null) {
            clientFds = integer(cf.value(), 0, MAX_CLIENT_FDS, 0);
        }
        List<BufferSpec> buffers = list(o.members().get("buffers"), this::buffer);
        Limits limits = limits(o.members().get("limits"));
        PolicyDefinition.Transparent transparent = transparent(o.members().get("transparent"));
        PolicyMode mode = mode(o.members().get("mode"));
        if (name == null) {
            name = "";
        }
        if (description == null) {
            description = "";
        }
        return new PolicyDefinition(name, description, subjects, ring, ops, allowed, required, registerOps,
                acknowledged, files, clientFds, buffers, limits, transparent, mode);
    }

    // --- sections ---

    private PolicyDefinition.Subjects subjects(@Nullable Member m) {
        if (m == null || !(object(m.value()) instanceof Obj o)) {
            return PolicyDefinition.Subjects.nobody();
        }
        fields(o, SUBJECTS, "`subjects`");
        List<String> users = accounts(o.members().get("users"), "user", origins.users);
        List<String> groups = accounts(o.members().get("groups"), "group", origins.groups);
        List<Integer> uids = ids(o.members().get("uids"));
        List<Integer> gids = ids(o.members().get("gids"));
        boolean everyone = o.members().containsKey("everyone") && bool(o.members().get("everyone").value(), false);
        List<ContainerMatch> containers = list(o.members().get("containers"), this::container);
        return new PolicyDefinition.Subjects(users, groups, uids, gids, everyone, containers);
    }

    /** One entry of {@code subjects.containers}: {@code {"id": ..., "podNamespace": ..., "podName": ...}}. */
    private @Nullable ContainerMatch container(Node n) {
        if (!(object(n) instanceof Obj o)) {
            return null;
        }
        fields(o, CONTAINER, "a container match");
        String[] v = new String[CONTAINER.size()];
        boolean bad = false;
        for (int i = 0; i < v.length; i++) {
            Member m = o.members().get(CONTAINER.get(i));
            if (m == null) {
                continue;
            }
            String s = string(m.value());
            if (s == null) {
                bad = true;
            } else if (!ContainerMatch.VALUE.matcher(s).matches()) {
                problems.error(m.value().at(), m.value().path(), ProblemCode.BAD_VALUE, "`" + printable(s)
                        + "` is not a container id or Kubernetes name: 1 to 253 letters, digits, `.`, `_`, `-`,"
                        + " starting with a letter or digit, optionally ending with `*` (a prefix)", null);
                bad = true;
            } else {
                v[i] = s;
            }
        }
        if (bad) {
            return null;
        }
        if (v[0] == null && v[1] == null && v[2] == null) {
            problems.error(o.at(), o.path(), ProblemCode.BAD_VALUE,
                    "a container match names at least one of `id`, `podNamespace`, `podName`", null);
            return null;
        }
        return new ContainerMatch(v[0], v[1], v[2]);
    }

    private PolicyDefinition.Ring ring(@Nullable Member m) {
        PolicyDefinition.Ring d = PolicyDefinition.Ring.defaults();
        if (m == null || !(object(m.value()) instanceof Obj o)) {
            return d;
        }
        fields(o, RING, "`ring`");
        // Entries are range-checked by the rules (they may be clamped), only their type here.
        int sq = o.members().containsKey("sqEntries") ? integer(o.members().get("sqEntries").value(), Integer.MIN_VALUE, Integer.MAX_VALUE, d.sqEntries()) : d.sqEntries();
        int cq = o.members().containsKey("cqEntries") ? integer(o.members().get("cqEntries").value(), Integer.MIN_VALUE, Integer.MAX_VALUE, 0) : 0;
        Set<SetupFlag> flags = o.members().containsKey("setupFlags")
                ? names(o.members().get("setupFlags"), SetupFlag.class, SetupFlag.values(), "a setup flag",
                        ProblemCode.UNKNOWN_SETUP_FLAG, origins.setupFlags)
                : d.setupFlags();
        Enabler enabler = d.enabler();
        Member en = o.members().get("enabler");
        if (en != null) {
            String s = string(en.value());
            if (s != null) {
                switch (s) {
                    case "daemon" -> enabler = Enabler.DAEMON;
                    case "client" -> enabler = Enabler.CLIENT;
                    default -> problems.unknown(en.value().at(), en.value().path(), ProblemCode.BAD_VALUE,
                            "`" + s + "` is not an enabler (expected `daemon` or `client`)",
                            Names.suggest(s, List.of("daemon", "client")));
                }
            }
        }
        boolean clamp = o.members().containsKey("clamp") && bool(o.members().get("clamp").value(), false);
        return new PolicyDefinition.Ring(sq, cq, flags, enabler, clamp);
    }

    private PolicyDefinition.@Nullable FileDef file(Node n) {
        if (!(object(n) instanceof Obj o)) {
            return null;
        }
        fields(o, FILE, "a file");
        String name = name(required(o, "name"), "file");
        Member pm = required(o, "path");
        String path = pm == null ? null : string(pm.value());
        Set<PolicyDefinition.Access> access = EnumSet.noneOf(PolicyDefinition.Access.class);
        Member am = required(o, "access");
        if (am != null) {
            List<Node> words = am.value() instanceof Arr a ? a.items() : List.of(am.value());
            if (am.value() instanceof Arr a && a.items().isEmpty()) {
                problems.error(am.value().at(), am.value().path(), ProblemCode.BAD_VALUE,
                        "`access` is empty; expected read, write, read-write or append", null);
            }
            for (Node w : words) {
                String s = string(w);
                if (s == null) {
                    continue;
                }
                PolicyDefinition.Access a = PolicyDefinition.Access.byWord(s);
                if (a == null) {
                    problems.unknown(w.at(), w.path(), ProblemCode.UNKNOWN_ACCESS_MODE,
                            "`" + s + "` is not an access mode (read, write, read-write, append, create)",
                            Names.suggest(s, Arrays.stream(PolicyDefinition.Access.values()).map(x -> x.word).toList()));
                } else if (!access.add(a)) {
                    problems.error(w.at(), w.path(), ProblemCode.DUPLICATE_NAME, "access mode `" + s + "` is listed twice", null);
                }
            }
        }
        Set<OpenFlag> openFlags = EnumSet.noneOf(OpenFlag.class);
        Member of = o.members().get("openFlags");
        if (of != null && array(of.value()) instanceof Arr a) {
            for (Node w : a.items()) {
                String s = string(w);
                if (s == null) {
                    continue;
                }
                String bare = s.startsWith("O_") ? s.substring(2) : s;
                OpenFlag f = Arrays.stream(OpenFlag.values()).filter(x -> x.name().equals(bare)).findFirst().orElse(null);
                if (f == null) {
                    problems.unknown(w.at(), w.path(), ProblemCode.UNKNOWN_OPEN_FLAG,
                            "`" + s + "` is not an open flag a policy may set (" + String.join(", ",
                                    Arrays.stream(OpenFlag.values()).map(Enum::name).toList()) + ")",
                            Names.suggest(s, Arrays.stream(OpenFlag.values()).map(Enum::name).toList()));
                } else if (!openFlags.add(f)) {
                    problems.error(w.at(), w.path(), ProblemCode.DUPLICATE_NAME, "open flag `" + s + "` is listed twice", null);
                }
            }
        }
        int createMode = 0600;
        Member cm = o.members().get("createMode");
        if (cm != null) {
            String s = string(cm.value());
            if (s != null) {
                if (!s.matches("0?[0-7]{3}")) {
                    problems.error(cm.value().at(), cm.value().path(), ProblemCode.BAD_VALUE,
                            "`" + s + "` is not a permission mode; expected octal digits such as \"0640\" (no setuid, setgid or sticky bits)", null);
                } else {
                    createMode = Integer.parseInt(s, 8);
                }
            }
        }
        boolean follow = o.members().containsKey("followSymlinks") && bool(o.members().get("followSymlinks").value(), false);
        FileType type = FileType.REGULAR;
        Member tm = o.members().get("type");
        if (tm != null) {
            String s = string(tm.value());
            if (s != null) {
                type = PolicyDefinition.FILE_TYPES.get(s);
                if (type == null) {
                    type = FileType.REGULAR;
                    problems.unknown(tm.value().at(), tm.value().path(), ProblemCode.BAD_VALUE, "`" + printable(s)
                            + "` is not a file type a policy may name (" + String.join(", ", PolicyDefinition.FILE_TYPES.keySet())
                            + "; never a FIFO or a socket)", fileTypeSuggestion(s));
                }
            }
        }
        return new PolicyDefinition.FileDef(name == null ? "" : name, path == null ? "" : path, access, openFlags,
                createMode, follow, type);
    }

    /** The nearest file type word, or the one {@code s} begins ({@code char} for {@code char-device}). */
    private static @Nullable String fileTypeSuggestion(String s) {
        String near = Names.suggest(s, PolicyDefinition.FILE_TYPES.keySet());
        if (near != null || s.length() < 3) {
            return near;
        }
        String lower = s.toLowerCase(java.util.Locale.ROOT);
        return PolicyDefinition.FILE_TYPES.keySet().stream().filter(w -> w.startsWith(lower)).findFirst().orElse(null);
    }

    private @Nullable BufferSpec buffer(Node n) {
        if (!(object(n) instanceof Obj o)) {
            return null;
        }
        fields(o, BUFFER, "a buffer");
        String name = name(required(o, "name"), "buffer");
        Member s = required(o, "size");
        long bytes = s == null ? 0 : size(s.value(), -1);
        return new BufferSpec(name == null ? "" : name, bytes);
    }

    private Limits limits(@Nullable Member m) {
        int leases = Limits.DEFAULT_LEASES_PER_USER;
        long bytes = Limits.DEFAULT_BUFFER_BYTES_PER_USER;
        if (m == null || !(object(m.value()) instanceof Obj o)) {
            return new Limits(leases, bytes);
        }
        fields(o, LIMITS, "`limits`");
        if (o.members().containsKey("leasesPerUser")) {
            leases = integer(o.members().get("leasesPerUser").value(), 1, 65536, leases);
        }
        if (o.members().containsKey("bufferBytesPerUser")) {
            bytes = size(o.members().get("bufferBytesPerUser").value(), bytes);
        }
        return new Limits(leases, bytes);
    }

    private PolicyDefinition.Transparent transparent(@Nullable Member m) {
        if (m == null || !(object(m.value()) instanceof Obj o)) {
            return PolicyDefinition.Transparent.disabled();
        }
        fields(o, TRANSPARENT, "`transparent`");
        boolean enabled = !o.members().containsKey("enabled") || bool(o.members().get("enabled").value(), true);
        Map<SetupFlag, FlagDisposition> d = new EnumMap<>(SetupFlag.class);
        if (!o.members().containsKey("honour")) {
            // Flags that change nothing the daemon relies on: the program's own sizes and the batch rule.
            for (SetupFlag f : EnumSet.of(SetupFlag.CQSIZE, SetupFlag.CLAMP, SetupFlag.SUBMIT_ALL)) {
                d.put(f, FlagDisposition.HONOUR);
            }
        }
        for (var e : List.of(Map.entry("honour", FlagDisposition.HONOUR), Map.entry("drop", FlagDisposition.DROP),
                Map.entry("refuse", FlagDisposition.REFUSE))) {
            Member lm = o.members().get(e.getKey());
            if (lm == null) {
                continue;
            }
            Map<SetupFlag, Node> where = new EnumMap<>(SetupFlag.class);
            names(lm, SetupFlag.class, SetupFlag.values(), "a setup flag",
                    ProblemCode.UNKNOWN_SETUP_FLAG, where);
            for (Map.Entry<SetupFlag, Node> w : where.entrySet()) { // the flags, each with where it was written
                SetupFlag f = w.getKey();
                Node at = w.getValue();
                if (origins.transparentFlags.containsKey(f) && origins.transparentFlags.get(f) != at) {
                    problems.error(at.at(), at.path(), ProblemCode.DUPLICATE_NAME, "setup flag `" + f.kernelName()
                            + "` is already listed at " + origins.transparentFlags.get(f).path(), null);
                    continue;
                }
                origins.transparentFlags.put(f, at);
                d.put(f, e.getValue());
            }
        }
        int maxSq = PolicyDefinition.DEFAULT_TRANSPARENT_MAX_SQ;
        if (o.members().containsKey("maxSqEntries")) {
            maxSq = integer(o.members().get("maxSqEntries").value(), Integer.MIN_VALUE, Integer.MAX_VALUE, maxSq);
        }
        int maxCq = 0;
        if (o.members().containsKey("maxCqEntries")) {
            maxCq = integer(o.members().get("maxCqEntries").value(), Integer.MIN_VALUE, Integer.MAX_VALUE, 0);
        }
        return new PolicyDefinition.Transparent(enabled, d, maxSq, maxCq);
    }

    // --- values ---

    /** Reports unknown keys of {@code o}, with the nearest known one. */
    private void fields(Obj o, List<String> known, String what) {
        for (Member m : o.members().values()) {
            if (!known.contains(m.key())) {
                if (problems.saturated()) {
                    problems.error(m.keyAt(), o.path(), ProblemCode.UNKNOWN_FIELD, "", null); // counted only
                    continue;
                }
                String suggestion = Names.suggest(m.key(), known);
                String msg = "unknown field `" + printable(m.key()) + "` in " + what;
                if (suggestion == null) {
                    msg += " (fields: " + String.join(", ", known) + ")";
                }
                problems.unknown(m.keyAt(), JsonTree.child(o.path(), m.key()), ProblemCode.UNKNOWN_FIELD, msg, suggestion);
            }
        }
    }

    private @Nullable Member required(Obj o, String key) {
        Member m = o.members().get(key);
        if (m == null) {
            problems.error(o.at(), JsonTree.child(o.path(), key), ProblemCode.MISSING_FIELD,
                    "missing required field `" + key + "`", null);
        }
        return m;
    }

    private @Nullable Node object(Node n) {
        if (!(n instanceof Obj)) {
            wrongType(n, "an object");
            return null;
        }
        return n;
    }

    private @Nullable Node array(Node n) {
        if (!(n instanceof Arr a)) {
            wrongType(n, "an array");
            return null;
        }
        if (a.items().size() > MAX_LIST) {
            problems.error(n.at(), n.path(), ProblemCode.BAD_VALUE, "more than " + MAX_LIST + " entries", null);
            return null;
        }
        return n;
    }

    private @Nullable String string(Node n) {
        if (n instanceof JsonTree.Str s) {
            return s.value();
        }
        wrongType(n, "a string");
        return null;
    }

    private boolean bool(Node n, boolean dflt) {
        if (n instanceof JsonTree.Bool b) {
            return b.value();
        }
        wrongType(n, "true or false");
        return dflt;
    }

    private int integer(Node n, int min, int max, int dflt) {
        if (!(n instanceof JsonTree.Num num) || !num.integral()) {
            wrongType(n, "an integer");
            return dflt;
        }
        BigDecimal v = num.value();
        if (v.compareTo(BigDecimal.valueOf(min)) < 0 || v.compareTo(BigDecimal.valueOf(max)) > 0) {
            problems.error(n.at(), n.path(), ProblemCode.BAD_VALUE,
                    (min == Integer.MIN_VALUE ? v.toPlainString() + " is out of range: it does not fit in 32 bits"
                            : v.toPlainString() + " is out of range; expected " + min + ".." + max), null);
            return dflt;
        }
        return v.intValueExact();
    }

    private void wrongType(Node n, String expected) {
        String found = n instanceof JsonTree.Num num && !num.integral() ? "a number with a fraction" : n.kind();
        problems.error(n.at(), n.path(), ProblemCode.WRONG_TYPE, "expected " + expected + ", found " + found, null);
    }

    private @Nullable String name(@Nullable Member m, String what) {
        if (m == null) {
            return null;
        }
        String s = string(m.value());
        if (s != null && !NAME.matcher(s).matches()) {
            problems.error(m.value().at(), m.value().path(), ProblemCode.BAD_NAME, "`" + printable(s) + "` is not a valid "
                    + what + " name: use 1 to 63 lower-case letters, digits, `.`, `_` or `-`, starting with a letter or digit", null);
        }
        return s;
    }

    private PolicyMode mode(@Nullable Member m) {
        String s = m == null ? null : string(m.value());
        if (m == null || s == null) {
            return PolicyMode.ENFORCE;
        }
        for (PolicyMode mode : PolicyMode.values()) {
            if (mode.word().equals(s)) {
                return mode;
            }
        }
        problems.unknown(m.value().at(), m.value().path(), ProblemCode.BAD_VALUE,
                "`" + printable(s) + "` is not a mode (expected `enforce` or `complain`)",
                Names.suggest(s, List.of("enforce", "complain")));
        return PolicyMode.ENFORCE;
    }

    private @Nullable String description(@Nullable Member m) {
        if (m == null) {
            return null;
        }
        String s = string(m.value());
        if (s != null && (s.isBlank() || s.length() > 200 || s.chars().anyMatch(Character::isISOControl))) {
            problems.error(m.value().at(), m.value().path(), ProblemCode.BAD_VALUE,
                    "the description must be one line of 1 to 200 characters", null);
        }
        return s;
    }

    private List<String> accounts(@Nullable Member m, String what, Map<String, Node> where) {
        List<String> out = new ArrayList<>();
        if (m == null || !(array(m.value()) instanceof Arr a)) {
            return out;
        }
        for (Node n : a.items()) {
            String s = string(n);
            if (s == null) {
                continue;
            }
            if (!ACCOUNT.matcher(s).matches()) {
                problems.error(n.at(), n.path(), ProblemCode.BAD_NAME, "`" + printable(s) + "` is not a valid " + what + " name", null);
            } else if (where.putIfAbsent(s, n) != null) {
                problems.error(n.at(), n.path(), ProblemCode.DUPLICATE_NAME, what + " `" + s + "` is listed twice", null);
            } else {
                out.add(s);
            }
        }
        return out;
    }

    private List<Integer> ids(@Nullable Member m) {
        List<Integer> out = new ArrayList<>();
        if (m == null || !(array(m.value()) instanceof Arr a)) {
            return out;
        }
        for (Node n : a.items()) {
            int id = integer(n, 0, Integer.MAX_VALUE, -1);
            if (id < 0) {
                continue;
            }
            if (out.contains(id)) {
                problems.error(n.at(), n.path(), ProblemCode.DUPLICATE_NAME, "id " + id + " is listed twice", null);
            } else {
                out.add(id);
            }
        }
        return out;
    }

    private <T> List<T> list(@Nullable Member m, Function<Node, @Nullable T> item) {
        List<T> out = new ArrayList<>();
        if (m == null || !(array(m.value()) instanceof Arr a)) {
            return out;
        }
        for (Node n : a.items()) {
            T t = item.apply(n);
            if (t != null) {
                out.add(t);
            }
        }
        return out;
    }

    /** A list of kernel names; each unknown name is reported with the nearest valid one. */
    private <E extends Enum<E> & KernelConstant> Set<E> names(@Nullable Member m, Class<E> type, E[] all, String what,
                                                              ProblemCode unknown, Map<E, Node> where) {
        EnumSet<E> out = EnumSet.noneOf(type);
        if (m == null || !(array(m.value()) instanceof Arr a)) {
            return out;
        }
        List<String> valid = Arrays.stream(all).map(KernelConstant::kernelName).toList();
        for (Node n : a.items()) {
            String s = string(n);
            if (s == null) {
                continue;
            }
            if (s.startsWith("@")) {
                group(n, s, type, out, where);
                continue;
            }
            E e = KernelConstant.byName(type, s);
            if (e == null && (Class<?>) type == RegisterOp.class) {
                e = type.cast(RegisterOp.byShortName(s));
            }
            if (e == null) {
                problems.unknown(n.at(), n.path(), unknown, "`" + printable(s) + "` is not " + what,
                        problems.saturated() ? null : Names.suggest(s, valid));
            } else if (!out.add(e)) {
                if (!(where.get(e) instanceof JsonTree.Str g && g.value().startsWith("@"))) {
                    problems.error(n.at(), n.path(), ProblemCode.DUPLICATE_NAME, "`" + s + "` is listed twice", null);
                }
            } else {
                where.put(e, n);
            }
        }
        return out;
    }

    /**
     * Adds the members of group {@code s} ({@link OpcodeGroups}); each keeps the group's place for
     * later messages. A member also listed by name, or by another group, is not a duplicate:
     * {@code ["@read", "READ_FIXED"]} is a natural way to write a list.
     */
    private <E extends Enum<E>> void group(Node n, String s, Class<E> type, Set<E> out, Map<E, Node> where) {
        Set<E> members = OpcodeGroups.members(type, s);
        if (members == null) {
            List<String> groups = OpcodeGroups.names(type);
            problems.unknown(n.at(), n.path(), ProblemCode.UNKNOWN_OP_GROUP, groups.isEmpty()
                            ? "`" + printable(s) + "`: this list takes no groups"
                            : "`" + printable(s) + "` is not a group of this list (groups: " + String.join(", ", groups) + ")",
                    problems.saturated() || groups.isEmpty() ? null : Names.suggest(s, groups));
            return;
        }
        for (E e : members) {
            out.add(e);
            where.putIfAbsent(e, n);
        }
    }

    /** A size: an integer of bytes, or a string such as {@code "1 MiB"}; {@code dflt} after an error. */
    private long size(Node n, long dflt) {
        if (n instanceof JsonTree.Num num && num.integral()) {
            if (num.value().signum() < 0 || num.value().compareTo(BigDecimal.valueOf(ByteSize.MAX)) > 0) {
                problems.error(n.at(), n.path(), ProblemCode.BAD_SIZE, "size out of range: " + num.value().toPlainString(), null);
                return dflt;
            }
            return num.value().longValueExact();
        }
        if (!(n instanceof JsonTree.Str str)) {
            wrongType(n, "a size (\"1 MiB\") or a number of bytes");
            return dflt;
        }
        ByteSize.Parsed p = ByteSize.parse(str.value());
        if (p.error() != null) {
            problems.unknown(n.at(), n.path(), ProblemCode.BAD_SIZE, p.error(), p.suggestion());
            return dflt;
        }
        return p.bytes();
    }

    /** Untrusted text quoted in a message: control characters escaped, length bounded. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(80).forEach(c -> {
            if (Character.isISOControl(c) || c == '`') {
                b.append(String.format("\\u%04x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        if (s.codePointCount(0, s.length()) > 80) {
            b.append("...");
        }
        return b.toString();
    }
}
