package org.ringwarden.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;
import org.ringwarden.policy.JsonTree.Arr;
import org.ringwarden.policy.JsonTree.Bool;
import org.ringwarden.policy.JsonTree.Location;
import org.ringwarden.policy.JsonTree.Member;
import org.ringwarden.policy.JsonTree.Node;
import org.ringwarden.policy.JsonTree.Null;
import org.ringwarden.policy.JsonTree.Num;
import org.ringwarden.policy.JsonTree.Obj;
import org.ringwarden.policy.JsonTree.Str;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

/**
 * Writes a composed document as {@link EffectivePolicy}: one value to a line, so that each line
 * can say where its value came from. Written by hand rather than by a JSON library because the
 * origins belong to the lines.
 */
final class EffectiveWriter {
    /** Origins start in this column at the latest, so that long lines do not push them all right. */
    private static final int ORIGIN_COLUMN = 56;

    private record Line(String text, @Nullable String origin) {
    }

    private final String ownFile;
    private final List<Line> lines = new ArrayList<>();
    private final Map<String, String> origins = new LinkedHashMap<>();

    private EffectiveWriter(String ownFile) {
        this.ownFile = ownFile;
    }

    static EffectivePolicy write(String name, PolicyComposer.Composed composed, String ownFile) {
        EffectiveWriter w = new EffectiveWriter(ownFile);
        w.value(composed.root(), "", "", "");
        StringBuilder plain = new StringBuilder();
        StringBuilder annotated = new StringBuilder();
        int width = Math.min(ORIGIN_COLUMN, w.lines.stream().mapToInt(l -> l.text().length()).max().orElse(0));
        for (Line l : w.lines) {
            plain.append(l.text()).append('\n');
            annotated.append(l.text());
            if (l.origin() != null) {
                annotated.append(" ".repeat(Math.max(1, width + 2 - l.text().length()))).append("// ").append(l.origin());
            }
            annotated.append('\n');
        }
        return new EffectivePolicy(name, composed.files(), plain.toString(), annotated.toString(), w.origins);
    }

    private void value(Node n, String indent, String key, String comma) {
        switch (n) {
            case Obj o when o.members().isEmpty() -> leaf(n, indent + key + "{}" + comma);
            case Obj o -> {
                lines.add(new Line(indent + key + "{", null));
                List<Member> ms = List.copyOf(o.members().values());
                for (int i = 0; i < ms.size(); i++) {
                    value(ms.get(i).value(), indent + "  ", quote(ms.get(i).key()) + ": ", i + 1 < ms.size() ? "," : "");
                }
                lines.add(new Line(indent + "}" + comma, null));
            }
            case Arr a when a.items().isEmpty() -> leaf(n, indent + key + "[]" + comma);
            case Arr a -> {
                lines.add(new Line(indent + key + "[", null));
                for (int i = 0; i < a.items().size(); i++) {
                    value(a.items().get(i), indent + "  ", "", i + 1 < a.items().size() ? "," : "");
                }
                lines.add(new Line(indent + "]" + comma, null));
            }
            case Str s -> leaf(n, indent + key + quote(s.value()) + comma);
            case Num x -> leaf(n, indent + key + x.value().toString() + comma);
            case Bool b -> leaf(n, indent + key + b.value() + comma);
            case Null z -> leaf(n, indent + key + "null" + comma);
        }
    }

    private void leaf(Node n, String text) {
        String origin = origin(n.at());
        origins.put(n.path(), origin);
        lines.add(new Line(text, origin));
    }

    private String origin(Location at) {
        return (at.file() == null ? ownFile : at.file()) + ":" + at.line() + ":" + at.column();
    }

    private static String quote(String s) {
        return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
    }
}
