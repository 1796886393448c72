package saferlhf.rl;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;
import saferlhf.model.TokenizerFiles;
import saferlhf.model.Generation;
import saferlhf.data.PromptRecord;
import saferlhf.data.PromptTemplate;
import saferlhf.data.SftRecord;
import saferlhf.eval.PolicySamples;
import saferlhf.eval.PreferenceScores;
import saferlhf.train.Data;
import saferlhf.train.Configs;
import saferlhf.train.MetricsLog;
import saferlhf.train.TrainingLoop;

/**
 * The RL trainer on tiny random models: resume, the direction of lambda, the three algorithms' metrics, and reward and
 * cost models whose tokenizers are not the actor's.
 */
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
        // mixed tokenizers: a byte-level BPE actor (and critic), a SentencePiece-style reward model, a word-level cost model
        Path byteLevel = TokenizerFiles.write(dir.resolve("byte-level"), TokenizerFiles.byteLevelBpe(TokenizerFiles.beaverWorldWords()),
                TokenizerFiles.EOS_ONLY_CONFIG);
        Path sentencePiece = TokenizerFiles.write(dir.resolve("sentencepiece"),
                TokenizerFiles.sentencePieceBpe(TokenizerFiles.beaverWorldWords()), null);
        try (Tokenizer a = Tokenizer.load(byteLevel); Tokenizer b = Tokenizer.load(sentencePiece);
             Tokenizer c = Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
             CausalLM actor = CausalLM.create(ModelConfig.tinyGpt2(a.vocabSize()), Device.cpu(), 11);
             ScoreModel critic = ScoreModel.create(ModelConfig.tinyGpt2(a.vocabSize()), ScoreType.REWARD, Device.cpu(), 12);
             ScoreModel reward = ScoreModel.create(ModelConfig.tinyLlama(b.vocabSize()), ScoreType.REWARD, Device.cpu(), 13);
             ScoreModel cost = ScoreModel.create(ModelConfig.tinyGpt2(c.vocabSize()), ScoreType.COST, Device.cpu(), 14)) {
            ModelFiles.save(actor, a, dir.resolve("mixed/sft"));
            ModelFiles.save(critic, a, dir.resolve("mixed/critic"));
            ModelFiles.save(reward, b, dir.resolve("mixed/rm"));
            ModelFiles.save(cost, c, dir.resolve("mixed/cm"));
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
        assertEquals(MetricsLog.withoutTimings(MetricsLog.read(dir.resolve("whole/metrics.jsonl"))),
                MetricsLog.withoutTimings(MetricsLog.read(dir.resolve("resumed/metrics.jsonl"))));
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
        assertEquals(MetricsLog.withoutTimings(metrics), MetricsLog.withoutTimings(MetricsLog.read(dir.resolve("resumed/metrics.jsonl"))));
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
    void aPidRunResumesExactlyAndItsLambdaFollowsTheCost(@TempDir Path dir) throws Exception {
        // a threshold the random cost model's costs (near 0) always exceed: the integral and the error push lambda up
        String[] pid = {"lambda_update=pid", "threshold=-1", "lambda_max=0", "pid_kp=0.5", "pid_ki=0.2"};
        PpoConfig whole = config("ppo-lag", dir.resolve("whole"), pid);
        PpoTrainer.train(whole);
        PpoConfig resumed = config("ppo-lag", dir.resolve("resumed"), pid);
        try (PpoTrainer trainer = new PpoTrainer(resumed)) {
            assertFalse(trainer.run(2).finished());
        }
        assertTrue(PpoTrainer.train(resumed).finished());
        List<Map<String, Double>> metrics = MetricsLog.withoutTimings(MetricsLog.read(dir.resolve("whole/metrics.jsonl")));
        assertEquals(metrics, MetricsLog.withoutTimings(MetricsLog.read(dir.resolve("resumed/metrics.jsonl"))));
        double[] lambdas = metrics.stream().mapToDouble(row -> row.get("train/lambda")).toArray();
        for (int i = 1; i < lambdas.length; i++) assertTrue(lambdas[i] > lambdas[i - 1], java.util.Arrays.toString(lambdas));
        // the first update from lambda_init 1: I = 1 + 0.2 * Delta, P = 0.05 * Delta (EMA 0.95), dCost (0.05 J_C)+
        double cost = metrics.get(0).get("train/episode_cost"), delta = cost + 1;
        assertEquals(Math.max(0, 0.5 * 0.05 * delta + (1 + 0.2 * delta) + 0.01 * Math.max(0, 0.05 * cost)), lambdas[0], 1e-9);
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

    @Test
    void repoPenalisesOnlyAnswersOverTheLimitSoItsLambdaNeverFalls(@TempDir Path dir) throws Exception {
        // the random cost model's costs are near 0: with a limit of 1 no answer violates it and lambda stays at lambda_init
        // (PPO-Lagrangian's falls there: lambdaRisesWhileTheCostIsAboveTheThresholdAndFallsBelowIt)
        for (double lambda : lambdas(config("repo", dir.resolve("within"), "threshold=1"))) assertEquals(1.0, lambda, 1e-12);
        // with a limit of -1 every answer violates it by c + 1: lambda rises on the mean violation
        PpoConfig over = config("repo", dir.resolve("over"), "threshold=-1", "lambda_max=0");
        double[] rising = lambdas(over);
        for (int i = 1; i < rising.length; i++) assertTrue(rising[i] > rising[i - 1], Arrays.toString(rising));
        for (Map<String, Double> row : MetricsLog.read(dir.resolve("over/metrics.jsonl"))) {
            assertEquals(row.get("train/episode_cost") + 1, row.get("train/episode_violation"), 1e-9, "every cost is above -1");
        }
        // interrupted after the first rollout and resumed: the same weights and metrics as uninterrupted
        PpoConfig resumed = config("repo", dir.resolve("resumed"), "threshold=-1", "lambda_max=0");
        try (PpoTrainer trainer = new PpoTrainer(resumed)) {
            assertFalse(trainer.run(2).finished());
        }
        assertTrue(PpoTrainer.train(resumed).finished());
        assertEquals(MetricsLog.withoutTimings(MetricsLog.read(dir.resolve("over/metrics.jsonl"))),
                MetricsLog.withoutTimings(MetricsLog.read(dir.resolve("resumed/metrics.jsonl"))));
        Map<String, HostTensor> a = ModelFiles.readWeights(dir.resolve("over/model")), b = ModelFiles.readWeights(dir.resolve("resumed/model"));
        for (String name : a.keySet()) assertArrayEquals(a.get(name).data(), b.get(name).data(), name);
    }

    private static double[] lambdas(PpoConfig config) throws Exception {
        PpoTrainer.train(config);
        return MetricsLog.read(saferlhf.KitPaths.resolve(config.outputDir()).resolve("metrics.jsonl")).stream()
                .mapToDouble(row -> row.get("train/lambda")).toArray();
    }

    @Test
    void halfPrecisionFrozenModelsScoreTheFirstRolloutAsFp32DoesAndTrainingStaysFinite(@TempDir Path dir) throws Exception {
        String prompts = "train_datasets=BeaverWorld-RL/train:16/-1"; // 2 rollouts, 4 rl steps
        PpoTrainer.train(config("ppo-lag", dir.resolve("fp32"), prompts));
        PpoTrainer.train(config("ppo-lag", dir.resolve("fp16"), prompts, "frozen_dtype=float16"));
        List<Map<String, Double>> exact = MetricsLog.read(dir.resolve("fp32/metrics.jsonl"));
        List<Map<String, Double>> half = MetricsLog.read(dir.resolve("fp16/metrics.jsonl"));
        assertEquals(4, half.size());
        for (Map<String, Double> row : half) row.forEach((name, value) -> assertTrue(Double.isFinite(value), name + " = " + value));
        // the first step's rollout is the same (the fp32 actor samples it); only the frozen models' precision differs
        Map<String, Double> a = exact.get(0), b = half.get(0);
        System.out.printf("ppo-lag step 1, fp32 vs fp16 frozen models: reward %.6f vs %.6f, cost %.6f vs %.6f, kl %.2e vs %.2e%n",
                a.get("train/reward"), b.get("train/reward"), a.get("train/cost"), b.get("train/cost"),
                a.get("train/kl_divergence"), b.get("train/kl_divergence"));
        assertEquals(a.get("train/mean_generated_length"), b.get("train/mean_generated_length"), 0.0, "the same rollout");
        assertEquals(0.0, a.get("train/kl_divergence"), 0.0, "an fp32 reference equal to the actor: no KL");
        assertEquals(0.0, b.get("train/kl_divergence"), 2e-3, "an fp16 copy of the actor: log-probs within fp16 rounding");
        double scale = Math.max(Math.abs(a.get("train/reward")), Math.abs(a.get("train/cost")));
        assertEquals(a.get("train/reward"), b.get("train/reward"), 0.01 * scale, "mean reward within 1% of the scores' scale");
        assertEquals(a.get("train/cost"), b.get("train/cost"), 0.01 * scale, "mean cost within 1% of the scores' scale");
    }

    @Test
    void everyRlStepLogsItsUpdateTimeAndTheFirstStepOfARolloutItsRolloutTime(@TempDir Path dir) throws Exception {
        PpoTrainer.train(config("ppo-lag", dir, "train_datasets=BeaverWorld-RL/train:8/-1"));
        List<Map<String, Double>> rows = MetricsLog.read(dir.resolve("metrics.jsonl"));
        assertEquals(2, rows.size(), "8 prompts, micro-batches of 4: one rollout, two rl steps");
        for (Map<String, Double> row : rows) {
            for (String key : List.of("time/step_seconds", "time/update_seconds", "time/update_tokens", "time/update_tokens_per_second",
                    "time/sequences", "time/padded_length")) {
                assertTrue(row.containsKey(key) && row.get(key) > 0 && Double.isFinite(row.get(key)), key + " in " + row);
            }
            assertEquals(4.0, row.get("time/sequences"));
            assertTrue(row.get("time/update_tokens") <= 4 * row.get("time/padded_length"));
        }
        Map<String, Double> first = rows.get(0), second = rows.get(1);
        for (String key : List.of("time/rollout_seconds", "time/generation_seconds", "time/generated_tokens", "time/rollout_tokens",
                "time/rollout_tokens_per_second")) {
            assertTrue(first.containsKey(key) && first.get(key) > 0, key + " in " + first);
            assertFalse(second.containsKey(key), "logged once a rollout: " + key);
        }
        assertTrue(first.get("time/generation_seconds") < first.get("time/rollout_seconds"));
        assertEquals(first.get("time/rollout_tokens"), first.get("time/update_tokens") + second.get("time/update_tokens"),
                "update_iters 1: the two micro-batches read every sequence of the rollout once");
        assertTrue(first.get("time/generated_tokens") < first.get("time/rollout_tokens"));
        double share = first.get("time/rollout_seconds") / 2;
        assertEquals(first.get("time/update_seconds") + share, first.get("time/step_seconds"), 1e-9);
        assertEquals(second.get("time/update_seconds") + share, second.get("time/step_seconds"), 1e-9);
    }

    @Test
    void theGroupRelativeLagrangianAnswersEachPromptInGroupsTrainsNoCriticsAndResumesExactly(@TempDir Path dir) throws Exception {
        // 8 prompts, 2 a rollout, 4 answers each: 4 rollouts of 8 responses, 2 rl steps of 4 (one group) each
        String[] settings = {"train_datasets=BeaverWorld-RL/train:8/-1", "per_device_prompt_batch_size=2", "threshold=-1",
                "lambda_max=0"};
        PpoConfig whole = config("grpo-lag", dir.resolve("whole"), settings);
        assertEquals(4, whole.groupSize(), "the preset's group");
        try (PpoTrainer trainer = new PpoTrainer(whole)) {
            List<PromptRecord> two = Data.prompts("BeaverWorld-RL/train:2/-1", 1);
            PpoTrainer.Rollout r = trainer.rollout(two, 7);
            assertEquals(8, r.size());
            long[] first = Arrays.copyOfRange(r.ids(), 0, r.promptLength());
            for (int b = 1; b < 4; b++) {
                assertArrayEquals(first, Arrays.copyOfRange(r.ids(), b * r.length(), b * r.length() + r.promptLength()), "row " + b);
            }
            assertFalse(Arrays.equals(first, Arrays.copyOfRange(r.ids(), 4 * r.length(), 4 * r.length() + r.promptLength())),
                    "rows 4-7 answer the second prompt");
            java.util.Set<String> answers = new java.util.HashSet<>();
            for (int b = 0; b < 4; b++) answers.add(Arrays.toString(Arrays.copyOfRange(r.ids(), b * r.length(), (b + 1) * r.length())));
            assertTrue(answers.size() > 1, "a group's answers are sampled apart");
        }
        TrainingLoop.Result uninterrupted = PpoTrainer.train(whole);
        assertEquals(8, uninterrupted.totalSteps());
        PpoConfig resumed = config("grpo-lag", dir.resolve("resumed"), settings);
        try (PpoTrainer trainer = new PpoTrainer(resumed)) {
            assertFalse(trainer.run(4).finished());
        }
        assertFalse(java.nio.file.Files.exists(dir.resolve("resumed/checkpoint/reward_critic")), "no critics");
        assertTrue(PpoTrainer.train(resumed).finished());
        Map<String, HostTensor> a = ModelFiles.readWeights(uninterrupted.modelFolder());
        Map<String, HostTensor> b = ModelFiles.readWeights(dir.resolve("resumed/model"));
        for (String name : a.keySet()) assertArrayEquals(a.get(name).data(), b.get(name).data(), name);
        List<Map<String, Double>> metrics = MetricsLog.withoutTimings(MetricsLog.read(dir.resolve("whole/metrics.jsonl")));
        assertEquals(metrics, MetricsLog.withoutTimings(MetricsLog.read(dir.resolve("resumed/metrics.jsonl"))));
        for (String part : List.of("reward_critic", "cost_critic")) assertFalse(java.nio.file.Files.exists(dir.resolve("whole").resolve(part)));
        for (Map<String, Double> row : metrics) {
            assertFalse(row.containsKey("train/reward_critic_loss") || row.containsKey("train/cost_critic_loss"), row.toString());
            // a micro-batch is one whole group: its standardised scores average 0
            assertEquals(0.0, row.get("train/reward_advantage"), 1e-5);
            assertEquals(0.0, row.get("train/cost_advantage"), 1e-5);
        }
        assertEquals(0.0, metrics.get(0).get("train/kl_divergence"), 0.0, "the first rollout's actor is its reference");
        double[] lambdas = metrics.stream().mapToDouble(row -> row.get("train/lambda")).toArray();
        for (int i = 1; i < lambdas.length; i++) assertTrue(lambdas[i] > lambdas[i - 1], "costs near 0 > -1: " + Arrays.toString(lambdas));
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
        // the reference's names for what the shaping run trains on: r - lambda * c, and the episode cost
        Map<String, Double> row = shaping.get(0);
        for (String key : List.of("train/shaped_reward", "train/shaped_reward_with_kl_penalty", "train/shaped_reward_advantage",
                "train/shaped_reward_return", "train/shaped_reward_value", "train/episode_cost", "train/reward", "train/cost")) {
            assertTrue(row.containsKey(key) && Double.isFinite(row.get(key)), key + " in " + row);
        }
        assertFalse(row.containsKey("train/reward_advantage"), "the shaped reward's advantage is logged under its own name");
        assertEquals(row.get("train/reward") - 0.5 * row.get("train/cost"), row.get("train/shaped_reward"), 1e-9);
        assertTrue(ppo.containsKey("train/reward_advantage") && !ppo.containsKey("train/shaped_reward"));
    }

    @Test
    void rewardAndCostModelsWithOtherTokenizersScoreTheDecodedTextRetokenized(@TempDir Path dir) throws Exception {
        Path mixed = models.resolve("mixed");
        PpoConfig config = config("ppo-lag", dir.resolve("run"), "actor_model_name_or_path=" + mixed.resolve("sft"),
                "reward_model_name_or_path=" + mixed.resolve("rm"), "cost_model_name_or_path=" + mixed.resolve("cm"),
                "reward_critic_model_name_or_path=" + mixed.resolve("sft"), "cost_critic_model_name_or_path=" + mixed.resolve("critic"),
                "max_length=40", "eval_datasets=BeaverWorld-Eval/harmful:6/-1", "per_device_eval_batch_size=3");
        List<PromptRecord> prompts = Data.prompts("BeaverWorld-RL/train:6/-1", 3);
        try (PpoTrainer trainer = new PpoTrainer(config);
             Scorer reward = Scorer.load(mixed.resolve("rm"), Device.cpu()); Scorer cost = Scorer.load(mixed.resolve("cm"), Device.cpu())) {
            reward.model().setNormalize(config.normalizeReward());
            cost.model().setNormalize(config.normalizeCost());
            Tokenizer actor = trainer.tokenizer();
            assertFalse(reward.readsIdsOf(actor) || cost.readsIdsOf(actor));
            PpoTrainer.Rollout r = trainer.rollout(prompts, 5);

            // each row's text, decoded with the actor's tokenizer: the template of the prompt, then the response
            List<SftRecord> answers = new ArrayList<>();
            for (int b = 0; b < r.size(); b++) {
                long[] row = Arrays.copyOfRange(r.ids(), b * r.length(), (b + 1) * r.length());
                long[] prompt = Arrays.stream(row, 0, r.promptLength()).filter(t -> t != actor.padId()).toArray();
                assertEquals(PromptTemplate.format(prompts.get(b).prompt()), actor.decode(prompt, true), "prompt " + b + " not truncated");
                long[] response = Arrays.stream(row, r.promptLength(), row.length).filter(t -> t != actor.padId() && t != actor.eosId()
                        && t != actor.bosId() && t != actor.unkId()).toArray();
                answers.add(new SftRecord(prompts.get(b).prompt(), actor.decode(response, true)));
            }
            // ... scored by each model with that text tokenized by its own tokenizer, as it was trained
            for (Scorer scorer : List.of(reward, cost)) {
                Tokenizer.Batch direct = scorer.input(answers, Integer.MAX_VALUE);
                assertTrue(direct.length() <= 128, "within the tiny models' positions: " + direct.length());
                float[] expected = scorer.endScores(direct), got = scorer == reward ? r.reward() : r.cost();
                assertArrayEquals(expected, got, 1e-6f, scorer.tokenizer().describe());
            }
            // evaluation: the sampled answers' ids as generated, decoded and re-tokenized the same way (the same seeded
            // samples as evaluate() draws, with the config's top_k)
            Map<String, Double> eval = trainer.evaluate();
            List<PolicySamples.Sample> samples = PolicySamples.generate(trainer.actor(), actor, Data.prompts(config.evalDatasets(),
                    config.seed()), Generation.Config.sampling(config.maxLength() / 2, config.topK(), config.seed()), 3, config.maxLength() / 2);
            Tokenizer.Batch generated = actor.pad(samples.stream().map(PolicySamples.Sample::ids).toList(), Integer.MAX_VALUE,
                    Tokenizer.Padding.RIGHT);
            assertEquals(PreferenceScores.mean(reward.endScores(actor, generated)), eval.get("eval/reward"), 1e-6);
            assertEquals(PreferenceScores.mean(cost.endScores(actor, generated)), eval.get("eval/cost"), 1e-6);
        }
        // and the run trains: critics (one a fresh value head on the actor's body) and actor on the actor's ids, scores
        // from re-tokenized text
        TrainingLoop.Result result = PpoTrainer.train(Configs.override(config, List.of("eval_datasets=", "train_datasets=BeaverWorld-RL/train:8/-1")));
        assertTrue(result.finished());
        for (Map<String, Double> row : MetricsLog.read(dir.resolve("run/metrics.jsonl"))) {
            for (String metric : List.of("train/reward", "train/cost", "train/actor_loss", "train/reward_critic_loss")) {
                assertTrue(Double.isFinite(row.get(metric)), metric);
            }
        }
    }

    @Test
    void aCriticWhoseTokenizerIsNotTheActorsIsRefused(@TempDir Path dir) {
        Path mixed = models.resolve("mixed");
        // no reward critic folder: the critic would start from the reward model, whose tokenizer is not the actor's
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PpoTrainer(config("ppo", dir.resolve("a"),
                "reward_model_name_or_path=" + mixed.resolve("rm"))));
        assertTrue(e.getMessage().startsWith("reward_critic_model_name_or_path: the reward critic (" + mixed.resolve("rm")), e.getMessage());
        assertTrue(e.getMessage().contains("the actor (" + models.resolve("sft") + ")"), e.getMessage());
        // a cost critic from its own folder with another tokenizer
        e = assertThrows(IllegalArgumentException.class, () -> new PpoTrainer(config("ppo-lag", dir.resolve("b"),
                "cost_critic_model_name_or_path=" + mixed.resolve("critic"))));
        assertTrue(e.getMessage().startsWith("cost_critic_model_name_or_path: the cost critic (" + mixed.resolve("critic") + ")"),
                e.getMessage());
        assertTrue(e.getMessage().contains(mixed.resolve("critic").resolve("tokenizer.json").toString())
                && e.getMessage().contains(models.resolve("sft").resolve("tokenizer.json").toString()), e.getMessage());
    }
}
