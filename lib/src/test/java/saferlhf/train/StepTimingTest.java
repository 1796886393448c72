package saferlhf.train;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.Offline;
import saferlhf.data.DialogueRecord;
import saferlhf.model.Tokenizer;

/** The {@code time/} metrics of the shared training loop: every optimizer step's wall time and its tokens. */
class StepTimingTest {
    @BeforeAll
    static void offline() { Offline.apply(); }

    private static void assertPositive(Map<String, Double> row, String... keys) {
        for (String key : keys) {
            assertTrue(row.containsKey(key), key + " missing in " + row);
            assertTrue(row.get(key) > 0 && Double.isFinite(row.get(key)), key + " = " + row.get(key));
        }
    }

    @Test
    void everySftStepLogsItsSecondsAndTheNonPaddingTokensOfItsSequences(@TempDir Path dir) throws Exception {
        String data = "BeaverWorld-SFT/train:16/-1";
        SftConfig config = Configs.override(SftConfig.quick(), List.of("train_datasets=" + data, "eval_datasets=",
                "eval_strategy=no", "epochs=1", "max_length=20", "per_device_train_batch_size=4", "gradient_accumulation_steps=2",
                "output_dir=" + dir));
        assertTrue(SftTrainer.train(config).finished());
        List<Map<String, Double>> rows = MetricsLog.read(dir.resolve("metrics.jsonl"));
        assertEquals(2, rows.size(), "16 records / (4 x 2)");
        long tokens = 0;
        for (Map<String, Double> row : rows) {
            assertPositive(row, "time/step_seconds", "time/tokens", "time/tokens_per_second", "time/sequences", "time/padded_length");
            assertEquals(row.get("time/tokens") / row.get("time/step_seconds"), row.get("time/tokens_per_second"), 1e-6);
            assertEquals(8.0, row.get("time/sequences"), "two micro-batches of 4");
            assertTrue(row.get("time/padded_length") <= 20, "truncated at max_length: " + row);
            assertTrue(row.get("time/tokens") <= 8 * row.get("time/padded_length"), row.toString());
            tokens += row.get("time/tokens").longValue();
        }
        // one epoch reads every record once: the tokens of all steps are every record's ids, truncated at max_length
        long expected = 0;
        try (Tokenizer tokenizer = Models.tokenizer(config.tokenizer(), config.modelNameOrPath())) {
            for (DialogueRecord r : Data.sft(data, config.seed())) expected += Math.min(20, tokenizer.encodeDialogue(r, 20).ids().length);
        }
        assertEquals(expected, tokens);
        assertTrue(MetricsLog.withoutTimings(rows).get(0).keySet().stream().noneMatch(k -> k.startsWith("time/")));
    }

    @Test
    void aRewardModelStepCountsBothResponsesOfEachPair(@TempDir Path dir) throws Exception {
        Path sft = dir.resolve("sft");
        SftTrainer.train(Configs.override(SftConfig.quick(), List.of("train_datasets=BeaverWorld-SFT/train:8/-1", "eval_datasets=",
                "eval_strategy=no", "epochs=1", "per_device_train_batch_size=8", "output_dir=" + sft)));
        ScoreModelConfig config = Configs.override(ScoreModelConfig.quick("reward"), List.of("model_name_or_path=" + sft.resolve("model"),
                "train_datasets=BeaverWorld/train:12/-1", "eval_datasets=", "eval_strategy=no", "per_device_train_batch_size=6",
                "output_dir=" + dir.resolve("rm")));
        assertTrue(ScoreTrainer.train(config).finished());
        List<Map<String, Double>> rows = MetricsLog.read(dir.resolve("rm/metrics.jsonl"));
        assertEquals(2, rows.size());
        for (Map<String, Double> row : rows) {
            assertPositive(row, "time/step_seconds", "time/tokens", "time/tokens_per_second", "time/padded_length");
            assertEquals(12.0, row.get("time/sequences"), "6 pairs, 2 sequences each");
            assertTrue(row.get("time/tokens") <= 12 * row.get("time/padded_length"), row.toString());
        }
    }

    @Test
    void withoutBatchSizesOnlyTheSecondsAreLogged() {
        assertEquals(Map.of("time/step_seconds", 0.5), TrainingLoop.timings(0.5, java.util.Arrays.asList(
                new TrainingLoop.BatchSize(2, 10, 6), null)));
        Map<String, Double> both = TrainingLoop.timings(0.5, List.of(new TrainingLoop.BatchSize(2, 10, 6),
                new TrainingLoop.BatchSize(2, 7, 4)));
        assertEquals(Map.of("time/step_seconds", 0.5, "time/tokens", 17.0, "time/tokens_per_second", 34.0, "time/sequences", 4.0,
                "time/padded_length", 6.0), both);
    }
}
