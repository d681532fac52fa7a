package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;

import org.jspecify.annotations.Nullable;
import org.ringwarden.policy.JsonTree.Location;
import org.ringwarden.policy.JsonTree.Node;

/**
 * Reads one policy file's bytes into a {@link JsonTree}: strict UTF-8 (a malformed byte is an
 * error at its line and column), strict JSON (no comments, no trailing commas, nothing after
 * the value), bounded nesting, and duplicate keys reported (every one of them) rather than
 * silently overwritten. Iterative, so that no input can overflow the stack.
 */
final class JsonTreeReader {
    /** Deeper than any policy (which needs 4 levels); Jackson's own limit is set above it as a backstop. */
    static final int MAX_DEPTH = 16;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_DEPTH + 8)
                    .maxStringLength(1 << 20)
                    .maxNumberLength(64)
                    .maxNameLength(4096)
                    .build())
            .build();

    private JsonTreeReader() {
    }

    /** Returns the root; null after reporting why there is none. */
    static @Nullable Node read(byte[] bytes, Problems problems) {
        String text = decode(bytes, problems);
        if (text == null) {
            return null;
        }
        if (text.isBlank()) {
            problems.error(Location.START, "$", ProblemCode.EMPTY_FILE,
                    "the file is empty; expected a JSON object describing one policy", null);
            return null;
        }
        try (JsonParser p = FACTORY.createParser(text)) {
            return parse(p, problems);
        } catch (JsonProcessingException e) {
            JsonLocation l = e.getLocation();
            Location at = l == null ? Location.START : new Location(Math.max(1, l.getLineNr()), Math.max(1, l.getColumnNr()));
            problems.error(at, "$", ProblemCode.SYNTAX, "invalid JSON: " + clean(e.getOriginalMessage()), null);
            return null;
        } catch (IOException e) {
            // Reading from a String cannot fail with I/O; keep it a located problem anyway.
            problems.error(Location.START, "$", ProblemCode.SYNTAX, "invalid JSON: " + clean(e.getMessage()), null);
            return null;
        }
    }

    /** Decodes strict UTF-8, skipping one leading byte-order mark; null (with an error) on a malformed byte. */
    static @Nullable String decode(byte[] bytes, Problems problems) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length + 1);
        CoderResult r = d.decode(in, out, true);
        if (!r.isError()) {
            r = d.flush(out);
        }
        if (r.isError()) {
            int offset = in.position();
            out.flip();
            Location at = locate(out);
            problems.error(at, "$", ProblemCode.ENCODING, String.format(
                    "invalid UTF-8 at byte offset %d (0x%02X); policy files must be UTF-8",
                    offset, bytes[offset] & 0xff), null);
            return null;
        }
        out.flip();
        String s = out.toString();
        return s.startsWith("\uFEFF") ? s.substring(1) : s;
    }

    /** The location just after {@code text}. */
    private static Location locate(CharSequence text) {
        int line = 1;
        int col = 1;
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new Location(line, col);
    }

    /** One open container while parsing. */
    private static final class Open {
        final String path;
        final Location at;
        final boolean object;
        final Map<String, JsonTree.Member> members = new LinkedHashMap<>();
        final List<Node> items = new ArrayList<>();
        @Nullable String pendingKey;
        @Nullable Location pendingKeyAt;
        boolean pendingDuplicate;

        Open(String path, Location at, boolean object) {
            this.path = path;
            this.at = at;
            this.object = object;
        }

        /** The key of the value being read in an object: Jackson reports a key before each value. */
        String key() {
            return requireNonNull(pendingKey, "a value in an object follows its key");
        }

        Location keyAt() {
            return requireNonNull(pendingKeyAt, "a value in an object follows its key");
        }

        String nextPath() {
            return object ? JsonTree.child(path, key()) : JsonTree.index(path, items.size());
        }

        Node close() {
            return object ? new JsonTree.Obj(path, at, members) : new JsonTree.Arr(path, at, items);
        }
    }

    private static @Nullable Node parse(JsonParser p, Problems problems) throws IOException {
        Deque<Open> stack = new ArrayDeque<>();
        Node root = null;
        JsonToken t;
        while ((t = p.nextToken()) != null) {
            Location at = loc(p.currentTokenLocation());
            Open top = stack.peek();
            if (t == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                top.pendingKey = key;
                top.pendingKeyAt = at;
                JsonTree.Member first = top.members.get(key);
                top.pendingDuplicate = first != null;
                if (first != null) {
                    problems.error(at, JsonTree.child(top.path, key), ProblemCode.DUPLICATE_KEY,
                            "duplicate key `" + PolicyReader.printable(key) + "` (first at line " + first.keyAt().line()
                                    + ", column " + first.keyAt().column() + ")", null);
                }
                continue;
            }
            if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                Open done = stack.pop();
                Node n = done.close();
                if (stack.isEmpty()) {
                    root = n;
                    break;
                }
                attach(stack.peek(), n);
                continue;
            }
            String path = top == null ? "$" : top.nextPath();
            if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                if (stack.size() >= MAX_DEPTH) {
                    problems.error(at, path, ProblemCode.TOO_DEEP,
                            "nested deeper than " + MAX_DEPTH + " levels; a policy needs at most 4", null);
                    return null;
                }
                stack.push(new Open(path, at, t == JsonToken.START_OBJECT));
                continue;
            }
            Node leaf = switch (t) {
                case VALUE_STRING -> new JsonTree.Str(path, at, p.getText());
                case VALUE_NUMBER_INT -> new JsonTree.Num(path, at, new java.math.BigDecimal(p.getBigIntegerValue()), true);
                case VALUE_NUMBER_FLOAT -> new JsonTree.Num(path, at, p.getDecimalValue(), false);
                case VALUE_TRUE -> new JsonTree.Bool(path, at, true);
                case VALUE_FALSE -> new JsonTree.Bool(path, at, false);
                case VALUE_NULL -> new JsonTree.Null(path, at);
                default -> throw new IllegalStateException("unexpected token " + t);
            };
            if (top == null) {
                root = leaf;
                break;
            }
            attach(top, leaf);
        }
        if (root == null) {
            problems.error(loc(p.currentLocation()), "$", ProblemCode.SYNTAX, "invalid JSON: unexpected end of input", null);
            return null;
        }
        JsonToken trailing = p.nextToken();
        if (trailing != null) {
            problems.error(loc(p.currentTokenLocation()), "$", ProblemCode.SYNTAX,
                    "invalid JSON: content after the end of the policy object; a file holds one policy", null);
            return null;
        }
        return root;
    }

    private static void attach(Open parent, Node n) {
        if (parent.object) {
            if (!parent.pendingDuplicate) {
                parent.members.put(parent.key(), new JsonTree.Member(parent.key(), parent.keyAt(), n));
            }
            parent.pendingKey = null;
        } else {
            parent.items.add(n);
        }
    }

    private static Location loc(JsonLocation l) {
        return new Location(Math.max(1, l.getLineNr()), Math.max(1, l.getColumnNr()));
    }

    /** Jackson's messages carry source excerpts and a "at [Source...]" tail; keep the first sentence. */
    private static String clean(@Nullable String m) {
        if (m == null) {
            return "unreadable";
        }
        int nl = m.indexOf('\n');
        String s = nl >= 0 ? m.substring(0, nl) : m;
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}
