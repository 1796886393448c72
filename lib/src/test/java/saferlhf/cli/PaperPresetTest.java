package saferlhf.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import saferlhf.rl.PpoConfig;
import saferlhf.train.Configs;
import saferlhf.train.DpoConfig;
import saferlhf.train.ScoreModelConfig;
import saferlhf.train.SftConfig;

/**
 * The {@code paper} presets hold the reference's script values (upstream safe-rlhf 82743cc, scripts/*.sh; the
 * file:line of each asserted value is in the comment beside it and in docs/paper-presets.md) and refuse to run without
 * the model paths the user must give.
 */
class PaperPresetTest {

    @Test
    void sftHoldsSftShValues() {
        SftConfig c = Configs.override(SftConfig.preset("paper"), List.of("model_name_or_path=models/llama", "train_datasets=alpaca_data.json"));
        assertEquals(512, c.maxLength());                       // sft-deepspeed.sh:114 --max_length 512
        assertEquals(3, c.epochs());                            // :116 --epochs 3
        assertEquals(4, c.perDeviceTrainBatchSize());           // :117 --per_device_train_batch_size 4
        assertEquals(8, c.gradientAccumulationSteps());         // :119 --gradient_accumulation_steps 8
        assertEquals(2e-5, c.lr());                             // :121 --learning_rate 2e-5
        assertEquals("cosine", c.lrSchedulerType());            // :122
        assertEquals(0.03, c.lrWarmupRatio());                  // :123
        assertEquals(0.0, c.weightDecay());                     // :124
        assertEquals(42, c.seed());                             // :125
        assertEquals(1.0, c.maxGradNorm());                     // configs/ds_train_config_template.json:20 gradient_clipping
        assertEquals("", c.evalDatasets(), "sft.sh evaluates nothing (no --eval_datasets, no --need_eval)");
    }

    @Test
    void rewardAndCostModelsHoldTheirScriptsValues() {
        for (String type : List.of("reward", "cost")) {
            ScoreModelConfig c = Configs.override(ScoreModelConfig.preset("paper", type), List.of("model_name_or_path=models/sft"));
            assertEquals(type, c.scoreType());
            assertEquals("PKU-SafeRLHF/train", c.trainDatasets());  // reward-model.sh:112 (cost-model.sh:112)
            assertEquals("PKU-SafeRLHF/test", c.evalDatasets());    // :113
            assertEquals(512, c.maxLength());                       // :115
            assertEquals("sequence-wise", c.lossType());            // :117
            assertEquals(2, c.epochs());                            // :118
            assertEquals(16, c.perDeviceTrainBatchSize());          // :119
            assertEquals(16, c.perDeviceEvalBatchSize());           // :120
            assertEquals(1, c.gradientAccumulationSteps());         // :121
            assertEquals(0.001, c.regularization());                // :123
            assertFalse(c.normalizeScoreDuringTraining());          // :124
            assertEquals("ExponentialMovingAverage", c.normalizerType()); // :125
            assertEquals(0.9, c.normalizerMomentum());              // :126
            assertEquals(2e-5, c.lr());                             // :127
            assertEquals(0.03, c.lrWarmupRatio());                  // :129
            assertEquals(0.1, c.weightDecay());                     // :130 (values/reward/main.py default: 1e-6)
            assertEquals("epoch", c.evalStrategy());                // :133
            assertTrue(c.outputDir().endsWith(type.equals("cost") ? "/cm" : "/rm"));
        }
    }

    @Test
    void dpoHoldsDpoShValues() {
        DpoConfig c = Configs.override(DpoConfig.preset("paper"), List.of("model_name_or_path=models/sft"));
        assertEquals("PKU-SafeRLHF/train", c.trainDatasets());  // dpo.sh:112
        assertEquals(512, c.maxLength());                       // :115
        assertEquals(2, c.epochs());                            // :117
        assertEquals(16, c.perDeviceTrainBatchSize());          // :118
        assertEquals(1e-6, c.lr());                             // :122
        assertEquals(0.05, c.weightDecay());                    // :125
        assertEquals(0.1, c.scaleCoeff());                      // :129 (dpo/main.py default: 0.02)
    }

