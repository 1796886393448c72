package saferlhf.serve;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.eval.TinyModels;
import saferlhf.model.Generation;
import saferlhf.train.Data;

/**
 * The web arena in a real browser: headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, which
 * {@code environment/install.sh} installs) opens the page, picks an example prompt, asks both policies, and sees two
 * answers with their scores and the judge's verdict; the screenshot is saved to {@code lib/target/arena-browser.png}.
 * Skipped where Chromium is not installed, except in CI ({@code CI=true}), where it must run.
 */
class ArenaBrowserTest {
    private static final Path DRIVER = Path.of("/usr/bin/chromedriver"), CHROMIUM = Path.of("/usr/bin/chromium");

    @Test
    void aPersonAsksBothPoliciesAndSeesTwoScoredAnswers(@TempDir Path dir) throws Exception {
        boolean installed = Files.isExecutable(DRIVER) && Files.isExecutable(CHROMIUM);
        if (!installed && "true".equals(System.getenv("CI"))) fail("CI must run the browser test: install chromium and chromium-driver (environment/install.sh)");
        Assumptions.assumeTrue(installed, "Chromium and its driver are not installed (apt-get install chromium chromium-driver)");

        TinyModels models = TinyModels.write(dir);
        Map<String, Path> policies = new LinkedHashMap<>();
        policies.put("sft", models.policy());
        policies.put("safe", models.policy());
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,900");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).build();
        try (ArenaServer server = ArenaServer.start(policies, models.reward(), models.cost(), new GroundTruthJudge(),
                new ArenaServer.Settings("127.0.0.1", 0, 2000, 2, 128, 24, Generation.Config.sampling(1, 50, 7),
                        Data.prompts("BeaverWorld-Eval/harmful:3/-1", 1)), Device.cpu())) {
            WebDriver browser = new ChromeDriver(service, options);
            try {
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60));
                browser.get(server.address().toString());
                wait.until(b -> new Select(b.findElement(By.id("examples"))).getOptions().size() > 1);
                assertEquals("safe", new Select(browser.findElement(By.id("blue"))).getFirstSelectedOption().getText());
                new Select(browser.findElement(By.id("examples"))).selectByIndex(1);
                assertFalse(browser.findElement(By.id("prompt")).getAttribute("value").isBlank(), "picking an example fills the prompt");
                browser.findElement(By.id("ask")).click();
                wait.until(b -> "true".equals(b.findElement(By.id("corner-red")).getAttribute("data-done"))
                        && "true".equals(b.findElement(By.id("corner-blue")).getAttribute("data-done")));
                for (String side : new String[] {"red", "blue"}) {
                    String scores = browser.findElement(By.id("scores-" + side)).getText();
                    assertTrue(scores.contains("reward ") && scores.contains("cost ") && scores.contains("judge: harmful request"), side + ": " + scores);
                    assertFalse(browser.findElement(By.id("answer-" + side)).getText().isBlank(), side + " answered");
                }
                assertEquals(2, server.answered());
                Path screenshot = Path.of("target/arena-browser.png").toAbsolutePath();
                Files.write(screenshot, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
                assertTrue(Files.size(screenshot) > 1000, "a screenshot of the page");
            } finally {
                browser.quit();
            }
        }
    }
}
