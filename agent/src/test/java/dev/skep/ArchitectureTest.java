package dev.skep;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.skep.http.StatusJson;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * DESIGN.md's dependency rule, enforced: the data path (proxy, sentinel, http) sees the immutable topology and
 * the RESP framing, never the election, whose state only the control thread owns; only app (and the CLI that
 * starts it) wires everything; the test harness (chaos, netns) is not part of the product.
 */
class ArchitectureTest {
    private static JavaClasses product;

    @BeforeAll
    static void importProduct() {
        product = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.skep");
    }

    @Test
    void theDataPathSeesTheTopologyAndRespButNeverTheElection() {
        noClasses().that().resideInAnyPackage("dev.skep.proxy..", "dev.skep.sentinel..", "dev.skep.http..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.skep.election..", "dev.skep.redis..",
                        "dev.skep.lease..", "dev.skep.discovery..")
                .check(product);
    }

    @Test
    void onlyTheAppAndTheCommandLineWireTheNodeTogether() {
        noClasses().that().resideOutsideOfPackages("dev.skep.app..", "dev.skep.cli..", "dev.skep")
                .should().dependOnClassesThat().resideInAnyPackage("dev.skep.app..", "dev.skep.cli..")
                .check(product);
    }

    @Test
    void theProductHoldsNoneOfTheTestHarness() {
        // the fault harness and the network-namespace hosts are the harness module's: never in the shipped jar
        noClasses().should().resideInAnyPackage("dev.skep.chaos..", "dev.skep.netns..").check(product);
    }

    @Test
    void theElectionDecidesWithoutIo() {
        // pure decision code: events in, effects out (ElectionLoop and PeerTransport are its I/O shell)
        noClasses().that().resideInAPackage("dev.skep.election..")
                .and().haveNameNotMatching("dev\\.skep\\.election\\.(ElectionLoop|PeerTransport)($|\\$.*)")
                .should().dependOnClassesThat().resideInAnyPackage("io.netty..", "java.net..", "java.nio.channels..")
                .check(product);
    }

    @Test
    void anAgentWritesItsJsonWithoutJacksonsObjectMapper() {
        // the mapper is about 500 classes and 3 MiB that an agent would keep from its first /api/status on:
        // the agent streams its JSON (StatusJson.write, JsonLogEncoder); only the command-line tools read with it
        noClasses().that().resideOutsideOfPackage("dev.skep.cli..")
                .and().haveNameNotMatching("dev\\.skep\\.http\\.StatusJson($|\\$.*)")
                .should().dependOnClassesThat().resideInAPackage("com.fasterxml.jackson.databind..")
                .check(product);
        noClasses().that().resideOutsideOfPackage("dev.skep.cli..")
                .should().callMethod(StatusJson.class, "read", String.class)
                .orShould().callMethod(StatusJson.class, "mapper")
                .check(product);
    }
}
