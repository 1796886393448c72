package saferlhf.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.util.InputError;
import saferlhf.util.JsonFiles;

/** The comparison's front and cost bookkeeping, and a small comparison of two seeds end to end (resumed as well). */
class ComparisonTest {
    @Test
    void theFrontKeepsWhatNothingBeatsOnBothAxes() {
        Map<String, double[]> points = new LinkedHashMap<>(); // (unsafe rate, helpfulness)
        points.put("SFT", new double[] {0.45, 1.5});
        points.put("PPO", new double[] {0.90, 2.2});
        points.put("Safe RLHF", new double[] {0.05, 2.0});
        points.put("DPO", new double[] {0.50, 1.6});          // beaten by Safe RLHF on both
        points.put("refuser", new double[] {0.00, 0.1});
        points.put("tie", new double[] {0.05, 2.0});          // equal to Safe RLHF: neither beats the other strictly
        assertEquals(List.of("refuser", "Safe RLHF", "tie", "PPO"), Comparison.paretoFront(points));
    }

    @Test
    void trainingTimeCountsWhatEachPolicyNeedsBeyondSft() {
        ObjectNode wall = new ObjectMapper().createObjectNode().put("sft", 10).put("reward_model", 2).put("cost_model", 3)
                .put("ppo", 20).put("ppo_lag_round_1", 30).put("round_2_preference", 1).put("round_2_reward_model", 2)
                .put("round_2_cost_model", 2).put("ppo_lag_round_2", 40).put("dpo", 5).put("sacpo", 4).put("p_sacpo", 0.5);
        assertEquals(22, Comparison.trainingSeconds("ppo", wall), 1e-9);
        assertEquals(35, Comparison.trainingSeconds("ppo_lag_round_1", wall), 1e-9);
        assertEquals(80, Comparison.trainingSeconds("ppo_lag_round_2", wall), 1e-9);
        assertEquals(9.5, Comparison.trainingSeconds("p_sacpo", wall), 1e-9);
        assertTrue(Double.isNaN(Comparison.trainingSeconds("shaping_lambda_1.0", wall)), "a stage never timed: unavailable, not 0");
        assertEquals("reward and cost models", Comparison.needs("ppo_lag_round_2"));
        assertEquals("none", Comparison.needs("safe_dpo"));
        assertEquals(List.of("reward_model", "cost_model", "mocan"), Comparison.trainingStages("mocan"));
        assertEquals(List.of("reward_model", "cost_model", "grpo_lag"), Comparison.trainingStages("grpo_lag"));
        assertEquals("reward and cost models", Comparison.needs("mocan"));
    }

    @Test
    void anRlRunsSamplesAreItsMicroBatchesOverTheTimesItReadsEachRollout(@TempDir Path dir) throws Exception {
        // two rollouts of 8 answers, each read twice (update_iters 2) in micro-batches of 4: 8 rl steps of 4 sequences
        Path run = dir.resolve("grpo-lag");
        Files.createDirectories(run);
        StringBuilder metrics = new StringBuilder();
        for (int step = 1; step <= 8; step++) metrics.append("{\"step\": ").append(step).append(", \"time/sequences\": 4.0}\n");
        Files.writeString(run.resolve("metrics.jsonl"), metrics);
        Files.writeString(run.resolve("arguments.json"), "{\"algorithm\": \"grpo-lag\", \"update_iters\": 2}");
        Comparison.Cost cost = Comparison.stageCost("grpo_lag", run);
        assertEquals(new Comparison.Cost(16, 16, 16), cost);
        Files.writeString(run.resolve("arguments.json"), "{\"algorithm\": \"ppo\", \"update_iters\": 2}");
        assertEquals(new Comparison.Cost(16, 16, 0), Comparison.stageCost("ppo", run), "plain PPO scores no cost");
        assertTrue(Double.isNaN(Comparison.stageCost("ppo", dir.resolve("missing")).responses()), "no records: unavailable");
        assertEquals(Comparison.Cost.NONE, Comparison.stageCost("dpo", null));
    }

