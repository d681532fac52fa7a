package org.ringwarden.daemon;

import java.util.OptionalInt;

import org.ringwarden.daemon.cli.RingwardenCommand;

/** Entry point of the {@code ringwarden} launcher. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        OptionalInt fast = RingwardenCommand.fastPath(args);
        System.exit(fast.isPresent() ? fast.getAsInt() : RingwardenCommand.commandLine().execute(args));
    }
}
