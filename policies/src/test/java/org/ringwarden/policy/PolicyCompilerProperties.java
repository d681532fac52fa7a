package org.ringwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.KernelConstant;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.RestrictionType;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;

/** The compiler never allows an opcode, flag, register opcode or file mode that the policy does not name. */
class PolicyCompilerProperties {

    @Property(tries = 2000)
    void restrictionsAllowExactlyWhatThePolicyNames(@ForAll("definitions") PolicyDefinition d) {
        CompiledPolicy c = PolicyCompiler.compile(d, Acquirers.nobody(), "gen", null);
        List<Restriction> rs = c.restrictions();

        Set<IoUringOp> sqeOps = EnumSet.noneOf(IoUringOp.class);
        Set<RegisterOp> regOps = EnumSet.noneOf(RegisterOp.class);
        List<Integer> allowedMasks = new ArrayList<>();
        List<Integer> requiredMasks = new ArrayList<>();
        for (Restriction r : rs) {
            switch (r.type()) {
                case SQE_OP -> assertThat(sqeOps.add(IoUringOp.of(r.value()))).as("SQE_OP %s once", r).isTrue();
                case REGISTER_OP -> assertThat(regOps.add(RegisterOp.of(r.value()))).as("REGISTER_OP %s once", r).isTrue();
                case SQE_FLAGS_ALLOWED -> allowedMasks.add(r.value());
                case SQE_FLAGS_REQUIRED -> requiredMasks.add(r.value());
            }
        }
        assertThat(sqeOps).as("SQE opcodes allowed = the policy's").isEqualTo(d.sqeOps());
        assertThat(d.sqeOps()).as("every policy opcode is allowed").isEqualTo(sqeOps);
        assertThat(regOps).as("at least one REGISTER_OP entry, always").isNotEmpty();
        if (d.registerOps().isEmpty()) {
            assertThat(regOps).as("PROBE alone when the policy names none").containsExactly(RegisterOp.REGISTER_PROBE);
        } else {
            assertThat(regOps).as("register opcodes = the policy's").isEqualTo(d.registerOps());
        }
        assertThat(allowedMasks).as("one SQE_FLAGS_ALLOWED").containsExactly((int) KernelConstant.mask(d.sqeFlagsAllowed()));
        assertThat(requiredMasks).as("one SQE_FLAGS_REQUIRED").containsExactly((int) KernelConstant.mask(d.sqeFlagsRequired()));

        // Deterministic order: register ops by number, SQE ops by number, then the two flag entries.
        List<Restriction> sorted = new ArrayList<>(rs);
        sorted.sort(java.util.Comparator.comparingInt((Restriction r) -> switch (r.type()) {
            case REGISTER_OP -> 0;
            case SQE_OP -> 1;
            case SQE_FLAGS_ALLOWED -> 2;
            case SQE_FLAGS_REQUIRED -> 3;
        }).thenComparingInt(Restriction::value));
        assertThat(rs).as("restriction order").containsExactlyElementsOf(sorted);
        assertThat(PolicyCompiler.compile(d, Acquirers.nobody(), "gen", null).restrictions()).as("same input, same output").isEqualTo(rs);

        // The grant's summary says the same as the entries.
        assertThat(c.allowed().sqeOps()).isEqualTo(sqeOps);
        assertThat(c.allowed().registerOps()).isEqualTo(regOps);
        assertThat(c.allowed().sqeFlagsAllowed()).isEqualTo(d.sqeFlagsAllowed());
        assertThat(c.allowed().sqeFlagsRequired()).isEqualTo(d.sqeFlagsRequired());
    }

