package saferlhf.rl;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.KitPaths;
import saferlhf.Offline;
import saferlhf.model.CausalLM;
import saferlhf.model.HostTensor;
import saferlhf.model.ModelConfig;
import saferlhf.model.ModelFiles;
import saferlhf.model.PeftFiles;
import saferlhf.model.SafeTensors;
import saferlhf.model.ScoreModel;
import saferlhf.model.ScoreType;
import saferlhf.model.Tokenizer;
import saferlhf.train.Configs;
import saferlhf.train.MetricsLog;
import saferlhf.train.TrainingLoop;

/** The RL trainer on tiny random models: resume, the direction of lambda, and the three algorithms' metrics. */
class PpoTrainerTest {
    private static Path models;

    @BeforeAll
    static void tinyModels(@TempDir Path dir) throws Exception {
        Offline.apply();
        models = dir;
        try (Tokenizer tokenizer = Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
             CausalLM actor = CausalLM.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), Device.cpu(), 1);
             ScoreModel reward = ScoreModel.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), ScoreType.REWARD, Device.cpu(), 2);
             ScoreModel cost = ScoreModel.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), ScoreType.COST, Device.cpu(), 3)) {
            ModelFiles.save(actor, tokenizer, dir.resolve("sft"));
            ModelFiles.save(reward, tokenizer, dir.resolve("rm"));
            ModelFiles.save(cost, tokenizer, dir.resolve("cm"));
        }
    }

    private static PpoConfig config(String algorithm, Path out, String... overrides) {
        List<String> all = new java.util.ArrayList<>(List.of("actor_model_name_or_path=" + models.resolve("sft"),
                "reward_model_name_or_path=" + models.resolve("rm"), "cost_model_name_or_path=" + models.resolve("cm"),
                "train_datasets=BeaverWorld-RL/train:24/-1", "eval_datasets=", "max_length=48",
                "per_device_prompt_batch_size=8", "per_device_train_batch_size=4", "output_dir=" + out, "eval_interval=1000",
                "epochs=1"));
        all.addAll(List.of(overrides));
        return Configs.override(PpoConfig.full(algorithm), all);
    }

    @Test
    void aResumedRunMatchesAnUninterruptedOne(@TempDir Path dir) throws Exception {
        PpoConfig whole = config("ppo-lag", dir.resolve("whole"), "ptx_datasets=BeaverWorld-SFT/train:32/-1", "ptx_coeff=1.0");
        TrainingLoop.Result uninterrupted = PpoTrainer.train(whole);
        assertEquals(6, uninterrupted.totalSteps(), "24 prompts / 8 -> 3 rollouts, 2 rl steps each");

        PpoConfig resumed = config("ppo-lag", dir.resolve("resumed"), "ptx_datasets=BeaverWorld-SFT/train:32/-1", "ptx_coeff=1.0");
        try (PpoTrainer trainer = new PpoTrainer(resumed)) {
            assertFalse(trainer.run(2).finished());
        }
        assertTrue(PpoTrainer.train(resumed).finished());

        Map<String, HostTensor> a = ModelFiles.readWeights(uninterrupted.modelFolder());
        Map<String, HostTensor> b = ModelFiles.readWeights(dir.resolve("resumed/model"));
        for (String name : a.keySet()) assertArrayEquals(a.get(name).data(), b.get(name).data(), name);
        assertEquals(MetricsLog.read(dir.resolve("whole/metrics.jsonl")), MetricsLog.read(dir.resolve("resumed/metrics.jsonl")));
        for (String metric : List.of("train/actor_loss", "train/reward_critic_loss", "train/cost_critic_loss", "train/lambda",
                "train/episode_cost", "train/reward", "train/cost", "train/kl_divergence", "train/ptx_loss",
                "train/reward_with_kl_penalty", "train/cost_advantage", "train/mean_generated_length")) {
            assertTrue(MetricsLog.read(dir.resolve("whole/metrics.jsonl")).get(0).containsKey(metric), metric);
        }
    }

    @Test
    void aLoraRunUsesTheActorWithAdaptersOffAsItsReferenceAndResumesExactly(@TempDir Path dir) throws Exception {
        String[] lora = {"actor_lora_rank=4", "actor_lora_alpha=8", "actor_lora_dropout=0.1", "actor_lora_target_modules=c_attn,c_fc",
                "critic_lora_rank=2", "critic_lora_dropout=0.1", "actor_lr=1e-3"};
        TrainingLoop.Result uninterrupted = PpoTrainer.train(config("ppo-lag", dir.resolve("whole"), lora));
        assertEquals(6, uninterrupted.totalSteps());
        PpoConfig resumed = config("ppo-lag", dir.resolve("resumed"), lora);
        try (PpoTrainer trainer = new PpoTrainer(resumed)) {
            assertFalse(trainer.run(2).finished());
        }
        Path checkpoint = dir.resolve("resumed/checkpoint");
        for (String part : List.of("actor", "reward_critic", "cost_critic")) {
            assertTrue(PeftFiles.isAdapterFolder(checkpoint.resolve(part)), part);
            assertFalse(java.nio.file.Files.exists(checkpoint.resolve(part).resolve("model.safetensors")), part + ": no copy of the base");
        }
        for (String name : SafeTensors.open(checkpoint.resolve("actor_optimizer.safetensors")).names()) {
            assertTrue(name.contains(".lora_A.") || name.contains(".lora_B."), "actor state only for adapters: " + name);
        }
        assertTrue(SafeTensors.open(checkpoint.resolve("reward_critic_optimizer.safetensors")).names().contains("m.score_head.weight"),
                "the critic's head trains");
        assertTrue(PpoTrainer.train(resumed).finished());

        for (String part : List.of("model", "reward_critic", "cost_critic")) {
            Map<String, HostTensor> a = ModelFiles.readWeights(dir.resolve("whole").resolve(part));
            Map<String, HostTensor> b = ModelFiles.readWeights(dir.resolve("resumed").resolve(part));
            assertEquals(a.keySet(), b.keySet());
            for (String name : a.keySet()) assertArrayEquals(a.get(name).data(), b.get(name).data(), part + ": " + name);
        }
        List<Map<String, Double>> metrics = MetricsLog.read(dir.resolve("whole/metrics.jsonl"));
        assertEquals(metrics, MetricsLog.read(dir.resolve("resumed/metrics.jsonl")));
        // the first rollout's actor has B = 0: exactly its reference; later rollouts drift from the frozen base
        assertEquals(0.0, metrics.get(0).get("train/kl_divergence"), 0.0);
        assertNotEquals(0.0, metrics.get(4).get("train/kl_divergence"), "the reference is not the moving actor");

        assertEquals(models.resolve("rm").toString(), PeftFiles.readConfig(dir.resolve("whole/reward_critic")).baseModelNameOrPath());
        try (CausalLM actor = ModelFiles.loadCausalLM(uninterrupted.modelFolder(), Device.cpu());
             ScoreModel critic = ModelFiles.loadScoreModel(dir.resolve("whole/cost_critic"), Device.cpu())) {
            assertNull(actor.lora(), "an adapter folder loads merged");
            assertEquals(ScoreType.CRITIC, critic.scoreType());
        }
    }

    @Test
    void lambdaRisesWhileTheCostIsAboveTheThresholdAndFallsBelowIt(@TempDir Path dir) throws Exception {
        // the random cost model's costs are near 0: a threshold of -1 is always exceeded, one of +1 never reached
        double[] rising = lambdas(config("ppo-lag", dir.resolve("up"), "threshold=-1", "lambda_max=0"));
        double[] falling = lambdas(config("ppo-lag", dir.resolve("down"), "threshold=1"));
        for (int i = 1; i < rising.length; i++) {
            assertTrue(rising[i] > rising[i - 1], "lambda rises: " + java.util.Arrays.toString(rising));
            assertTrue(falling[i] < falling[i - 1], "lambda falls: " + java.util.Arrays.toString(falling));
        }
        assertTrue(rising[0] > 1.0 && falling[0] < 1.0, "the first update already moves lambda away from lambda_init = 1");
    }

    private static double[] lambdas(PpoConfig config) throws Exception {
        PpoTrainer.train(config);
        return MetricsLog.read(saferlhf.KitPaths.resolve(config.outputDir()).resolve("metrics.jsonl")).stream()
                .mapToDouble(row -> row.get("train/lambda")).toArray();
    }

    @Test
    void ppoAndRewardShapingShareTheTrainer(@TempDir Path dir) throws Exception {
        PpoTrainer.train(config("ppo", dir.resolve("ppo"), "train_datasets=BeaverWorld-RL/train:8/-1"));
        Map<String, Double> ppo = MetricsLog.read(dir.resolve("ppo/metrics.jsonl")).get(0);
        assertFalse(ppo.containsKey("train/cost") || ppo.containsKey("train/lambda"), "plain PPO ignores the cost");

        PpoTrainer.train(config("ppo-reward-shaping", dir.resolve("shaping"), "train_datasets=BeaverWorld-RL/train:8/-1", "lambda_init=0.5"));
        List<Map<String, Double>> shaping = MetricsLog.read(dir.resolve("shaping/metrics.jsonl"));
        for (Map<String, Double> row : shaping) assertEquals(0.5, row.get("train/lambda"), 1e-12, "lambda stays fixed");
        assertFalse(shaping.get(0).containsKey("train/cost_critic_loss"), "one critic, for the shaped reward");
    }
}
