package org.ringwarden.policy;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jspecify.annotations.Nullable;
import org.ringwarden.policy.JsonTree.Arr;
import org.ringwarden.policy.JsonTree.Bool;
import org.ringwarden.policy.JsonTree.Member;
import org.ringwarden.policy.JsonTree.Node;
import org.ringwarden.policy.JsonTree.Null;
import org.ringwarden.policy.JsonTree.Num;
import org.ringwarden.policy.JsonTree.Obj;
import org.ringwarden.policy.JsonTree.Str;

/**
 * Composes a policy document from its bases ({@code "extends": ["base", ...]}) and its drop-ins
 * ({@code NAME.d/*.json}, in name order) before it is read, so that the reader and the rules see
 * one document and report each problem where its value was written (every value keeps its file,
 * line and column).
 *
 * <p>The rules, in the order they apply:
 * <ol>
 * <li>The bases, in the order listed, each composed first (with its own bases and drop-ins).
 *     Objects merge key by key; lists merge (a later item with the same value, or a file or
 *     buffer with the same {@code name}, replaces the earlier one in place); any other value
 *     of a later base wins. {@code limits} are the exception: of two bases, each limit is the
 *     more restrictive (the smaller).</li>
 * <li>The policy's own file on top, by the same rules, except that its values, {@code limits}
 *     included, win. {@code name}, {@code extends} and {@code mode} are never inherited (a base
 *     tried in complain mode does not put what extends it in complain mode); everything else
 *     is, {@code description} too.</li>
 * <li>Each drop-in on top of that, the same way: the last word, as systemd's drop-ins are. An
 *     empty list in a policy or drop-in clears what it inherited.</li>
 * </ol>
 * A policy with neither bases nor drop-ins is read exactly as written.
 */
final class PolicyComposer {
    /** A parsed file: a policy, or a drop-in. */
    record Source(String file, Node root) {
    }

    /** A composed document and the files it came from (bases first, drop-ins last). */
    record Composed(Node root, List<String> files) {
    }

    private final Map<String, Source> policies;
    private final Map<String, List<Source>> dropIns;
    private final Map<String, Problems> problems;
    private final Map<String, @Nullable Composed> done = new HashMap<>();
    private final List<String> chain = new ArrayList<>();

    /**
     * @param policies the set's policy files, by policy name
     * @param dropIns  the drop-ins of each policy name, in the order they apply
     * @param problems where each policy's own problems go, by policy name
     */
    PolicyComposer(Map<String, Source> policies, Map<String, List<Source>> dropIns, Map<String, Problems> problems) {
        this.policies = policies;
        this.dropIns = dropIns;
        this.problems = problems;
    }

    /** The document of policy {@code name} (a name of the set); null if its bases could not be composed. */
    @Nullable Composed compose(String name) {
        if (done.containsKey(name)) {
            return done.get(name);
        }
        Source src = policies.get(name);
        List<Source> drops = dropIns.getOrDefault(name, List.of());
        if (src == null) {
            throw new IllegalArgumentException("no policy " + name);
        }
        if (!(src.root() instanceof Obj own) || (!own.members().containsKey("extends") && drops.isEmpty())) {
            Composed plain = new Composed(src.root(), List.of(src.file()));
            done.put(name, plain);
            return plain;
        }
        Problems pr = problems.get(name);
        if (pr == null) {
            throw new IllegalArgumentException("no problems for " + name);
        }
        chain.add(name);
        Set<String> files = new LinkedHashSet<>();
        @Nullable Obj acc = null;
        boolean broken = false;
        Member ext = own.members().get("extends");
        if (ext != null) {
            if (ext.value() instanceof Arr a) {
                for (Node item : a.items()) {
                    Obj base = base(name, item, pr, files);
                    if (base == null) {
                        broken = true;
                    } else {
                        acc = acc == null ? base : merge(acc, base, true);
                    }
                }
            } else {
                pr.error(ext.value().at(), ext.value().path(), ProblemCode.WRONG_TYPE,
                        "`extends` takes a list of policy names, such as [\"reader\"]; found " + ext.value().kind(), null);
                broken = true;
            }
        }
        Obj result = without((Obj) tag(own, src.file()), "extends");
        if (acc != null) {
            result = merge(without(acc, "name", "mode"), result, false);
        }
        files.add(src.file());
        for (Source d : drops) {
            if (!(d.root() instanceof Obj drop)) {
                pr.error(d.root().at().in(d.file()), "$", ProblemCode.WRONG_TYPE,
                        "a drop-in is a JSON object with the fields it changes; found " + d.root().kind(), null);
                continue;
            }
            for (String key : List.of("name", "extends")) {
                Member m = drop.members().get(key);
                if (m != null) {
                    pr.error(m.keyAt().in(d.file()), m.value().path(), ProblemCode.DROP_IN_FIELD, "a drop-in cannot set `"
                            + key + "`: it changes the policy its directory is named after (" + name + ".d)", null);
                }
            }
            result = merge(result, without((Obj) tag(drop, d.file()), "name", "extends"), false);
            files.add(d.file());
        }
        chain.removeLast();
        Composed c = broken ? null : new Composed(repath(nameFirst(result), "$"), List.copyOf(files));
        done.put(name, c);
        return c;
    }

