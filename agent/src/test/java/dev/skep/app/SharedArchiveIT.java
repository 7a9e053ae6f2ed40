package dev.skep.app;

import dev.skep.support.ExternalProcess;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The class-data sharing archive the build writes beside the jar (agent/pom.xml, {@link CdsTraining}) maps the classes
 * an agent loads at start, picocli's included: they ship as Java 5 class files, which no archive takes, and the build
 * rewrites them as Java 8 ones (agent/build/UpgradeClassFiles.java). A JVM that cannot use the archive starts without
 * it, silently; here {@code -Xshare:on} makes that a failure.
 */
class SharedArchiveIT {
    @Test
    void theArchiveBesideTheJarMapsPicocliAndTheAgentsOwnClasses() throws Exception {
        Path jar = Path.of(System.getProperty("skep.jar", "agent/target/skep.jar")).toAbsolutePath();
        Path archive = jar.resolveSibling("skep.jsa");
        assertThat(archive).as("the build's archive (built by mvn package, unless -Dskep.cds.skip=true, which leaves "
                + "an old one or none: build again without it)").exists();
        String java = ProcessHandle.current().info().command().orElse("java");

        String out = ExternalProcess.outputOf(java, "-Xshare:on", "-XX:SharedArchiveFile=" + archive,
                "-Xlog:class+load=info", "-jar", jar.toString(), "--version");

        List<String> loaded = out.lines().filter(l -> l.contains("[class,load]")).toList();
        assertThat(out).as("the version, printed through picocli").contains("skep ");
        assertThat(loaded).as("picocli's command line, from the archive")
                .anyMatch(l -> l.contains(" picocli.CommandLine source: shared objects file"));
        assertThat(loaded).as("the agent's entry point, from the archive")
                .anyMatch(l -> l.contains(" dev.skep.Skep source: shared objects file"));
        assertThat(loaded.stream().filter(l -> l.contains(" picocli.") && !l.contains("shared objects file")))
                .as("picocli classes parsed from the jar at start").isEmpty();
    }
}
