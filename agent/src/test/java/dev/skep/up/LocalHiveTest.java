package dev.skep.up;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class LocalHiveTest {
    @Test
    void theNativeHeapTrimIsAskedOnlyOfJvmsThatKnowIt() {
        assertThat(LocalHive.agentJvmOptions(Runtime.Version.parse("17.0.8"), null))
                .contains("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
                .noneMatch(o -> o.startsWith("-XX:TrimNativeHeapInterval"))
                .noneMatch(o -> o.startsWith("-XX:SharedArchiveFile"));
        assertThat(LocalHive.agentJvmOptions(Runtime.Version.parse("17.0.15"), null))
                .contains("-XX:TrimNativeHeapInterval=5000");
        assertThat(LocalHive.agentJvmOptions(Runtime.Version.parse("21.0.2"), null))
                .contains("-XX:TrimNativeHeapInterval=5000");
    }

    @Test
    void theArchiveBesideTheJarIsUsedWhenThereIsOne(@TempDir Path dir) throws Exception {
        Path jar = Files.createFile(dir.resolve("skep.jar"));
        assertThat(LocalHive.sharedArchiveBeside(jar.toString())).isNull();
        Path archive = Files.createFile(dir.resolve(LocalHive.SHARED_ARCHIVE));
        assertThat(LocalHive.sharedArchiveBeside(jar.toString())).isEqualTo(archive);
        // a class path of directories (tests, IDEs) has no archive
        assertThat(LocalHive.sharedArchiveBeside(dir + "/classes" + java.io.File.pathSeparator + jar)).isNull();
    }

    @Test
    void theJvmRunningNowAcceptsEveryOptionEvenWithAnArchiveItCannotUse(@TempDir Path dir) throws Exception {
        // not an archive at all: the JVM must start as without one, and say nothing about it
        Path bogus = Files.writeString(dir.resolve(LocalHive.SHARED_ARCHIVE), "not a CDS archive");
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(LocalHive.agentJvmOptions(Runtime.version(), bogus));
        cmd.add("-version");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).doesNotContain("cds").doesNotContain("warning");
    }
}
