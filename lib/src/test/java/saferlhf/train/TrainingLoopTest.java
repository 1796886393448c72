package saferlhf.train;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.Offline;
import saferlhf.model.HostTensor;
import saferlhf.model.ModelFiles;

/** Checkpoint and resume, divergence detection and the metrics of the shared loop, on a small SFT run. */
class TrainingLoopTest {
    @BeforeAll
    static void offline() { Offline.apply(); }

    private static SftConfig small(Path out, String... overrides) {
        return Configs.override(SftConfig.quick(), List.of(concat(new String[] {
                "train_datasets=BeaverWorld-SFT/train:40/-1", "eval_datasets=", "eval_strategy=no", "epochs=2",
                "per_device_train_batch_size=8", "gradient_accumulation_steps=2", "output_dir=" + out}, overrides)));
    }

    @Test
    void aResumedRunEndsWithTheSameWeightsAsAnUninterruptedOne(@TempDir Path dir) throws Exception {
        TrainingLoop.Result whole = SftTrainer.train(small(dir.resolve("whole")));
        assertEquals(6, whole.totalSteps(), "40 examples / (8 x 2) -> 3 steps an epoch, 2 epochs");
        assertTrue(whole.finished());

        SftConfig interrupted = small(dir.resolve("resumed"));
        try (SftTrainer trainer = new SftTrainer(interrupted)) {
            TrainingLoop.Result first = TrainingLoop.run(interrupted, trainer, 4);
            assertFalse(first.finished());
            assertEquals(4, first.steps());
        }
        assertTrue(Files.isRegularFile(dir.resolve("resumed/checkpoint/trainer_state.json")));
        TrainingLoop.Result resumed = SftTrainer.train(interrupted);
        assertTrue(resumed.finished());

        Map<String, HostTensor> a = ModelFiles.readWeights(whole.modelFolder());
        Map<String, HostTensor> b = ModelFiles.readWeights(resumed.modelFolder());
        assertEquals(a.keySet(), b.keySet());
        for (String name : a.keySet()) assertArrayEquals(a.get(name).data(), b.get(name).data(), name);

        List<Map<String, Double>> metrics = MetricsLog.read(dir.resolve("resumed/metrics.jsonl"));
        assertEquals(List.of(1.0, 2.0, 3.0, 4.0, 5.0, 6.0), metrics.stream().map(r -> r.get("step")).toList());
        assertEquals(MetricsLog.read(dir.resolve("whole/metrics.jsonl")), metrics, "the same losses, step by step");
        assertTrue(Files.readString(dir.resolve("resumed/metrics.csv")).startsWith("step,train/loss,"));
    }

    @Test
    void aDivergingRunStopsWithTheStepInTheMessage(@TempDir Path dir) {
        var error = assertThrows(TrainingLoop.TrainingDiverged.class,
                () -> SftTrainer.train(small(dir, "lr=1e30", "lr_warmup_ratio=0", "lr_scheduler_type=constant")));
        assertTrue(error.getMessage().matches("sft: step \\d+: train/loss is (NaN|Infinity|-Infinity).*"), error.getMessage());
    }

    @Test
    void invalidArgumentsAreRejectedBeforeTraining() {
        var error = assertThrows(Configs.ConfigException.class, () -> Configs.override(SftConfig.quick(), List.of("eval_strategy=sometimes")));
        assertTrue(error.getMessage().contains("eval_strategy must be epoch, steps or no"), error.getMessage());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
