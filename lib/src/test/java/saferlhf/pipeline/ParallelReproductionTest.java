package saferlhf.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reproduction's stages run at the same time in child JVMs give bit-identical results to the same stages run one
 * after another in this JVM: the same summary numbers and byte-identical weights of every trained model. A second
 * invocation skips every stage. Small data sets through {@code --set}, the quick preset's models and steps otherwise.
 */
class ParallelReproductionTest {
    /** Every stage kind at a few steps: a few dozen records each, one small round 2. */
    static final List<String> SMALL = List.of(
            "sft.train_datasets=BeaverWorld-SFT/train:0.03", "sft.eval_datasets=BeaverWorld-Eval/benign:0.03",
            "rm.train_datasets=BeaverWorld/train:0.02", "rm.eval_datasets=BeaverWorld/test:0.02",
            "cm.train_datasets=BeaverWorld/train:0.02", "cm.eval_datasets=BeaverWorld/test:0.02",
            "dpo.train_datasets=BeaverWorld/train:0.01", "dpo.eval_datasets=BeaverWorld/test:0.02",
            "rl.train_datasets=BeaverWorld-RL/train:0.016", "rl.epochs=1",
            "rl.eval_datasets=BeaverWorld-Eval/benign:0.03,BeaverWorld-Eval/harmful:0.03",
            "rounds.pairs_per_round=16");

    @Test
    void parallelStagesMatchSequentialBitForBitAndResume(@TempDir Path dir) throws IOException {
        Path sequential = dir.resolve("sequential"), parallel = dir.resolve("parallel");
        ObjectNode one = new Reproduction("quick", sequential.toString(), 7, SMALL).run(new StageGraph.Schedule(1, 1), quiet());
        ObjectNode two = new Reproduction("quick", parallel.toString(), 7, SMALL).run(new StageGraph.Schedule(2, 1), quiet());

        assertEquals(withoutModelPaths(one.get("policies")), withoutModelPaths(two.get("policies")));
        assertEquals(one.get("reward_model"), two.get("reward_model"));
        assertEquals(one.get("cost_model"), two.get("cost_model"));
        assertEquals(one.get("final_lambda_round_2"), two.get("final_lambda_round_2"));
        assertEquals(one.get("rounds"), two.get("rounds"));
        assertEquals(3, two.get("rounds").size(), "the paper's three rounds by default");
        assertEquals(16, two.get("rounds").get(2).get("fresh_pairs").asInt());
        List<Path> weights = weights(sequential);
        assertTrue(weights.size() >= 10, "every stage's model: " + weights);
        for (Path file : weights) {
            assertArrayEquals(Files.readAllBytes(sequential.resolve(file)), Files.readAllBytes(parallel.resolve(file)), file.toString());
        }

        // the parallel run's timeline: every stage ran, in its own JVM, and the two stages that need only SFT overlapped
        JsonNode timeline = two.get("timeline");
        assertEquals(one.get("timeline").size(), timeline.size());
        assertEquals(2, two.get("run").get("jobs").asInt());
        assertTrue(two.get("run").get("peak_rss_mib").asDouble() > 0);
        JsonNode rm = find(timeline, "reward_model"), cm = find(timeline, "cost_model");
        assertTrue(rm.get("start_seconds").asDouble() < cm.get("end_seconds").asDouble()
                && cm.get("start_seconds").asDouble() < rm.get("end_seconds").asDouble(), "reward and cost models overlap: " + timeline);
        for (JsonNode t : timeline) {
            assertFalse(t.get("skipped").asBoolean(), t.toString());
            assertTrue(t.get("cpu_seconds").asDouble() > 0, t.toString());
            // training stages in child JVMs of their own (their peak memory is theirs); sampling and evaluation on this JVM's
            // worker thread (no peak of their own)
            String stage = t.get("stage").asText();
            boolean light = stage.startsWith("eval_") || stage.endsWith("_preference");
            assertEquals(!light, t.has("peak_rss_mib"), t.toString());
        }
        assertTrue(Files.isRegularFile(parallel.resolve("timeline.png")));
        assertTrue(Files.readString(parallel.resolve("report.md")).contains("| ppo_lag_round_3 |"));
        assertTrue(Files.readString(parallel.resolve("report.md")).contains("## Rounds"));
        assertTrue(Files.isRegularFile(parallel.resolve("rounds.png")));

        // resume: everything is complete, nothing runs again, the numbers and the recorded times stay
        ObjectNode again = new Reproduction("quick", parallel.toString(), 7, SMALL).run(new StageGraph.Schedule(2, 1), quiet());
        assertEquals(two.get("policies"), again.get("policies"));
        assertEquals(timeline.size(), again.get("skipped_stages").size());
        assertEquals(find(timeline, "ppo").get("wall_seconds"), find(again.get("timeline"), "ppo").get("wall_seconds"));
    }

    private static JsonNode find(JsonNode timeline, String stage) {
        for (JsonNode t : timeline) if (t.get("stage").asText().equals(stage)) return t;
        throw new AssertionError("no stage " + stage + " in " + timeline);
    }

    private static JsonNode withoutModelPaths(JsonNode policies) {
        ObjectNode copy = policies.deepCopy();
        copy.fields().forEachRemaining(e -> ((ObjectNode) e.getValue()).remove("model"));
        return copy;
    }

    /** Every model.safetensors under a run, relative to it. */
    private static List<Path> weights(Path run) throws IOException {
        try (Stream<Path> files = Files.walk(run)) {
            List<Path> out = new ArrayList<>();
            files.filter(f -> f.getFileName().toString().equals("model.safetensors") && f.getParent().getFileName().toString().equals("model"))
                    .forEach(f -> out.add(run.relativize(f)));
            return out;
        }
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }
}
