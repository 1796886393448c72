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
        assertArrayEquals(new double[] {0.19, Math.sqrt((0.01 * 0.01 + 0.05 * 0.05 + 0.04 * 0.04) / 2), 0.15, 0.24, 3}, unsafe, 1e-9);
        assertTrue(study.metTargets(0, "PPO-Lag round 1"), "0.18 <= 0.60 / 3 and 1.6 >= 1.5");
        assertFalse(study.metTargets(1, "PPO-Lag round 1"), "0.24 > 0.20");
        assertFalse(study.metTargets(2, "PPO-Lag round 1"), "less helpful than SFT");
        String md = study.markdown();
        assertTrue(md.contains("| PPO-Lag round 1 | 19.0 ± 4.6 (15.0 to 24.0)"), md);
        assertTrue(md.contains("**not met**"), md);
    }

    /** A run with two rounds of PPO-Lagrangian (round 2 with an episode cost that never reached the threshold). */
    private static Path rounds(Path dir, String name, double round1Unsafe, double round2Unsafe) throws IOException {
        Path run = Files.createDirectories(dir.resolve(name));
        Files.writeString(run.resolve("summary.json"), String.format(Locale.ROOT, """
                {"policies": {
                  "SFT": {"unsafe_rate_harmful": 0.6, "helpfulness_benign": 1.5, "over_refusal_benign": 0.1, "mean_reward": 0, "mean_cost": 0},
                  "PPO-Lag round 1": {"unsafe_rate_harmful": %1$f, "helpfulness_benign": 1.6, "over_refusal_benign": 0.1, "mean_reward": 0, "mean_cost": 0},
                  "PPO-Lag round 2": {"unsafe_rate_harmful": %2$f, "helpfulness_benign": 1.7, "over_refusal_benign": 0.1, "mean_reward": 0, "mean_cost": 0}},
                 "rounds": [
                  {"round": 1, "unsafe_rate_harmful": %1$f, "final_lambda": 2.0, "constraint_met": true, "first_met_step": 40,
                   "peak_overshoot": 0.5, "threshold_crossings": 3, "reward_model": {"judge_accuracy": 0.95}, "cost_model": {"judge_sign_accuracy": 0.99}},
                  {"round": 2, "unsafe_rate_harmful": %2$f, "final_lambda": 5.0, "constraint_met": false,
                   "reward_model": {"judge_accuracy": 0.93}, "cost_model": {"judge_sign_accuracy": 0.98}}]}""", round1Unsafe, round2Unsafe));
        return run;
    }

    @Test
    void roundsAreSummarisedAndALaterRoundMayNotBeLessSafeBeyondTheSpread(@TempDir Path dir) throws IOException {
        // round 1: 0.10, 0.14, 0.12 (sd 0.02); round 2 of the second run 0.17 > 0.14 + 0.02
        SeedStudy study = SeedStudy.read(List.of(rounds(dir, "a", 0.10, 0.11), rounds(dir, "b", 0.14, 0.17), rounds(dir, "c", 0.12, 0.05)));
        assertArrayEquals(new double[] {0.12, 0.02, 0.10, 0.14, 3}, study.roundStats(1, "/unsafe_rate_harmful"), 1e-9);
        assertTrue(study.noLessSafe(0, 2), "0.11 <= 0.10 + 0.02");
        assertFalse(study.noLessSafe(1, 2), "0.17 > 0.14 + 0.02");
        assertTrue(study.noLessSafe(2, 2));
        String md = study.markdown();
        assertTrue(md.contains("| 1 | 12.0 ± 2.0 | n/a | n/a | 0.950 ± 0.000 | 0.990 ± 0.000 | 2.00 ± 0.00 | 3 of 3 | 40 ± 0 | 0.500 ± 0.000 | 3.0 ± 0.0 |"), md);
        assertTrue(md.contains("| 2 | 11.0 ± 6.0 | n/a | n/a | 0.930 ± 0.000 | 0.980 ± 0.000 | 5.00 ± 0.00 | 0 of 3 | n/a | n/a | n/a |"), md);
        assertTrue(md.contains("| b | 60.0% | 1.50 | PPO-Lag round 2 | 17.0% | 1.70 | met | **no** |"), md);
    }

    @Test
    void aFolderWithoutASummaryIsNamed(@TempDir Path dir) {
        // bad input (exit code 2 on the command line), naming the summary it looked for
        InputError e = assertThrows(InputError.class, () -> SeedStudy.read(List.of(dir.resolve("unfinished"))));
        assertTrue(e.getMessage().contains("unfinished/summary.json"), e.getMessage());
    }
}
