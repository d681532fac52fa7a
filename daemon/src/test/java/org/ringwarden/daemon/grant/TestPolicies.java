package org.ringwarden.daemon.grant;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;
import org.ringwarden.policy.Acquirers;
import org.ringwarden.policy.Allowed;
import org.ringwarden.policy.BufferSpec;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.Enabler;
import org.ringwarden.policy.FileSpec;
import org.ringwarden.policy.Limits;
import org.ringwarden.policy.PolicyMode;
import org.ringwarden.policy.RingSpec;
import org.ringwarden.policy.TransparentSpec;

/**
 * Compiled policies for the grant tests: a reader (NOP and READ_FIXED on fixed files, one
 * buffer, FIXED_FILE required), as the policy compiler would emit it.
 */
final class TestPolicies {
    static final long NO_LINKS = Descriptors.RESOLVE_NO_SYMLINKS | Descriptors.RESOLVE_NO_MAGICLINKS;

    private TestPolicies() {
    }

    static List<Restriction> readerRestrictions() {
        return List.of(
                Restriction.registerOp(RegisterOp.REGISTER_PROBE),
                Restriction.sqeOp(IoUringOp.NOP),
                Restriction.sqeOp(IoUringOp.READ_FIXED),
                Restriction.sqeFlagsRequired((int) SqeFlag.FIXED_FILE.abi()));
    }

    static Allowed readerAllowed() {
        return new Allowed(EnumSet.of(IoUringOp.NOP, IoUringOp.READ_FIXED), Set.of(), EnumSet.of(SqeFlag.FIXED_FILE),
                EnumSet.of(RegisterOp.REGISTER_PROBE));
    }

    /** A reader of {@code file}, 8 SQ entries, one buffer of {@code bufferBytes} (none if 0). */
    static CompiledPolicy reader(String name, Path file, long bufferBytes, Enabler enabler, Set<SetupFlag> flags,
                                 Limits limits, int maxClientFds) {
        List<FileSpec> files = file == null ? List.of()
                : List.of(new FileSpec("data", file, Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0, NO_LINKS));
        List<BufferSpec> buffers = bufferBytes == 0 ? List.of() : List.of(new BufferSpec("io", bufferBytes));
        return new CompiledPolicy(name, "test reader", "test:" + name, new Acquirers(true, Set.of(), Set.of()),
                new RingSpec(8, 16, flags, enabler), files, maxClientFds, buffers, limits, readerRestrictions(),
                readerAllowed(), TransparentSpec.disabled(), PolicyMode.ENFORCE);
    }

    static CompiledPolicy reader(Path file) {
        return reader("reader", file, 4096, Enabler.DAEMON, EnumSet.of(SetupFlag.SUBMIT_ALL), new Limits(8, 1 << 20), 2);
    }

    /** The same policy marked for transparent use. */
    static CompiledPolicy transparent(CompiledPolicy p) {
        return new CompiledPolicy(p.name(), p.description(), p.source(), p.acquirers(), p.ring(), p.files(),
                p.maxClientFds(), p.buffers(), p.limits(), p.restrictions(), p.allowed(),
                new TransparentSpec(true, Map.of(), 8, 16), p.mode());
    }
}
