package saferlhf.train;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
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
        TrainingLoop.Result whole = assertResumeIsExact(out -> small(out), SftTrainer::new, dir, 4);
        assertEquals(6, whole.totalSteps(), "40 examples / (8 x 2) -> 3 steps an epoch, 2 epochs");

        List<Map<String, Double>> metrics = MetricsLog.read(dir.resolve("resumed/metrics.jsonl"));
        assertEquals(List.of(1.0, 2.0, 3.0, 4.0, 5.0, 6.0), metrics.stream().map(r -> r.get("step")).toList());
        assertTrue(Files.readString(dir.resolve("resumed/metrics.csv")).startsWith("step,train/loss,"));
    }

    /** A stage's constructor, such as {@code SftTrainer::new}. */
    interface Open<C, S> {
        S open(C config) throws IOException;
    }

    /**
     * Trains {@code config(dir/whole)} without a break, and {@code config(dir/resumed)} stopped after step {@code stopAt}
     * and resumed from its checkpoint; asserts that both runs end with the same weights and log the same metrics, step
     * by step.
     *
     * @return the uninterrupted run
     */
    static <C extends TrainingArguments, S extends TrainingLoop.Stage & AutoCloseable> TrainingLoop.Result assertResumeIsExact(
            Function<Path, C> config, Open<C, S> open, Path dir, long stopAt) throws Exception {
        TrainingLoop.Result whole = run(config.apply(dir.resolve("whole")), open, Long.MAX_VALUE);
        assertTrue(whole.finished());

        C interrupted = config.apply(dir.resolve("resumed"));
        TrainingLoop.Result first = run(interrupted, open, stopAt);
        assertFalse(first.finished());
        assertEquals(stopAt, first.steps());
        assertTrue(Files.isRegularFile(dir.resolve("resumed/checkpoint/trainer_state.json")));
        TrainingLoop.Result resumed = run(interrupted, open, Long.MAX_VALUE);
        assertTrue(resumed.finished());

        Map<String, HostTensor> a = ModelFiles.readWeights(whole.modelFolder());
        Map<String, HostTensor> b = ModelFiles.readWeights(resumed.modelFolder());
        assertEquals(a.keySet(), b.keySet());
        for (String name : a.keySet()) assertArrayEquals(a.get(name).data(), b.get(name).data(), name);
        assertEquals(MetricsLog.withoutTimings(MetricsLog.read(dir.resolve("whole/metrics.jsonl"))),
                MetricsLog.withoutTimings(MetricsLog.read(dir.resolve("resumed/metrics.jsonl"))), "the same losses, step by step");
        return whole;
    }

    private static <C extends TrainingArguments, S extends TrainingLoop.Stage & AutoCloseable> TrainingLoop.Result run(
            C config, Open<C, S> open, long stopAt) throws Exception {
        try (S stage = open.open(config)) {
            return TrainingLoop.run(config, stage, stopAt);
        }
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
