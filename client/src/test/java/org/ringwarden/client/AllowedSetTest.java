package org.ringwarden.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.ringwarden.client.protocol.Response;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.SqeFlag;

class AllowedSetTest {
    private static Response.Allowed allowed(List<String> ops, List<String> flagsRequired) {
        return new Response.Allowed(ops, List.of(), flagsRequired, List.of());
    }

    @Test
    void aGrantThatDiffersOnlyInItsAllowedFlagsGetsItsOwnSet() {
        AllowedSet none = AllowedSet.of("f", new Response.Allowed(List.of("NOP"), List.of(), List.of(), List.of()));
        AllowedSet link = AllowedSet.of("f", new Response.Allowed(List.of("NOP"), List.of("IO_LINK"), List.of(), List.of()));
        assertThat(link).as("other allowed flags, another set").isNotSameAs(none);
        link.checkFlags((int) SqeFlag.IO_LINK.abi()); // allowed here: no exception
        assertThatThrownBy(() -> none.checkFlags((int) SqeFlag.IO_LINK.abi()))
                .as("IO_LINK under the grant that does not allow it").isInstanceOf(PolicyViolationException.class);
    }

    @Test
    void theSameGrantAgainGetsTheSameSetAndAnotherGrantGetsItsOwnRules() {
        AllowedSet nop = AllowedSet.of("p", allowed(List.of("NOP"), List.of()));
        assertThat(AllowedSet.of("p", allowed(List.of("NOP"), List.of())))
                .as("an equal grant under the same policy reuses the set").isSameAs(nop);

        AllowedSet read = AllowedSet.of("p", allowed(List.of("READ"), List.of("FIXED_FILE")));
        assertThat(read).as("another allowed set is not answered from the last one").isNotSameAs(nop);
        assertThatThrownBy(() -> read.checkOp(IoUringOp.NOP.number()))
                .as("NOP under the second grant").isInstanceOf(PolicyViolationException.class)
                .hasMessageContaining("NOP is not allowed by policy 'p'; allowed: READ");
        assertThat(read.requiredFlags()).as("the second grant's required flags").isEqualTo((int) SqeFlag.FIXED_FILE.abi());

        AllowedSet other = AllowedSet.of("q", allowed(List.of("READ"), List.of("FIXED_FILE")));
        assertThat(other).as("the same rules under another policy name their own policy").isNotSameAs(read);
        assertThatThrownBy(() -> other.checkOp(IoUringOp.NOP.number())).hasMessageContaining("policy 'q'");
    }
}
