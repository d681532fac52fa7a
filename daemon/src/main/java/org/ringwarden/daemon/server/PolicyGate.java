package org.ringwarden.daemon.server;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import org.ringwarden.daemon.grant.Peer;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.LoadResult;
import org.ringwarden.policy.PolicyProblem;
import org.ringwarden.policy.PolicyStore;
import org.ringwarden.policy.Subject;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.Response;

/**
 * Which policy a peer may have, from the set in force ({@link PolicyStore}, swapped atomically
 * by {@link #reload}). A policy the peer may not use and a policy that does not exist are
 * refused with the same code and the same words, so that a peer learns nothing about the
 * policies it cannot see.
 */
public final class PolicyGate {
    private final PolicyStore store;

    public PolicyGate(PolicyStore store) {
        this.store = requireNonNull(store, "store");
    }

    /** The peer as the policy language sees it. */
    public static Subject subject(Peer peer) {
        return new Subject(peer.uid(), peer.gid(), Arrays.stream(peer.groups()).boxed().collect(Collectors.toSet()));
    }

    /** Names and descriptions of the policies {@code peer} may acquire. */
    public List<Response.PolicySummary> visibleTo(Peer peer) {
        return store.current().visibleTo(subject(peer)).stream()
                .map(p -> new Response.PolicySummary(p.name(), p.description()))
                .toList();
    }

    /** The policy {@code name} if {@code peer} may acquire it. */
    public CompiledPolicy acquirable(Peer peer, String name) throws RefusedException {
        return store.current().acquirable(name, subject(peer)).orElseThrow(() -> notAvailable(peer, name));
    }

    /** The policy {@code name} if {@code peer} may use it for transparent attachment. */
    public CompiledPolicy transparent(Peer peer, String name) throws RefusedException {
        CompiledPolicy p = acquirable(peer, name);
        if (!p.transparent().enabled()) {
            throw new RefusedException(ErrorCode.NOT_PERMITTED, "policy \"" + name + "\" is not for transparent use");
        }
        return p;
    }

    /**
     * The policy {@code name} if container {@code c} may attach its listener under it
     * ({@code subjects.containers}, transparent use). The runtime that asks is root: the words
     * say which of the two failed.
     */
    public CompiledPolicy forContainer(org.ringwarden.policy.ContainerSubject c, String name) throws RefusedException {
        CompiledPolicy p = store.current().get(name).orElseThrow(() -> new RefusedException(ErrorCode.NOT_PERMITTED,
                "no policy named \"" + printable(name) + "\""));
        if (!p.transparent().enabled()) {
            throw new RefusedException(ErrorCode.NOT_PERMITTED, "policy \"" + name + "\" is not for transparent use");
        }
        if (!p.mayAttachContainer(c)) {
            throw new RefusedException(ErrorCode.NOT_PERMITTED, "policy \"" + name + "\" does not admit this container"
                    + " (its subjects.containers match no id " + c.id() + (c.podNamespace() == null ? ""
                    : ", pod " + c.podNamespace() + "/" + c.podName()) + ")");
        }
        return p;
    }

    private static RefusedException notAvailable(Peer peer, String name) {
        // Same words whether the policy is missing or forbidden: never reveal other policies.
        return new RefusedException(ErrorCode.NOT_PERMITTED,
                "no policy named \"" + printable(name) + "\" is available to uid " + peer.uid());
    }

    private static String printable(String s) {
        String t = s.length() > 64 ? s.substring(0, 64) + "…" : s;
        return t.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }

    /** The number of policies in force. */
    public int size() {
        return store.current().size();
    }

    /** Loads the set again; the running set stays unless the new one has no error. */
    public Response.Reloaded reload() {
        LoadResult r = store.reload();
        List<String> problems = r.problems().stream().filter(PolicyProblem::isError).map(PolicyProblem::format).toList();
        return new Response.Reloaded(r.ok(), size(), problems);
    }

    /** The restrictions of {@code policy} as a grant names them. */
    public static Response.Allowed allowed(CompiledPolicy policy) {
        var a = policy.allowed();
        return new Response.Allowed(a.sqeOpNames(), a.sqeFlagsAllowedNames(), a.sqeFlagsRequiredNames(),
                a.registerOpNames());
    }
}