    @Test
    void rlStagesHoldTheirScriptsValues() {
        List<String> models = List.of("actor_model_name_or_path=models/sft", "reward_model_name_or_path=models/rm",
                "cost_model_name_or_path=models/cm", "ptx_datasets=alpaca_data.json");
        PpoConfig lag = Configs.override(PpoConfig.preset("paper", "ppo-lag"), models);
        assertEquals("PKU-SafeRLHF/train", lag.trainDatasets()); // ppo-lag.sh:151
        assertEquals(512, lag.maxLength());                      // :158
        assertEquals(1, lag.epochs());                           // :163
        assertEquals(16, lag.perDevicePromptBatchSize());        // :165
        assertEquals(16, lag.perDeviceTrainBatchSize());         // :166
        assertEquals(1e-5, lag.actorLr());                       // :168
        assertEquals(0.01, lag.actorWeightDecay());              // :169
        assertEquals(5e-6, lag.criticLr());                      // :173
        assertEquals("constant", lag.criticLrSchedulerType());   // :175
        assertEquals(0.0, lag.threshold());                      // :181
        assertEquals(1.0, lag.lambdaInit());                     // :182
        assertEquals(0.1, lag.lambdaLr());                       // :183
        assertEquals(5.0, lag.lambdaMax());                      // :184
        assertEquals(0, lag.lambdaUpdateDelaySteps());           // :185
        assertEquals(128, lag.episodeCostWindowSize());          // :186
        assertEquals(0.01, lag.klCoeff());                       // :187
        assertEquals(0.2, lag.clipRangeRatio());                 // :188
        assertEquals(50.0, lag.clipRangeScore());                // :189
        assertEquals(5.0, lag.clipRangeValue());                 // :190
        assertEquals(16.0, lag.ptxCoeff());                      // :191
        assertEquals(1.0, lag.topP());                           // algorithms/ppo_lag/main.py default (not in the script)
        assertEquals("", lag.evalDatasets(), "the RL scripts do not pass --need_eval");

        PpoConfig ppo = Configs.override(PpoConfig.preset("paper", "ppo"), models);
        assertEquals(0.02, ppo.klCoeff());                       // ppo.sh:159
        assertEquals(16.0, ppo.ptxCoeff());                      // ppo.sh:163
        PpoConfig shaping = Configs.override(PpoConfig.preset("paper", "ppo-reward-shaping"), models);
        assertEquals(0.02, shaping.klCoeff());                   // ppo-reward-shaping.sh:171
        assertEquals(1.0, shaping.lambdaInit());                 // ppo-reward-shaping.sh:169
        assertNotEquals(lag.outputDir(), shaping.outputDir());
    }

    @Test
    void refusesWithoutTheModelPathsNamingTheKey() {
        assertRefused(() -> Configs.override(SftConfig.preset("paper"), List.of("train_datasets=a.json")), "model_name_or_path");
        assertRefused(() -> Configs.override(SftConfig.preset("paper"), List.of("model_name_or_path=m")), "train_datasets");
        assertRefused(() -> Configs.override(ScoreModelConfig.preset("paper", "cost"), List.of()), "model_name_or_path");
        assertRefused(() -> Configs.override(DpoConfig.preset("paper"), List.of()), "model_name_or_path");
        assertRefused(() -> Configs.override(PpoConfig.preset("paper", "ppo-lag"), List.of()), "actor_model_name_or_path");
        assertRefused(() -> Configs.override(PpoConfig.preset("paper", "ppo-lag"), List.of("actor_model_name_or_path=a")),
                "reward_model_name_or_path");
        assertRefused(() -> Configs.override(PpoConfig.preset("paper", "ppo-lag"), List.of("actor_model_name_or_path=a",
                "reward_model_name_or_path=r", "ptx_datasets=p")), "cost_model_name_or_path");
        assertRefused(() -> Configs.override(PpoConfig.preset("paper", "ppo"), List.of("actor_model_name_or_path=a",
                "reward_model_name_or_path=r")), "ptx_datasets");
        // PPO needs no cost model, and PTX can be switched off.
        assertDoesNotThrow(() -> Configs.override(PpoConfig.preset("paper", "ppo"), List.of("actor_model_name_or_path=a",
                "reward_model_name_or_path=r", "ptx_coeff=0")));
    }

    private static void assertRefused(org.junit.jupiter.api.function.Executable resolve, String key) {
        var e = assertThrows(Configs.ConfigException.class, resolve);
        assertTrue(e.getMessage().contains(key + " must be given") || e.getMessage().contains("needs " + key), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    @Test
    void theCommandLineRefusesWithOneLineAndExitCode2(@TempDir Path dir) throws Exception {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Main.commandLine().execute("ppo-lag", "--preset", "paper"); // with the kit's error handler
        } finally {
            System.setErr(err);
        }
        assertEquals(2, code);
        String message = captured.toString(StandardCharsets.UTF_8).strip();
        assertTrue(message.startsWith("error: ") && message.contains("actor_model_name_or_path must be given"), message);
        assertEquals(1, message.lines().count(), message);

        // A key the preset leaves open may come from the --config file while others come from the command line.
        Path file = dir.resolve("paths.json");
        Files.writeString(file, "{\"actor_model_name_or_path\": \"models/sft\", \"cost_model_name_or_path\": \"models/cm\"}");
        PpoConfig resolved = Configs.resolve(PpoConfig.preset("paper", "ppo-lag"), file,
                List.of("reward_model_name_or_path=models/rm", "ptx_coeff=0"));
        assertEquals("models/sft", resolved.actorModelNameOrPath());
        assertEquals("models/rm", resolved.rewardModelNameOrPath());
        assertEquals(0.01, resolved.klCoeff());
    }
}
