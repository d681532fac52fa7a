package org.ringwarden.daemon.transparent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.policy.FlagDisposition;
import org.ringwarden.policy.TransparentSpec;

@Timeout(10)
class TransparentPlanTest {
    private static TransparentSpec spec(FlagDisposition all, Map<SetupFlag, FlagDisposition> overrides) {
        Map<SetupFlag, FlagDisposition> d = new EnumMap<>(SetupFlag.class);
        for (SetupFlag f : SetupFlag.values()) {
            d.put(f, all);
        }
        d.putAll(overrides);
        return new TransparentSpec(true, d, 4096, 8192);
    }

    private static long mask(SetupFlag... flags) {
        long m = 0;
        for (SetupFlag f : flags) {
            m |= f.abi();
        }
        return m;
    }

    @Test
    void everyRingIsCreatedDisabledButTheProgramIsToldOnlyWhatItAskedFor() {
        TransparentPlan p = TransparentPlan.decide(spec(FlagDisposition.HONOUR, Map.of()), "t", 8,
                mask(SetupFlag.SUBMIT_ALL), 0);
        assertThat(p.granted()).as("%s", p).isTrue();
        assertThat(p.creationFlags()).as("created disabled, to register restrictions first")
                .isEqualTo(mask(SetupFlag.SUBMIT_ALL, SetupFlag.R_DISABLED));
        assertThat(p.givenFlags()).isEqualTo(mask(SetupFlag.SUBMIT_ALL));
        assertThat(p.programEnables()).isFalse();
    }

    @Test
    void sqpollIsNeverHonouredEvenIfThePolicySaysSo() {
        TransparentPlan p = TransparentPlan.decide(spec(FlagDisposition.HONOUR, Map.of()), "t", 8,
                mask(SetupFlag.SQPOLL), 0);
        assertThat(p.errno()).as("%s", p).isEqualTo(Errno.EPERM.number());
        TransparentPlan dropped = TransparentPlan.decide(spec(FlagDisposition.HONOUR,
                Map.of(SetupFlag.SQPOLL, FlagDisposition.DROP, SetupFlag.SQ_AFF, FlagDisposition.DROP)), "t", 8,
                mask(SetupFlag.SQPOLL, SetupFlag.SQ_AFF), 0);
        assertThat(dropped.granted()).as("%s", dropped).isTrue();
        assertThat(dropped.creationFlags() & mask(SetupFlag.SQPOLL, SetupFlag.SQ_AFF)).isZero();
        assertThat(dropped.dropped()).containsExactlyInAnyOrder(SetupFlag.SQPOLL, SetupFlag.SQ_AFF);
    }

    @Test
    void aRefusedFlagFailsWithEpermAndADroppedOneIsLeftOut() {
        TransparentPlan refused = TransparentPlan.decide(spec(FlagDisposition.REFUSE, Map.of()), "t", 8,
                mask(SetupFlag.IOPOLL), 0);
        assertThat(refused.errno()).isEqualTo(Errno.EPERM.number());
        assertThat(refused.reason()).contains("policy t refuses IORING_SETUP_IOPOLL");
        TransparentPlan dropped = TransparentPlan.decide(spec(FlagDisposition.DROP, Map.of()), "t", 8,
                mask(SetupFlag.IOPOLL, SetupFlag.COOP_TASKRUN), 0);
        assertThat(dropped.givenFlags()).isZero();
        assertThat(dropped.reason()).contains("dropped IOPOLL|COOP_TASKRUN");
    }

    @Test
    void singleIssuerAndDeferTaskrunNeedAnHonouredRDisabled() {
        TransparentSpec s = spec(FlagDisposition.HONOUR, Map.of());
        TransparentPlan without = TransparentPlan.decide(s, "t", 8,
                mask(SetupFlag.SINGLE_ISSUER, SetupFlag.DEFER_TASKRUN), 0);
        assertThat(without.givenFlags()).as("the daemon would be the issuer: dropped").isZero();
        TransparentPlan with = TransparentPlan.decide(s, "t", 8,
                mask(SetupFlag.R_DISABLED, SetupFlag.SINGLE_ISSUER, SetupFlag.DEFER_TASKRUN), 0);
        assertThat(with.programEnables()).isTrue();
        assertThat(with.givenFlags()).isEqualTo(mask(SetupFlag.R_DISABLED, SetupFlag.SINGLE_ISSUER,
                SetupFlag.DEFER_TASKRUN));
        TransparentPlan deferAlone = TransparentPlan.decide(spec(FlagDisposition.HONOUR,
                Map.of(SetupFlag.SINGLE_ISSUER, FlagDisposition.DROP)), "t", 8,
                mask(SetupFlag.R_DISABLED, SetupFlag.SINGLE_ISSUER, SetupFlag.DEFER_TASKRUN), 0);
        assertThat(deferAlone.givenFlags()).as("DEFER_TASKRUN needs SINGLE_ISSUER")
                .isEqualTo(mask(SetupFlag.R_DISABLED));
    }

    @Test
    void flagsThatWouldPutTheRingInTheDaemonAreInvalidAndUnknownBitsToo() {
        TransparentSpec s = spec(FlagDisposition.HONOUR, Map.of());
        assertThat(TransparentPlan.decide(s, "t", 8, mask(SetupFlag.NO_MMAP), 0).errno()).isEqualTo(Errno.EINVAL.number());
        assertThat(TransparentPlan.decide(s, "t", 8, mask(SetupFlag.REGISTERED_FD_ONLY), 0).errno())
                .isEqualTo(Errno.EINVAL.number());
        assertThat(TransparentPlan.decide(s, "t", 8, 1L << 30, 0).errno()).isEqualTo(Errno.EINVAL.number());
        assertThat(TransparentPlan.decide(s, "t", 0, 0, 0).errno()).as("entries 0").isEqualTo(Errno.EINVAL.number());
        TransparentPlan wq = TransparentPlan.decide(s, "t", 8, mask(SetupFlag.ATTACH_WQ), 0);
        assertThat(wq.givenFlags()).as("the program's wq_fd means nothing in the daemon").isZero();
    }

    @Test
    void sizesAreClampedToThePolicyAndTheDefaultCqStaysWithinItsBound() {
        TransparentSpec s = spec(FlagDisposition.HONOUR, Map.of());
        TransparentPlan big = TransparentPlan.decide(s, "t", 100_000, mask(SetupFlag.CQSIZE), 1_000_000);
        assertThat(big.sqEntries()).isEqualTo(4096);
        assertThat(big.cqEntries()).isEqualTo(8192);
        TransparentPlan noCq = TransparentPlan.decide(new TransparentSpec(true, Map.of(), 4096, 4096), "t", 4096, 0, 0);
        assertThat(noCq.cqEntries()).as("2 x 4096 exceeds maxCqEntries 4096").isEqualTo(4096);
        assertThat(noCq.creationFlags() & SetupFlag.CQSIZE.abi()).isNotZero();
        assertThat(TransparentPlan.decide(s, "t", 8, mask(SetupFlag.CQSIZE), 0).errno()).isEqualTo(Errno.EINVAL.number());
    }

    @Test
    void aDisabledSpecRefusesEverything() {
        assertThat(TransparentPlan.decide(TransparentSpec.disabled(), "t", 8, 0, 0).errno()).isEqualTo(Errno.EPERM.number());
    }
}
