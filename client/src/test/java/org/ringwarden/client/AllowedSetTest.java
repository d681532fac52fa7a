package org.ringwarden.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.SqeFlag;
import org.ringwarden.protocol.Response;

class AllowedSetTest {
    private static Response.Allowed allowed(List<String> ops, List<String> flagsRequired) {
        return new Response.Allowed(ops, List.of(), flagsRequired, List.of());
    }

    @Test
    void aGrantThatDiffersOnlyInItsAllowedFlagsHasItsOwnRules() {
        AllowedSet none = new AllowedSet("f", new Response.Allowed(List.of("NOP"), List.of(), List.of(), List.of()));
        AllowedSet link = new AllowedSet("f", new Response.Allowed(List.of("NOP"), List.of("IO_LINK"), List.of(), List.of()));
        link.checkFlags((int) SqeFlag.IO_LINK.abi()); // allowed here: no exception
        assertThatThrownBy(() -> none.checkFlags((int) SqeFlag.IO_LINK.abi()))
                .as("IO_LINK under the grant that does not allow it").isInstanceOf(PolicyViolationException.class);
    }

    @Test
    void eachGrantGetsItsOwnRulesAndNamesItsOwnPolicy() {
        AllowedSet nop = new AllowedSet("p", allowed(List.of("NOP"), List.of()));
        nop.checkOp(IoUringOp.NOP); // allowed: no exception
        assertThat(nop.requiredFlags()).as("no required flags").isZero();

        AllowedSet read = new AllowedSet("p", allowed(List.of("READ"), List.of("FIXED_FILE")));
        assertThatThrownBy(() -> read.checkOp(IoUringOp.NOP))
                .as("NOP under the second grant").isInstanceOf(PolicyViolationException.class)
                .hasMessageContaining("NOP is not allowed by policy 'p'; allowed: READ");
        assertThat(read.requiredFlags()).as("the second grant's required flags").isEqualTo((int) SqeFlag.FIXED_FILE.abi());
        nop.checkOp(IoUringOp.NOP); // the first set is unchanged by the second

        AllowedSet other = new AllowedSet("q", allowed(List.of("READ"), List.of("FIXED_FILE")));
        assertThatThrownBy(() -> other.checkOp(IoUringOp.NOP)).hasMessageContaining("policy 'q'");
    }

    @Test
    void namesTheKernelDoesNotKnowAreIgnored() {
        AllowedSet set = new AllowedSet("p", new Response.Allowed(List.of("NOP", "FROM_A_NEWER_KERNEL"),
                List.of("NOT_A_FLAG"), List.of(), List.of()));
        set.checkOp(IoUringOp.NOP); // still allowed: no exception
        assertThatThrownBy(() -> set.checkOp(IoUringOp.READ)).isInstanceOf(PolicyViolationException.class)
                .hasMessageContaining("allowed: NOP");
    }
}