    @Test
    void twoSeedsEndToEndWithIntervalsAndAResume(@TempDir Path dir) throws Exception {
        List<String> small = new java.util.ArrayList<>(ParallelReproductionTest.SMALL);
        small.add("rounds.rounds=1");
        Comparison comparison = new Comparison("quick", dir.toString(), List.of(5L, 6L), small, List.of("safe-dpo", "p-sacpo"));
        assertEquals(List.of("safe-dpo", "sacpo", "p-sacpo"), comparison.reproduction(5).methods(), "P-SACPO brings SACPO");
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        ObjectNode summary = comparison.run(new StageGraph.Schedule(1, 1), quiet);

        JsonNode policies = summary.get("policies");
        for (String policy : List.of("SFT", "PPO", "PPO-Lag round 1", "DPO", "SafeDPO", "SACPO", "P-SACPO q=0.5")) {
            assertTrue(policies.has(policy), policy + " in " + policies);
            for (String metric : List.of("unsafe_rate_harmful", "helpfulness_benign", "over_refusal_benign")) {
                JsonNode m = policies.get(policy).get(metric);
                assertTrue(m.get("low").asDouble() <= m.get("estimate").asDouble() && m.get("estimate").asDouble() <= m.get("high").asDouble(),
                        policy + " " + metric + " " + m);
            }
        }
        // the estimate is the mean of the two reproductions' own rates
        JsonNode five = JsonFiles.read(dir.resolve("seed-5/summary.json")), six = JsonFiles.read(dir.resolve("seed-6/summary.json"));
        for (String policy : List.of("SFT", "SafeDPO", "P-SACPO q=0.5")) {
            double mean = (five.get("policies").get(policy).get("unsafe_rate_harmful").asDouble()
                    + six.get("policies").get(policy).get("unsafe_rate_harmful").asDouble()) / 2;
            assertEquals(mean, policies.get(policy).get("unsafe_rate_harmful").get("estimate").asDouble(), 1e-9, policy);
        }
        assertTrue(summary.toString().contains("\"pareto\":true"));
        assertTrue(policies.get("SafeDPO").get("training_seconds").asDouble() > 0);
        assertFalse(policies.get("SafeDPO").get("samples_online").asBoolean());
        // what each trained on: PPO answered each of its RL prompts once an epoch and scored them with the reward model only
        JsonNode ppoArguments = JsonFiles.read(dir.resolve("seed-5/ppo/arguments.json"));
        double answered = saferlhf.train.Data.prompts(ppoArguments.get("train_datasets").asText(), 5).size() * ppoArguments.get("epochs").asDouble();
        assertEquals(answered, policies.get("PPO").get("responses_sampled").asDouble());
        assertEquals(answered, policies.get("PPO").get("reward_model_calls").asDouble());
        assertEquals(0.0, policies.get("PPO").get("cost_model_calls").asDouble());
        JsonNode lagrangian = policies.get("PPO-Lag round 1");
        assertEquals(lagrangian.get("responses_sampled").asDouble(), lagrangian.get("cost_model_calls").asDouble());
        assertEquals(0.0, policies.get("SafeDPO").get("responses_sampled").asDouble());
        String report = Files.readString(dir.resolve("report.md"));
        assertTrue(report.contains("| SafeDPO |") && report.contains("On the Pareto front"), report);
        assertTrue(Files.size(dir.resolve("plane.png")) > 1000);

        // a second run finds every stage complete and writes the same comparison
        ObjectNode again = comparison.run(new StageGraph.Schedule(1, 1), quiet);
        assertEquals(summary, again);

        assertThrows(InputError.class, () -> new Comparison("quick", dir.toString(), List.of(5L, 5L), small, List.of()));
        assertThrows(InputError.class, () -> new Comparison("quick", dir.toString(), List.of(5L), small, List.of("kto")));
    }
}