    /** One item of {@code extends}: the base's composed document, or null (reported). */
    private @Nullable Obj base(String name, Node item, Problems pr, Set<String> files) {
        if (!(item instanceof Str s)) {
            pr.error(item.at(), item.path(), ProblemCode.WRONG_TYPE, "expected the name of a policy, found " + item.kind(), null);
            return null;
        }
        String b = s.value();
        if (chain.contains(b)) {
            List<String> loop = new ArrayList<>(chain.subList(chain.indexOf(b), chain.size()));
            loop.add(b);
            pr.error(item.at(), item.path(), ProblemCode.EXTENDS_CYCLE, "`" + PolicyReader.printable(b)
                    + "` extends back to itself: " + String.join(" → ", loop), null);
            return null;
        }
        if (!policies.containsKey(b)) {
            pr.unknown(item.at(), item.path(), ProblemCode.UNKNOWN_BASE, "there is no policy `" + PolicyReader.printable(b)
                    + "` in this set to extend", Names.suggest(b, List.copyOf(policies.keySet())));
            return null;
        }
        Composed base = compose(b);
        if (base == null || !(base.root() instanceof Obj o)) {
            pr.error(item.at(), item.path(), ProblemCode.BROKEN_BASE, "the base policy `" + b
                    + "` cannot be composed (see its own problems)", null);
            return null;
        }
        files.addAll(base.files());
        // A base read as written has no file on its values yet: they are the base's.
        return (Obj) tag(o, policies.get(b).file());
    }

    // ------------------------------------------------------------------ merging

    /** {@code over} on top of {@code under}; with {@code bases}, limits take the smaller of the two. */
    private static Obj merge(Obj under, Obj over, boolean bases) {
        Map<String, Member> m = new LinkedHashMap<>(under.members());
        for (Member o : over.members().values()) {
            Member u = m.get(o.key());
            if (u == null) {
                m.put(o.key(), o);
            } else if (bases && o.key().equals("limits") && u.value() instanceof Obj ul && o.value() instanceof Obj ol) {
                m.put(o.key(), new Member(o.key(), o.keyAt(), stricter(ul, ol)));
            } else {
                m.put(o.key(), new Member(o.key(), o.keyAt(), merge(u.value(), o.value(), bases)));
            }
        }
        return new Obj(over.path(), over.at(), m);
    }

    private static Node merge(Node under, Node over, boolean bases) {
        if (under instanceof Obj u && over instanceof Obj o) {
            return merge(u, o, bases);
        }
        if (under instanceof Arr u && over instanceof Arr o && !o.items().isEmpty()) {
            List<Node> items = new ArrayList<>(u.items());
            for (Node n : o.items()) {
                int same = indexOfSame(items, n);
                if (same >= 0) {
                    items.set(same, n);
                } else {
                    items.add(n);
                }
            }
            return new Arr(o.path(), o.at(), items);
        }
        return over;
    }

    /** Where {@code n} is already in {@code items}: the same scalar, or an object with the same {@code name}. */
    private static int indexOfSame(List<Node> items, Node n) {
        Object key = identity(n);
        if (key == null) {
            return -1;
        }
        for (int i = 0; i < items.size(); i++) {
            if (key.equals(identity(items.get(i)))) {
                return i;
            }
        }
        return -1;
    }

