package org.ringwarden.daemon.cli;

import java.util.List;
import java.util.concurrent.Callable;

import org.ringwarden.daemon.admin.HostChecks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ringwarden doctor}: can this kernel and host run the daemon? */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Checks whether this kernel and host can run the daemon: io_uring present and permitted "
                + "(kernel.io_uring_disabled, io_uring_group), restrictions supported, seccomp user notification, "
                + "SO_PEERPIDFD, the memlock limit and capabilities of this process. Run it as the daemon's user.",
                "Exit code 1 if anything fails."})
public final class DoctorCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print the findings as JSON.")
    boolean json;

    @Override
    public Integer call() throws JsonProcessingException {
        List<HostChecks.Finding> findings = HostChecks.run();
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
