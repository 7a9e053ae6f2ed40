package dev.skep.app;

import dev.skep.support.Need;
import dev.skep.support.Needs;
import dev.skep.support.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The status page at {@code /} in a real headless Chromium (Debian's {@code chromium} and
 * {@code chromium-driver}): it shows the master of a live hive, and after kill -9 of that master's redis
 * it shows the new master and the events, by itself, without a reload; a TLS hive's page shows the certificate in
 * use, red within 7 days of its end. Screenshots at desktop and phone width are saved under {@code target/} for a
 * human to look at.
 */
@Needs(Need.CHROMIUM)
class StatusPageIT {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Duration ELECTION = Duration.ofSeconds(10);
    private HiveFixture hive;
    private ChromeDriver browser;
    private Path profile;

    @AfterEach
    void stop() throws IOException {
        try {
            if (browser != null) {
                browser.quit();
            }
        } finally {
            if (hive != null) {
                hive.close();
            }
            if (profile != null) {
                try (var files = Files.walk(profile)) {
                    files.sorted(java.util.Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
                }
            }
        }
    }

    /** A headless Chromium with a fresh profile that talks to nothing but the pages it is sent to. */
    private ChromeDriver startBrowser() throws IOException {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            throw new AssertionError("this test needs Debian's chromium and chromium-driver (" + CHROMIUM + ", "
                    + CHROMEDRIVER + "): install them with 'sudo apt-get install -y chromium chromium-driver' "
                    + "(.ci/run does it when run as root)");
        }
        profile = Files.createTempDirectory("skep-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--window-size=1280,900");
        // a TLS hive's admin port presents a certificate of the test's own CA
        options.setAcceptInsecureCerts(true);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        return new ChromeDriver(service, options);
    }

    /**
     * A wait on the page: it re-renders on every poll, so an element found can be replaced before it is read;
     * that is not an answer, the condition is asked again.
     */
    private static org.awaitility.core.ConditionFactory page() {
        return await().atMost(ELECTION).ignoreException(org.openqa.selenium.StaleElementReferenceException.class);
    }

    private String masterCardNode() {
        List<WebElement> cards = browser.findElements(By.cssSelector("#row-master .card[data-role=master]"));
        return cards.size() == 1 ? cards.get(0).getDomAttribute("data-node") : null;
    }

    private void screenshot(String name, int width) throws IOException {
        browser.manage().window().setSize(new Dimension(width, 900));
        JavascriptExecutor js = browser;
        js.executeScript("window.dispatchEvent(new Event('resize'));");
        // tall enough for the whole page (the window's frame included), so the screenshot shows all of it
        @SuppressWarnings("unchecked")
        List<Long> sizes = (List<Long>) js.executeScript("return [document.documentElement.scrollHeight,"
                + " window.outerHeight - window.innerHeight];");
        browser.manage().window().setSize(new Dimension(width, (int) (sizes.get(0) + sizes.get(1))));
        js.executeScript("window.dispatchEvent(new Event('resize'));");
        Path to = Path.of("agent", "target", name);
        Files.createDirectories(to.getParent());
        Files.write(to, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
    }

    /** The TLS line's text, once the page shows it. */
    private String tlsLine() {
        WebElement fact = browser.findElement(By.id("tls-fact"));
        return fact.isDisplayed() ? browser.findElement(By.id("tls")).getText() : null;
    }

    /** The colour the TLS line is drawn in. */
    private String tlsColour() {
        return browser.findElement(By.id("tls")).getCssValue("color");
    }

    /**
     * A TLS hive's page, over HTTPS, shows the certificate its node presents, subject and expiry, in the ordinary
     * colour while it has more than 7 days left; a certificate renewed into the files (here one ending in 3 days)
     * appears without a reload, in red.
     */
    @Test
    void aTlsHivesPageShowsTheCertificateInUseAndTurnsRedWithinSevenDaysOfItsEnd(@TempDir Path dir) throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        hive = HiveFixture.startWithTls(1, certs);
        HiveFixture.Node node = hive.awaitLeader(ELECTION);
        Instant now = Instant.now();
        Instant longEnd = now.plus(Duration.ofDays(90));
        TestCertificates.replace(node.certificate, certs.issue("hive-long", now.minus(Duration.ofHours(1)), longEnd));
        page().until(() -> "CN=hive-long".equals(node.status().tls().subject()));
        browser = startBrowser();

        browser.get("https://127.0.0.1:" + node.config.httpPort() + "/");
        page().untilAsserted(() -> assertThat(tlsLine()).isEqualTo("CN=hive-long, expires in 90.0 days ("
                + day(longEnd) + ", " + node.status().tls().provider() + ")"));
        String ordinary = tlsColour();
        assertThat(ordinary).isNotEqualTo(RED);
        ((JavascriptExecutor) browser).executeScript("window.skepMark = 'no reload';");
        screenshot("status-page-tls-desktop.png", 1280);

        // renewed into the files with a certificate that ends within the week: the same line, red
        Instant soonEnd = Instant.now().plus(Duration.ofDays(3));
        TestCertificates.replace(node.certificate, certs.issue("hive-soon", now.minus(Duration.ofHours(1)), soonEnd));
        page().untilAsserted(() -> {
            assertThat(tlsLine()).startsWith("CN=hive-soon, expires in 3.0 days (" + day(soonEnd) + ", ");
            assertThat(tlsColour()).isEqualTo(RED);
        });
        assertThat(((JavascriptExecutor) browser).executeScript("return window.skepMark;")).isEqualTo("no reload");
        screenshot("status-page-tls-expiring-desktop.png", 1280);
    }

