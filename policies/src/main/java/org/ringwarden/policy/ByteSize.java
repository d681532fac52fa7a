package org.ringwarden.policy;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/** Sizes with units, as policies write them: {@code "1 MiB"}, {@code "4096"}, {@code "64KiB"}. */
final class ByteSize {
    /** No size a policy can mean is larger: 1 TiB. */
    static final long MAX = 1L << 40;

    private static final Pattern SIZE = Pattern.compile("\\s*([0-9]{1,16})\\s*([A-Za-z]*)\\s*");
    private static final Map<String, Long> UNITS = Map.of(
            "", 1L, "B", 1L, "KiB", 1L << 10, "MiB", 1L << 20, "GiB", 1L << 30, "TiB", 1L << 40,
            "kB", 1000L, "MB", 1000_000L, "GB", 1000_000_000L);
    static final List<String> UNIT_NAMES = List.of("B", "KiB", "MiB", "GiB", "TiB", "kB", "MB", "GB");

    private ByteSize() {
    }

    /** {@code bytes}, or an {@code error} with an optional {@code suggestion} (a unit). */
    record Parsed(long bytes, @Nullable String error, @Nullable String suggestion) {
    }

    static Parsed parse(String s) {
        Matcher m = SIZE.matcher(s);
        if (!m.matches()) {
            return new Parsed(0, "`" + PolicyReader.printable(s)
                    + "` is not a size; expected a whole number and a unit, such as \"1 MiB\" (units: "
                    + String.join(", ", UNIT_NAMES) + ")", null);
        }
        Long unit = UNITS.get(m.group(2));
        if (unit == null) {
            String u = m.group(2);
            String suggestion = UNIT_NAMES.stream().filter(x -> x.equalsIgnoreCase(u) || x.equalsIgnoreCase(u + "iB")
                    || x.equalsIgnoreCase(u + "B")).findFirst().orElse(Names.suggest(u, UNIT_NAMES));
            return new Parsed(0, "`" + PolicyReader.printable(u) + "` is not a size unit (units: "
                    + String.join(", ", UNIT_NAMES) + ")", suggestion);
        }
        long n = Long.parseLong(m.group(1));
        if (n > MAX / unit) {
            return new Parsed(0, "`" + s.trim() + "` is larger than 1 TiB", null);
        }
        return new Parsed(n * unit, null, null);
    }

    /** {@code 1 MiB}, {@code 4 KiB}, {@code 1000 B}: the largest binary unit that divides exactly. */
    static String format(long bytes) {
        String[] names = {"TiB", "GiB", "MiB", "KiB"};
        int[] shifts = {40, 30, 20, 10};
        for (int i = 0; i < names.length; i++) {
            long u = 1L << shifts[i];
            if (bytes >= u && bytes % u == 0) {
                return bytes / u + " " + names[i];
            }
        }
        return bytes + " B";
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
