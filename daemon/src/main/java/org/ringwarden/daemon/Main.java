package org.ringwarden.daemon;

import org.ringwarden.daemon.cli.RingwardenCommand;

/** Entry point of the {@code ringwarden} launcher. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(RingwardenCommand.commandLine().execute(args));
    }
}