    private static @Nullable Object identity(Node n) {
        return switch (n) {
            case Str s -> "s:" + s.value();
            case Num x -> "n:" + x.value().stripTrailingZeros().toPlainString();
            case Bool b -> "b:" + b.value();
            case Obj o when o.members().get("name") instanceof Member m && m.value() instanceof Str s -> "o:" + s.value();
            default -> null;
        };
    }

    /** Each limit of two bases: the more restrictive one (a value that is not a number or size: the later). */
    private static Obj stricter(Obj a, Obj b) {
        Map<String, Member> m = new LinkedHashMap<>(a.members());
        for (Member o : b.members().values()) {
            Member u = m.get(o.key());
            if (u == null || !(amount(u.value()) instanceof BigDecimal x) || !(amount(o.value()) instanceof BigDecimal y)
                    || y.compareTo(x) <= 0) {
                m.put(o.key(), o);
            }
        }
        return new Obj(b.path(), b.at(), m);
    }

    /** A limit as a number: an integer, or a size such as {@code "8 MiB"}; null if it is neither. */
    private static @Nullable BigDecimal amount(Node n) {
        if (n instanceof Num x) {
            return x.value();
        }
        if (n instanceof Str s) {
            ByteSize.Parsed p = ByteSize.parse(s.value());
            return p.error() == null ? BigDecimal.valueOf(p.bytes()) : null;
        }
        return null;
    }

    /** The policy's own {@code name} first, where a reader looks for it (merging appended it after the inherited keys). */
    private static Obj nameFirst(Obj o) {
        Member name = o.members().get("name");
        if (name == null) {
            return o;
        }
        Map<String, Member> m = new LinkedHashMap<>();
        m.put("name", name);
        m.putAll(o.members());
        return new Obj(o.path(), o.at(), m);
    }

    private static Obj without(Obj o, String... keys) {
        Map<String, Member> m = new LinkedHashMap<>(o.members());
        for (String k : keys) {
            m.remove(k);
        }
        return new Obj(o.path(), o.at(), m);
    }

    // ------------------------------------------------------------------ copies

    /** {@code n} with every location in {@code file} (values of a composed document keep their file). */
    private static Node tag(Node n, String file) {
        return switch (n) {
            case Obj o -> {
                Map<String, Member> m = new LinkedHashMap<>();
                o.members().forEach((k, v) -> m.put(k, new Member(k, v.keyAt().in(file), tag(v.value(), file))));
                yield new Obj(o.path(), o.at().in(file), m);
            }
            case Arr a -> new Arr(a.path(), a.at().in(file), a.items().stream().map(i -> tag(i, file)).toList());
            case Str s -> new Str(s.path(), s.at().in(file), s.value());
            case Num x -> new Num(x.path(), x.at().in(file), x.value(), x.integral());
            case Bool b -> new Bool(b.path(), b.at().in(file), b.value());
            case Null z -> new Null(z.path(), z.at().in(file));
        };
    }

    /** {@code n} with the JSON paths of the composed document (merged lists renumber their items). */
    private static Node repath(Node n, String path) {
        return switch (n) {
            case Obj o -> {
                Map<String, Member> m = new LinkedHashMap<>();
                o.members().forEach((k, v) -> m.put(k, new Member(k, v.keyAt(), repath(v.value(), JsonTree.child(path, k)))));
                yield new Obj(path, o.at(), m);
            }
            case Arr a -> {
                List<Node> items = new ArrayList<>();
                for (int i = 0; i < a.items().size(); i++) {
                    items.add(repath(a.items().get(i), JsonTree.index(path, i)));
                }
                yield new Arr(path, a.at(), items);
            }
            case Str s -> new Str(path, s.at(), s.value());
            case Num x -> new Num(path, x.at(), x.value(), x.integral());
            case Bool b -> new Bool(path, b.at(), b.value());
            case Null z -> new Null(path, z.at());
        };
    }

    /** The names of policies some drop-ins are for, with no such policy in the set. */
    Set<String> orphans() {
        Set<String> out = new HashSet<>(dropIns.keySet());
        out.removeAll(policies.keySet());
        return out;
    }
}