    /** The page's red for a warning in its dark header (#ff6f61), as the browser reports a computed colour. */
    private static final String RED = "rgba(255, 111, 97, 1)";

    /** The date of {@code t} as the page writes it (UTC, yyyy-mm-dd). */
    private static String day(Instant t) {
        return t.toString().substring(0, 10);
    }

    @Test
    void thePageShowsTheMasterAndAfterAKillTheNewMasterAndTheEventsWithoutReload() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node oldMaster = hive.awaitLeader(ELECTION);
        page().until(() -> hive.nodes.stream().allMatch(n -> n.status().ready()));
        HiveFixture.Node viewer = hive.nodes.stream().filter(n -> n != oldMaster).findFirst().orElseThrow();
        browser = startBrowser();

        browser.get("http://127.0.0.1:" + viewer.config.httpPort() + "/");
        assertThat(browser.getTitle()).contains("Skep");
        page().until(() -> oldMaster.peer().toString().equals(masterCardNode()));
        assertThat(browser.findElement(By.id("master")).getText()).isEqualTo(oldMaster.config.announcedRedis().toString());
        page().until(
                () -> browser.findElements(By.cssSelector("#row-replicas .card[data-role=replica]")).size() == 2);
        // traffic figures arrive from every node (the viewer asks its peers)
        page().until(() -> browser.findElements(By.cssSelector("#members tr")).stream()
                .noneMatch(tr -> tr.getText().contains("?")));
        // a mark that a reload would wipe
        ((JavascriptExecutor) browser).executeScript("window.skepMark = 'no reload';");
        screenshot("status-page-desktop.png", 1280);

        oldMaster.redis.kill9();
        HiveFixture.Node newMaster = hive.awaitLeaderOtherThan(oldMaster, ELECTION);

        page().until(() -> newMaster.peer().toString().equals(masterCardNode()));
        assertThat(browser.findElement(By.id("master")).getText()).isEqualTo(newMaster.config.announcedRedis().toString());
        page().untilAsserted(() -> {
            List<WebElement> lost = browser.findElements(By.cssSelector("#events li[data-kind=leader-lost]"));
            assertThat(lost).anySatisfy(li -> assertThat(li.getText())
                    .contains("leader " + oldMaster.peer()).contains("NOT_READY"));
            String kind = newMaster == viewer ? "promoted" : "following";
            assertThat(browser.findElements(By.cssSelector("#events li[data-kind=" + kind + "]")))
                    .anySatisfy(li -> assertThat(li.getText()).contains(newMaster == viewer ? "leading epoch"
                            : "following leader " + newMaster.peer()));
            // the old master's node is shown as not ready, in its own card
            assertThat(browser.findElements(By.cssSelector(".card[data-role=bad][data-node='" + oldMaster.peer() + "']")))
                    .hasSize(1);
        });
        assertThat(((JavascriptExecutor) browser).executeScript("return window.skepMark;")).isEqualTo("no reload");
        assertThat(browser.findElement(By.id("live")).getText()).startsWith("live");

        screenshot("status-page-after-failover-desktop.png", 1280);
        screenshot("status-page-after-failover-phone.png", 390);
        // on a phone the cards are stacked, none wider than the screen
        Long overflow = (Long) ((JavascriptExecutor) browser).executeScript(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;");
        assertThat(overflow).as("horizontal overflow at phone width").isLessThanOrEqualTo(0);
    }
}
