package org.ringwarden.daemon.oci;

import java.util.regex.Pattern;

/**
 * The profile's {@code listenerMetadata}, as {@code ringwarden seccomp-profile} writes it:
 * {@code policy=NAME}. Comma-separated {@code key=value} pairs, so that later keys can be
 * added; a key this daemon does not know is refused rather than ignored (it might have
 * narrowed the request).
 *
 * @param policy the policy the container's rings are to be made under
 */
public record ListenerMetadata(String policy) {
    private static final Pattern POLICY = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

    /** Parses {@code metadata}; the message says what is wrong. */
    public static ListenerMetadata parse(String metadata) throws AgentMessage.Malformed {
        String policy = null;
        if (metadata.isEmpty()) {
            throw new AgentMessage.Malformed("the profile's listenerMetadata is empty: it must name a policy"
                    + " (`policy=NAME`, as `ringwarden seccomp-profile --policy NAME` writes it)");
        }
        for (String pair : metadata.split(",", -1)) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : pair.substring(eq + 1);
            if (!key.equals("policy")) {
                throw new AgentMessage.Malformed("listenerMetadata `" + AgentMessage.printable(metadata)
                        + "`: unknown key `" + AgentMessage.printable(key) + "` (known: policy)");
            }
            if (policy != null) {
                throw new AgentMessage.Malformed("listenerMetadata names `policy` twice");
            }
            if (!POLICY.matcher(value).matches()) {
                throw new AgentMessage.Malformed("listenerMetadata `policy=" + AgentMessage.printable(value)
                        + "` is not a policy name");
            }
            policy = value;
        }
        // split gives at least one pair, and each one either set the policy or threw.
        return new ListenerMetadata(java.util.Objects.requireNonNull(policy, "policy"));
    }
}
