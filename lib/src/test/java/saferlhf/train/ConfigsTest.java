package saferlhf.train;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigsTest {
    record Example(String modelName, int perDeviceTrainBatchSize, double lrWarmupRatio, boolean normalizeReward)
            implements Configs.Validated {
        @Override
        public void validate() {
            if (perDeviceTrainBatchSize < 1) throw new IllegalArgumentException("per_device_train_batch_size must be >= 1");
        }
    }

    private static final Example DEFAULTS = new Example("tiny", 16, 0.03, false);

    @Test
    void savesLoadsAndOverridesWithSnakeCaseKeys(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        Configs.save(DEFAULTS, file);
        assertTrue(Files.readString(file).contains("\"per_device_train_batch_size\" : 16"));
        assertEquals(DEFAULTS, Configs.load(file, DEFAULTS));

        Files.writeString(file, "{\"lr_warmup_ratio\": 0.1}");
        assertEquals(new Example("tiny", 16, 0.1, false), Configs.load(file, DEFAULTS), "missing keys keep defaults");

        Example overridden = Configs.override(DEFAULTS, List.of("per_device_train_batch_size=4", "normalize_reward=true", "model_name=x"));
        assertEquals(new Example("x", 4, 0.03, true), overridden);
    }

    @Test
    void mistakesNameTheKeyAndTheProblem(@TempDir Path dir) throws Exception {
        var unknown = assertThrows(Configs.ConfigException.class, () -> Configs.override(DEFAULTS, List.of("batch_size=4")));
        assertTrue(unknown.getMessage().contains("unknown key 'batch_size'") && unknown.getMessage().contains("per_device_train_batch_size"),
                unknown.getMessage());

        var mistyped = assertThrows(Configs.ConfigException.class, () -> Configs.override(DEFAULTS, List.of("lr_warmup_ratio=lots")));
        assertTrue(mistyped.getMessage().contains("lr_warmup_ratio"), mistyped.getMessage());

        var invalid = assertThrows(Configs.ConfigException.class, () -> Configs.override(DEFAULTS, List.of("per_device_train_batch_size=0")));
        assertTrue(invalid.getMessage().contains("must be >= 1"), invalid.getMessage());

        Path file = dir.resolve("bad.json");
        Files.writeString(file, "{\"lr_warmup_ratio\": ");
        var malformed = assertThrows(Configs.ConfigException.class, () -> Configs.load(file, DEFAULTS));
        assertTrue(malformed.getMessage().startsWith(file.toString()), malformed.getMessage());

        assertThrows(Configs.ConfigException.class, () -> Configs.override(DEFAULTS, List.of("novalue")));
    }

    @Test
    void metricsLogKeepsRowsUpToTheResumedStep(@TempDir Path dir) throws Exception {
        try (MetricsLog log = new MetricsLog(dir, -1)) {
            for (int step = 1; step <= 5; step++) log.log(step, Map.of("train/loss", 1.0 / step));
        }
        assertEquals(5, MetricsLog.read(dir.resolve("metrics.jsonl")).size());
        assertTrue(Files.readString(dir.resolve("metrics.csv")).startsWith("step,train/loss\n1,1.0\n"));
        try (MetricsLog resumed = new MetricsLog(dir, 3)) {
            assertEquals(3, resumed.rows().size(), "rows after the checkpoint step are dropped");
            resumed.log(4, Map.of("train/loss", 0.2, "eval/accuracy", 0.9));
            assertEquals(0.9, resumed.last("eval/accuracy"));
            assertArrayEquals(new double[] {1, 2, 3, 4}, resumed.series("train/loss")[0]);
        }
        assertEquals(4, MetricsLog.read(dir.resolve("metrics.jsonl")).size());
    }
}
