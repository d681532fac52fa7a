package org.ringwarden.policy;

import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * A parsed JSON document that remembers, for every value and every key, where it was
 * written: the validator reports all problems of a file with line, column and JSON path,
 * which a binding library that stops at the first mismatch cannot.
 */
final class JsonTree {
    private JsonTree() {
    }

    /**
     * A 1-based line and column, and the file when it is not the one being read: a composed
     * policy ({@link PolicyComposer}) holds values written in its bases and drop-ins.
     */
    record Location(int line, int column, @Nullable String file) {
        static final Location FILE = new Location(0, 0);
        static final Location START = new Location(1, 1);

        Location(int line, int column) {
            this(line, column, null);
        }

        /** This place, in {@code file} unless it names a file already. */
        Location in(String file) {
            return this.file == null ? new Location(line, column, file) : this;
        }
    }

    /** A JSON value with its JSON path and the location of its first character. */
    sealed interface Node permits Obj, Arr, Str, Num, Bool, Null {
        String path();

        Location at();

        /** What this is, as "expected X, found Y" messages name it. */
        String kind();
    }

    /** A member of an object: where its key is, and its value. */
    record Member(String key, Location keyAt, Node value) {
    }

    record Obj(String path, Location at, Map<String, Member> members) implements Node {
        Obj {
            members = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(members));
        }

        @Override
        public String kind() {
            return "an object";
        }
    }

    record Arr(String path, Location at, List<Node> items) implements Node {
        Arr {
            items = List.copyOf(items);
        }

        @Override
        public String kind() {
            return "an array";
        }
    }

    record Str(String path, Location at, String value) implements Node {
        @Override
        public String kind() {
            return "a string";
        }
    }

    /** A number as written; {@code integral} when it had no fraction or exponent. */
    record Num(String path, Location at, BigDecimal value, boolean integral) implements Node {
        @Override
        public String kind() {
            return integral ? "an integer" : "a number";
        }
    }

    record Bool(String path, Location at, boolean value) implements Node {
        @Override
        public String kind() {
            return "a boolean";
        }
    }

    record Null(String path, Location at) implements Node {
        @Override
        public String kind() {
            return "null";
        }
    }

    /** {@code $.a.b}, or {@code $["odd key"]} when the key is not a plain identifier. */
    static String child(String parent, String key) {
        if (!key.isEmpty() && key.chars().allMatch(c -> c < 128 && (Character.isLetterOrDigit(c) || c == '_' || c == '-'))
                && !Character.isDigit(key.charAt(0))) {
            return parent + "." + key;
        }
        StringBuilder b = new StringBuilder(parent).append("[\"");
        key.codePoints().limit(64).forEach(c -> {
            if (c == '"' || c == '\\') {
                b.append('\\').appendCodePoint(c);
            } else if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\u%04x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.append("\"]").toString();
    }

    static String index(String parent, int i) {
        return parent + "[" + i + "]";
    }
}
