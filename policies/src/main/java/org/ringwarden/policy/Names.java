package org.ringwarden.policy;

import java.util.Collection;
import java.util.Locale;

import org.jspecify.annotations.Nullable;

/** "Did you mean": the valid name nearest to a misspelt one. */
public final class Names {
    private Names() {
    }

    /**
     * The candidate nearest to {@code input} by Damerau-Levenshtein distance (optimal string
     * alignment, case-insensitive), if it is near enough to be a plausible typo.
     * A C prefix ({@code IORING_OP_}, {@code IOSQE_}...) or a case difference is forgiven first.
     * Public for the daemon's configuration loader, which suggests its field names the same way.
     *
     * @param input      what was written; null or empty has no suggestion
     * @param candidates the valid names
     * @return the nearest candidate, or null when none is near enough
     */
    public static @Nullable String suggest(@Nullable String input, Collection<String> candidates) {
        if (input == null || input.isEmpty() || input.length() > 64) {
            return null;
        }
        String in = stripPrefix(input.toUpperCase(Locale.ROOT));
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String c : candidates) {
            int d = distance(in, c.toUpperCase(Locale.ROOT).replace('-', '_'));
            if (d < bestDistance) {
                best = c;
                bestDistance = d;
            }
        }
        int allowed = Math.max(2, Math.min(in.length(), best == null ? 0 : best.length()) / 3);
        return bestDistance <= allowed ? best : null;
    }

    private static String stripPrefix(String s) {
        for (String p : new String[] {"IORING_OP_", "IORING_SETUP_", "IORING_REGISTER_", "IORING_", "IOSQE_", "O_", "RESOLVE_"}) {
            if (s.startsWith(p) && s.length() > p.length()) {
                return s.substring(p.length());
            }
        }
        return s.replace('-', '_');
    }

    /** Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions. */
    static int distance(String a, String b) {
        int n = a.length();
        int m = b.length();
        int[][] d = new int[n + 1][m + 1];
        for (int i = 0; i <= n; i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= m; j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= n; i++) {
            for (int j = 1; j <= m; j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                int v = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    v = Math.min(v, d[i - 2][j - 2] + 1);
                }
                d[i][j] = v;
            }
        }
        return d[n][m];
    }
}
