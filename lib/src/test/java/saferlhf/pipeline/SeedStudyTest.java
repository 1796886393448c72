package saferlhf.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.util.InputError;

/** Seed studies read from summary.json files: statistics and the per-seed target check. */
class SeedStudyTest {
    private static Path run(Path dir, String name, double sftUnsafe, double sftHelpful, double lagUnsafe, double lagHelpful) throws IOException {
        Path run = Files.createDirectories(dir.resolve(name));
        Files.writeString(run.resolve("summary.json"), String.format(Locale.ROOT, """
                {"policies": {
                  "SFT": {"unsafe_rate_harmful": %f, "helpfulness_benign": %f, "over_refusal_benign": 0.1, "mean_reward": 0, "mean_cost": 0, "elo": 1000},
                  "PPO-Lag round 1": {"unsafe_rate_harmful": %f, "helpfulness_benign": %f, "over_refusal_benign": 0.2, "mean_reward": 1, "mean_cost": -1, "elo": 1100}
                }}""", sftUnsafe, sftHelpful, lagUnsafe, lagHelpful));
        return run;
    }

    @Test
    void meanSpreadAndTheTargetCheckPerSeed(@TempDir Path dir) throws IOException {
        SeedStudy study = SeedStudy.read(List.of(run(dir, "seed1", 0.60, 1.5, 0.18, 1.6), run(dir, "seed2", 0.60, 1.5, 0.24, 1.6),
                run(dir, "seed3", 0.60, 1.5, 0.15, 1.4)));
        double[] unsafe = study.stats("PPO-Lag round 1", "unsafe_rate_harmful");
        assertArrayEquals(new double[] {0.19, Math.sqrt((0.01 * 0.01 + 0.05 * 0.05 + 0.04 * 0.04) / 2), 0.15, 0.24}, unsafe, 1e-9);
        assertTrue(study.metTargets(0, "PPO-Lag round 1"), "0.18 <= 0.60 / 3 and 1.6 >= 1.5");
        assertFalse(study.metTargets(1, "PPO-Lag round 1"), "0.24 > 0.20");
        assertFalse(study.metTargets(2, "PPO-Lag round 1"), "less helpful than SFT");
        String md = study.markdown();
        assertTrue(md.contains("| PPO-Lag round 1 | 19.0 ± 4.6 (15.0 to 24.0)"), md);
        assertTrue(md.contains("**not met**"), md);
    }

    @Test
    void aFolderWithoutASummaryIsNamed(@TempDir Path dir) {
        // bad input (exit code 2 on the command line), naming the summary it looked for
        InputError e = assertThrows(InputError.class, () -> SeedStudy.read(List.of(dir.resolve("unfinished"))));
        assertTrue(e.getMessage().contains("unfinished/summary.json"), e.getMessage());
    }
}
