package org.ringwarden.daemon.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.ringwarden.daemon.admin.DeploymentChecks;
import org.ringwarden.daemon.admin.HostChecks;
import org.ringwarden.daemon.config.ConfigException;
import org.ringwarden.daemon.config.ConfigLoader;
import org.ringwarden.daemon.config.DaemonConfig;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import org.jspecify.annotations.Nullable;

/** {@code ringwarden doctor}: can this kernel and host run the daemon, and is it deployed as docs/install.md says? */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Checks whether this kernel and host can run the daemon: io_uring present and permitted "
                + "(kernel.io_uring_disabled, io_uring_group), restrictions supported, seccomp user notification, "
                + "SO_PEERPIDFD, the memlock limit and capabilities of this process. Run it as the daemon's user.",
                "Then the deployment, as docs/install.md describes it: the client and admin sockets are there with "
                        + "the configured modes and groups, the policy directory loads, the service's LimitMEMLOCK "
                        + "covers the configured per-user quotas, and kernel.io_uring_group is the daemon's group.",
                "Every problem comes with a fix. Exit code 1 if anything fails."})
public final class DoctorCommand implements Callable<Integer> {
    /** The configuration the installed unit runs with (docs/install.md). */
    static final Path INSTALLED_CONFIG = Path.of("/etc/ringwarden/ringwarden.json");

    @Option(names = "--json", description = "Print the findings as JSON.")
    boolean json;

    @Option(names = "--config", paramLabel = "FILE",
            description = "The daemon's configuration (default: /etc/ringwarden/ringwarden.json if it exists, else the defaults).")
    @Nullable Path config;

    @Option(names = "--unit", paramLabel = "FILE",
            description = "The service unit (and drop-ins, repeated) to read LimitMEMLOCK from (default: the installed ringwarden.service and its drop-ins).")
    List<Path> units = new ArrayList<>();

    @Override
    public Integer call() throws JsonProcessingException {
        List<HostChecks.Finding> findings = new ArrayList<>(HostChecks.run());
        Path file = config != null ? config : Files.exists(INSTALLED_CONFIG) ? INSTALLED_CONFIG : null;
        try {
            DaemonConfig c = file == null ? DaemonConfig.defaults(System.getenv()) : ConfigLoader.load(file, System.getenv());
            String source = file == null ? "no " + INSTALLED_CONFIG + ": the daemon's defaults" : file.toString();
            findings.addAll(DeploymentChecks.run(c, source, units.isEmpty() ? DeploymentChecks.installedUnitFiles() : units));
        } catch (ConfigException e) {
            findings.add(new HostChecks.Finding("configuration", HostChecks.Status.FAIL, String.valueOf(e.getMessage()),
                    "correct the file at the line and column given (docs/configuration.md lists every field)"));
        }
        if (json) {
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(findings));
        } else {
            for (HostChecks.Finding f : findings) {
                System.out.printf("%-5s %-26s %s%n", f.status(), f.check(), f.detail());
                if (f.fix() != null) {
                    System.out.printf("      %-26s fix: %s%n", "", f.fix());
                }
            }
        }
        return findings.stream().anyMatch(f -> f.status() == HostChecks.Status.FAIL) ? 1 : 0;
    }
}
