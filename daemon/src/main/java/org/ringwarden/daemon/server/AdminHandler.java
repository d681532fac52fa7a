package org.ringwarden.daemon.server;

import org.ringwarden.daemon.grant.Peer;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.Request;

/**
 * The admin socket's connections: {@code status}, {@code leases}, {@code reload} and {@code revoke}, for uid 0
 * and members of the admin group only (docs/daemon.md, "Administration"). Everything else is
 * refused {@code NOT_PERMITTED} ({@link FramedConnection}).
 */
final class AdminHandler extends FramedConnection {

    AdminHandler(ServerContext sc) {
        super(sc);
    }

    @Override
    boolean administrative() {
        return true;
    }

    @Override
    ConnectionLimiter limiter() {
        return sc.admins();
    }

    @Override
    boolean holdsSomething() {
        return false;
    }

    @Override
    void ended(Peer who) {
        // An admin connection holds no lease and no attachment.
    }

    @Override
    void serve(Request request) {
        if (!peer().isRootOrInGroup(sc.adminGid())) {
            refuse(request, null, ErrorCode.NOT_PERMITTED, "uid " + peer().uid() + " is not an administrator");
            return;
        }
        switch (request) {
            case Request.Status s -> answer(sc.admin().status());
            case Request.Leases l -> answer(sc.admin().leases());
            case Request.Reload r -> submit(() -> sc.admin().reload(peer()), NO_FDS, this::answer, f -> internal(request, f));
            case Request.ReportRefusals r when peer().uid() != 0 ->
                    // A report becomes an audit record about another user's program: root's word only.
                    refuse(request, null, ErrorCode.NOT_PERMITTED, "only root reports refusals (ringwarden watch-refusals)");
            case Request.ReportRefusals r -> submit(() -> sc.admin().reportRefusals(r.refusals()), NO_FDS, this::answer,
                    f -> internal(request, f));
            case Request.ComplainTargets c when peer().uid() != 0 ->
                    refuse(request, null, ErrorCode.NOT_PERMITTED, "only root traces complain-mode rings (ringwarden watch-refusals)");
            case Request.ComplainTargets c -> submit(() -> sc.admin().complainTargets(), NO_FDS, this::answer,
                    f -> internal(request, f));
            case Request.Revoke r -> submit(() -> sc.admin().revoke(peer(), r), NO_FDS, this::answer, f -> internal(request, f));
            default -> throw new IllegalStateException("not an administrative request: " + request.op());
        }
    }
}