    @Property(tries = 2000)
    void ringAndFilesNeverGainWhatThePolicyDoesNotGrant(@ForAll("definitions") PolicyDefinition d) {
        CompiledPolicy c = PolicyCompiler.compile(d, Acquirers.nobody(), "gen", null);
        assertThat(c.ring().setupFlags()).as("setup flags").isEqualTo(d.ring().setupFlags());
        long extra = c.ring().creationFlags() & ~c.ring().setupMask();
        assertThat(extra & ~(SetupFlag.R_DISABLED.abi() | SetupFlag.CQSIZE.abi()))
                .as("creation adds only R_DISABLED and CQSIZE").isZero();
        boolean anyRead = d.sqeOps().stream().anyMatch(OpcodeClasses.READS::contains);
        boolean anyWrite = d.sqeOps().stream().anyMatch(OpcodeClasses.WRITES::contains);
        for (int i = 0; i < d.files().size(); i++) {
            PolicyDefinition.FileDef f = d.files().get(i);
            FileSpec s = c.files().get(i);
            if (s.readable()) {
                assertThat(f.mayRead()).as("%s readable only if the policy grants read", f).isTrue();
            }
            if (s.writable()) {
                assertThat(f.mayWrite()).as("%s writable only if the policy grants write", f).isTrue();
                // Without a write opcode only a write-only grant opens it for writing (rather than readable).
                assertThat(anyWrite || !f.mayRead()).as("%s writable without a write opcode", f).isTrue();
            }
            if (s.readable() && s.writable()) {
                assertThat(anyRead).as("%s read-write only if a read opcode is allowed", f).isTrue();
            }
            if ((s.openFlags() & Descriptors.O_CREAT) != 0) {
                assertThat(f.access()).as("O_CREAT only when asked").contains(PolicyDefinition.Access.CREATE);
            }
            if ((s.openFlags() & Descriptors.O_APPEND) != 0) {
                assertThat(f.access()).as("O_APPEND only when asked").contains(PolicyDefinition.Access.APPEND);
            }
            if (f.access().contains(PolicyDefinition.Access.APPEND) && s.writable()) {
                assertThat(s.openFlags() & Descriptors.O_APPEND).as("an append-only file is never opened for plain writes").isNotZero();
            }
            assertThat(s.openFlags() & Descriptors.O_CLOEXEC).as("O_CLOEXEC").isNotZero();
            assertThat(s.openFlags() & (Descriptors.O_TRUNC | Descriptors.O_PATH)).as("no O_TRUNC, no O_PATH").isZero();
            assertThat(s.resolveFlags() & Descriptors.RESOLVE_NO_MAGICLINKS).as("never magic links").isNotZero();
            if (!f.followSymlinks()) {
                assertThat(s.resolveFlags() & Descriptors.RESOLVE_NO_SYMLINKS).as("no symlinks unless opted out").isNotZero();
            }
        }
    }

    @Provide
    Arbitrary<PolicyDefinition> definitions() {
        Arbitrary<Set<IoUringOp>> ops = Arbitraries.of(IoUringOp.class).set().ofMaxSize(IoUringOp.values().length);
        Arbitrary<Set<SqeFlag>> flags = Arbitraries.of(SqeFlag.class).set();
        Arbitrary<Set<RegisterOp>> reg = Arbitraries.of(RegisterOp.class).set().ofMaxSize(8);
        Arbitrary<Set<SetupFlag>> setup = Arbitraries.of(SetupFlag.class).set().ofMaxSize(6);
        Arbitrary<PolicyDefinition.FileDef> file = Combinators.combine(
                // As the rules require: at least one of read, write, read-write, append.
                Arbitraries.of(PolicyDefinition.Access.class).set().ofMinSize(1)
                        .filter(a -> a.size() > 1 || !a.contains(PolicyDefinition.Access.CREATE)),
                Arbitraries.of(OpenFlag.class).set(),
                Arbitraries.of(true, false)).as((access, open, follow) ->
                new PolicyDefinition.FileDef("f", "/tmp/f", access, open, 0640, follow, org.ringwarden.linux.FileType.REGULAR));
        Arbitrary<List<PolicyDefinition.FileDef>> files = file.list().ofMaxSize(4);
        Arbitrary<Integer> sq = Arbitraries.integers().between(0, 15).map(b -> 1 << b);
        return Combinators.combine(ops, flags, flags, reg, setup, files, sq, Arbitraries.of(Enabler.class))
                .as((o, fa, fr, r, s, fs, n, en) -> new PolicyDefinition("gen", "generated",
                        PolicyDefinition.Subjects.nobody(),
                        new PolicyDefinition.Ring(n, 0, s, en, false), o, fa, fr, r, Set.of(), fs, 0,
                        List.of(), new Limits(1, 0), new PolicyDefinition.Transparent(false, Map.of(), 0, 0), PolicyMode.ENFORCE));
    }
}
