package org.ringwarden.daemon.cli;

import org.ringwarden.daemon.admin.SystemFacts;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code ringwarden} command line: the daemon, its administration, and the policy tools.
 * Exit codes follow picocli's convention: 0 success, 1 failure of the task, 2 usage error.
 */
@Command(name = "ringwarden",
        mixinStandardHelpOptions = true,
        versionProvider = RingwardenCommand.Version.class,
        description = {
                "Hands restricted io_uring rings to sandboxed processes.",
                "",
                "A privileged broker creates each ring disabled, locks it down with kernel restrictions "
                        + "compiled from an administrator's policy, registers the files and buffers the client may "
                        + "touch, enables it, and delivers it through seccomp user notification."},
        subcommands = {CommandLine.HelpCommand.class, DaemonCommand.class, StatusCommand.class, LeasesCommand.class,
                ReloadCommand.class, DoctorCommand.class, PolicyCommand.class, DemoCommand.class, LearnCommand.class, WatchRefusalsCommand.class})
public final class RingwardenCommand implements Runnable {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (injected)
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        // No subcommand: show what there is to do rather than fail silently.
        spec.commandLine().usage(System.out);
    }

    /**
     * Runs the commands that must start quickly without building the picocli model
     * ({@code ringwarden run}, RunFastPath); empty if {@code args} are for {@link #commandLine}.
     */
    public static java.util.OptionalInt fastPath(String[] args) {
        return args.length > 0 && args[0].equals("run") ? RunFastPath.tryRun(args) : java.util.OptionalInt.empty();
    }

    /** Builds the command line with every subcommand registered. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new RingwardenCommand());
        cl.addSubcommand("run", new CommandLine(new RunCommand()).setStopAtPositional(true)); // PROGRAM's own options are its, not ours
        cl.addSubcommand("seccomp-profile", new SeccompProfileCommand()); // docs/containers.md
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl;
    }

    /** The version from the build, e.g. {@code ringwarden 0.1.0}. */
    public static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"ringwarden " + version(),
                    "Java " + Runtime.version() + ", " + System.getProperty("os.name") + " " + System.getProperty("os.version")};
        }

        public static String version() {
            return SystemFacts.ringwardenVersion();
        }
    }
}
