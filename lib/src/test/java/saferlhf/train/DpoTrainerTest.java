package saferlhf.train;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.Offline;
import saferlhf.model.CausalLM;
import saferlhf.model.HostTensor;
import saferlhf.model.ModelFiles;

/** The DPO loss against a value computed by hand, and the trainer on a tiny random model: log 2 at the start, training, resume. */
class DpoTrainerTest {
    @BeforeAll
    static void offline() { Offline.apply(); }

    private static DpoConfig tiny(Path out, String... overrides) {
        List<String> all = new ArrayList<>(List.of("model_name_or_path=preset:tiny-llama", "train_datasets=BeaverWorld/train:32/-1",
                "eval_datasets=BeaverWorld/train:32/-1", "epochs=2", "per_device_train_batch_size=8",
                "per_device_eval_batch_size=32", "lr=1e-3", "output_dir=" + out));
        all.addAll(List.of(overrides));
        return Configs.override(DpoConfig.quick(), all);
    }

    @Test
    void theLossSumsEachSequenceFromTheDivergeIndexToItsOwnEnd() {
        // ids: 1 = BOS, 2 = EOS; pair 0 diverges at position 2, pair 1 at position 1; rows are padded to length 5
        List<DpoTrainer.Pair> pairs = List.of(DpoTrainer.Pair.of(new long[] {1, 5, 6, 7, 2}, new long[] {1, 5, 8, 2}),
                DpoTrainer.Pair.of(new long[] {1, 9, 2}, new long[] {1, 4, 4, 4, 2}));
        assertEquals(2, pairs.get(0).divergeIndex());
        assertEquals(1, pairs.get(1).divergeIndex());
        // column t scores token t+1: better 0 sums tokens 2..4, better 1 tokens 1..2, worse 0 tokens 2..3, worse 1 tokens 1..4
        float[] window = DpoTrainer.window(pairs, 5);
        assertArrayEquals(new float[] {0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1}, window);
        assertFalse(DpoTrainer.Pair.of(new long[] {1, 5, 2}, new long[] {1, 5, 2}).diverges(), "the same response twice");

        try (NDManager m = NDManager.newBaseManager()) {
            Shape shape = new Shape(4, 4); // rows: better 0, better 1, worse 0, worse 1
            // -9 marks columns outside the window (before the divergence, padding): counting any of them changes the loss
            NDArray logProbs = m.create(new float[] {
                -9f, -1f, -0.5f, -0.2f,
                -0.3f, -0.7f, -9f, -9f,
                -9f, -2f, -0.4f, -9f,
                -1.5f, -0.6f, -0.8f, -0.1f}, shape);
            NDArray refLogProbs = m.create(new float[] {
                -1f, -1.2f, -0.6f, -0.3f,
                -0.5f, -0.5f, -1f, -1f,
                -1f, -1f, -0.5f, -1f,
                -1f, -1f, -1f, -1f}, shape);
            PreferenceLosses.Dpo dpo = PreferenceLosses.dpo(logProbs, refLogProbs, m.create(window, shape), 0.1f);
            // log ratios: better 0.4 and 0.0, worse -0.9 and 1.0; loss = mean(-logsigmoid(0.13), -logsigmoid(-0.1))
            assertEquals(0.6873274273776308, dpo.loss().getFloat(), 1e-6);
            assertArrayEquals(new float[] {0.04f, 0f}, dpo.betterSampleReward().toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {-0.09f, 0.1f}, dpo.worseSampleReward().toFloatArray(), 1e-6f);
            Map<String, NDArray> metrics = dpo.metrics("train/");
            assertEquals(0.025, metrics.get("train/reward").getFloat(), 1e-6);
            assertEquals(0.5, metrics.get("train/reward_accuracy").getFloat(), 0.0);
            assertEquals(0.015, metrics.get("train/reward_margin").getFloat(), 1e-6);
        }
    }

    @Test
    void aPolicyEqualToItsReferenceHasLossLog2AndTrainingWidensTheMargin(@TempDir Path dir) throws Exception {
        DpoConfig config = tiny(dir);
        try (DpoTrainer trainer = new DpoTrainer(config)) {
            Map<String, Double> before = trainer.evaluate();
            assertEquals(Math.log(2), before.get("eval/loss"), 1e-6, "-logsigmoid(0) while the policy is its reference");
            assertEquals(0.0, before.get("eval/reward_margin"), 0.0);
            assertEquals(0.0, before.get("eval/reward_accuracy"), 0.0);

            TrainingLoop.Result result = TrainingLoop.run(config, trainer);
            Map<String, Double> after = result.lastEval();
            // measured: margin 0.64, accuracy 0.875, loss 0.457 after 8 steps
            assertTrue(after.get("eval/reward_margin") > 0.3, "margin on the training pairs: " + after);
            assertTrue(after.get("eval/reward_accuracy") >= 0.75, "accuracy on the training pairs: " + after);
            assertTrue(after.get("eval/loss") < 0.55, "loss on the training pairs: " + after);
            Map<String, Double> firstStep = MetricsLog.read(dir.resolve("metrics.jsonl")).get(0);
            for (String metric : List.of("train/loss", "train/reward", "train/better_sample_reward", "train/worse_sample_reward",
                    "train/reward_accuracy", "train/reward_margin", "train/lr")) {
                assertTrue(firstStep.containsKey(metric), metric);
            }

            try (CausalLM saved = ModelFiles.loadCausalLM(result.modelFolder(), Device.cpu())) {
                Map<String, HostTensor> trained = trainer.model().toHost();
                saved.toHost().forEach((name, tensor) -> assertArrayEquals(trained.get(name).data(), tensor.data(), name));
            }
        }
    }

    @Test
    void aHalfPrecisionReferenceStartsAtLog2AndTrainsAsTheFp32OneDoes(@TempDir Path dir) throws Exception {
        DpoConfig config = tiny(dir, "frozen_dtype=float16");
        try (DpoTrainer trainer = new DpoTrainer(config)) {
            Map<String, Double> before = trainer.evaluate();
            // the policy is its reference up to fp16 rounding of the reference's log-probabilities
            System.out.printf("dpo, fp16 reference: initial eval/loss %.7f (log 2 = %.7f), reward_margin %.2e%n",
                    before.get("eval/loss"), Math.log(2), before.get("eval/reward_margin"));
            assertEquals(Math.log(2), before.get("eval/loss"), 2e-4);
            assertEquals(0.0, before.get("eval/reward_margin"), 5e-4);
            Map<String, Double> after = TrainingLoop.run(config, trainer).lastEval();
            // the thresholds of the fp32 test above
            assertTrue(after.get("eval/reward_margin") > 0.3, "margin on the training pairs: " + after);
            assertTrue(after.get("eval/reward_accuracy") >= 0.75, "accuracy on the training pairs: " + after);
            assertTrue(after.get("eval/loss") < 0.55, "loss on the training pairs: " + after);
            for (Map<String, Double> row : MetricsLog.read(dir.resolve("metrics.jsonl"))) {
                row.forEach((name, value) -> assertTrue(Double.isFinite(value), name + " = " + value));
            }
        }
        Configs.ConfigException bf16 = assertThrows(Configs.ConfigException.class, () -> tiny(dir, "frozen_dtype=bfloat16"));
        assertTrue(bf16.getMessage().contains("frozen_dtype 'bfloat16': expected float32 or float16"), bf16.getMessage());
    }

    @Test
    void safeDpoStartsAtItsMarginsLossAndResumesExactly(@TempDir Path dir) throws Exception {
        DpoConfig config = tiny(dir.resolve("run"), "algorithm=safe-dpo", "safety_margin=2");
        // while the policy is its reference every log ratio is 0: -logsigmoid(-2) for a pair whose loser is unsafe, log 2 else
        double expected = 0;
        int kept = 0;
        for (saferlhf.data.PreferencePair p : Data.preferences("BeaverWorld/train:32/-1", config.seed())) {
            java.util.Optional<SafeDpo.Ordered> ordered = SafeDpo.order(p, 2);
            if (ordered.isEmpty()) continue;
            kept++;
            expected += ordered.get().margin() > 0 ? Math.log1p(Math.exp(2)) : Math.log(2);
        }
        try (DpoTrainer trainer = new DpoTrainer(config)) {
            assertTrue(kept < 32, "some of the 32 pairs are both unsafe");
            assertEquals(kept, trainer.trainSize(), "T drops the both-unsafe pairs");
            assertEquals(expected / kept, trainer.evaluate().get("eval/loss"), 1e-5);
        }
        TrainingLoopTest.assertResumeIsExact(out -> tiny(out, "algorithm=safe-dpo", "train_datasets=BeaverWorld/train:16/-1",
                "eval_strategy=no", "per_device_train_batch_size=4", "gradient_accumulation_steps=2"), DpoTrainer::new, dir.resolve("resume"), 3);
    }

    @Test
    void bfpoStartsAtTheMeanSquaredTargetAndResumesExactly(@TempDir Path dir) throws Exception {
        DpoConfig config = tiny(dir.resolve("run"), "algorithm=bfpo");
        // while the policy is its reference every log-ratio margin is 0, so the loss is the mean of the squared targets
        double expected = 0;
        List<saferlhf.data.PreferencePair> pairs = Data.preferences("BeaverWorld/train:32/-1", config.seed());
        for (saferlhf.data.PreferencePair p : pairs) expected += Math.pow(Bfpo.target(p, config.scaleCoeff()), 2);
        try (DpoTrainer trainer = new DpoTrainer(config)) {
            assertEquals(pairs.size(), trainer.trainSize());
            assertEquals(expected / pairs.size(), trainer.evaluate().get("eval/loss"), 1e-3);
        }
        TrainingLoopTest.assertResumeIsExact(out -> tiny(out, "algorithm=bfpo", "train_datasets=BeaverWorld/train:16/-1",
                "eval_strategy=no", "per_device_train_batch_size=4", "gradient_accumulation_steps=2"), DpoTrainer::new, dir.resolve("resume"), 3);
    }

    @Test
    void mocanSolvesItsDualOnceTrainsOnSoftLabelsAndResumesExactly(@TempDir Path dir) throws Exception {
        scoreModels(dir);
        String[] mocan = {"algorithm=mocan", "reward_model_name_or_path=" + dir.resolve("rm"), "cost_model_name_or_path=" + dir.resolve("cm"),
                "dual_datasets=BeaverWorld-RL/train:6/-1", "dual_samples=4", "max_length=48"};
        // a limit above every cost: lambda* = 0
        DpoConfig loose = tiny(dir.resolve("loose"), concat(mocan, "threshold=100"));
        try (DpoTrainer start = new DpoTrainer(loose)) {
            assertEquals(Math.log(2), start.evaluate().get("eval/loss"), 1e-5, "the soft-label loss of a policy equal to its reference");
        }
        TrainingLoop.Result trained = DpoTrainer.train(loose);
        com.fasterxml.jackson.databind.JsonNode dual = saferlhf.util.JsonFiles.read(dir.resolve("loose/dual.json"));
        assertEquals(0.0, dual.get("lambda").asDouble(), 0.0);
        assertEquals(6, dual.get("prompts").asInt());
        assertEquals(4, dual.get("samples_per_prompt").asInt());
        assertEquals(64, dual.get("labelled_pairs").asInt(), "32 training and 32 held-out pairs");
        assertTrue(trained.lastEval().get("eval/loss") < Math.log(2), "the soft-label loss falls from log 2: " + trained.lastEval());
        // a limit just under the cost of the answers reweighted by reward alone (lambda 0): the dual needs a multiplier, and
        // the reweighted cost meets the limit
        double limit = dual.get("tilted_cost").asDouble() - 1e-3;
        try (DpoTrainer trainer = new DpoTrainer(tiny(dir.resolve("tight"), concat(mocan, "threshold=" + limit)))) {
            com.fasterxml.jackson.databind.JsonNode tight = saferlhf.util.JsonFiles.read(dir.resolve("tight/dual.json"));
            assertTrue(tight.get("lambda").asDouble() > 0, tight.toString());
            assertEquals(limit, tight.get("tilted_cost").asDouble(), 1e-6);
        }
        TrainingLoopTest.assertResumeIsExact(out -> tiny(out, concat(mocan, "threshold=100", "train_datasets=BeaverWorld/train:16/-1",
                "eval_strategy=no", "per_device_train_batch_size=4", "gradient_accumulation_steps=2")), DpoTrainer::new, dir.resolve("resume"), 3);
    }

    @Test
    void pecanSolvesItsDualOnTwoPoliciesLogRatiosWithoutScoreModels(@TempDir Path dir) throws Exception {
        // two tiny random policies stand in for the DPO policies on helpfulness and on safety
        try (saferlhf.model.Tokenizer tokenizer = saferlhf.model.Tokenizer.load(saferlhf.KitPaths.beaverWorld().resolve("tokenizer.json"));
             CausalLM helpful = CausalLM.create(saferlhf.model.ModelConfig.tinyLlama(tokenizer.vocabSize()), Device.cpu(), 5);
             CausalLM safe = CausalLM.create(saferlhf.model.ModelConfig.tinyLlama(tokenizer.vocabSize()), Device.cpu(), 6);
             CausalLM reference = CausalLM.create(saferlhf.model.ModelConfig.tinyLlama(tokenizer.vocabSize()), Device.cpu(), 7)) {
            ModelFiles.save(helpful, tokenizer, dir.resolve("helpful"));
            ModelFiles.save(safe, tokenizer, dir.resolve("safe"));
            // a log-ratio sums the response tokens only: the same answer alone or padded in a batch of longer ones
            List<saferlhf.eval.PolicySamples.Sample> answers = new ArrayList<>();
            for (saferlhf.data.PreferencePair p : Data.preferences("BeaverWorld/train:4/-1", 1)) {
                answers.add(new saferlhf.eval.PolicySamples.Sample(new saferlhf.data.PromptRecord(p.prompt()), p.response0(), true, 0));
            }
            double[] batched = Pecan.logRatios(answers, helpful::logProbs, reference::logProbs, tokenizer, helpful.manager(), 4, 96);
            for (int i = 0; i < answers.size(); i++) {
                double alone = Pecan.logRatios(answers.subList(i, i + 1), helpful::logProbs, reference::logProbs, tokenizer,
                        helpful.manager(), 1, 96)[0];
                assertEquals(alone, batched[i], 1e-4, "answer " + i);
                assertNotEquals(0.0, alone, "two different models");
            }
        }
        String[] pecan = {"algorithm=pecan", "helpfulness_model_name_or_path=" + dir.resolve("helpful"),
                "safety_model_name_or_path=" + dir.resolve("safe"), "dual_datasets=BeaverWorld-RL/train:6/-1", "dual_samples=4",
                "max_length=48"};
        try (DpoTrainer start = new DpoTrainer(tiny(dir.resolve("run"), concat(pecan, "safety_improvement=0.05")))) {
            // the policy is its reference: every log-ratio margin is 0 and the soft-label loss log 2, whatever the labels
            assertEquals(Math.log(2), start.evaluate().get("eval/loss"), 1e-5);
        }
        DpoTrainer.train(tiny(dir.resolve("run"), concat(pecan, "safety_improvement=0.05")));
        com.fasterxml.jackson.databind.JsonNode dual = saferlhf.util.JsonFiles.read(dir.resolve("run/dual.json"));
        assertEquals(0, dual.get("reward_model_calls").asInt() + dual.get("cost_model_calls").asInt(), "no score model");
        // the limit is the reference's mean "cost" -s less b / beta, and lambda* meets it (or 0 already does)
        assertEquals(dual.get("reference_cost").asDouble() - 0.05 / 0.1, dual.get("threshold").asDouble(), 1e-9);
        if (dual.get("lambda").asDouble() > 0) assertEquals(dual.get("threshold").asDouble(), dual.get("tilted_cost").asDouble(), 1e-6);
        else assertTrue(dual.get("tilted_cost").asDouble() <= dual.get("threshold").asDouble(), dual.toString());
        assertTrue(TrainingLoop.isComplete(tiny(dir.resolve("run"), concat(pecan, "safety_improvement=0.05"))));
        TrainingLoopTest.assertResumeIsExact(out -> tiny(out, concat(pecan, "safety_improvement=0.05", "train_datasets=BeaverWorld/train:16/-1",
                "eval_strategy=no", "per_device_train_batch_size=4", "gradient_accumulation_steps=2")), DpoTrainer::new, dir.resolve("resume"), 3);
        // an improvement no reweighting of four answers a prompt can reach is refused, naming the threshold
        saferlhf.util.InputError far = assertThrows(saferlhf.util.InputError.class,
                () -> new DpoTrainer(tiny(dir.resolve("far"), concat(pecan, "safety_improvement=1000"))));
        assertTrue(far.getMessage().contains("threshold"), far.getMessage());
    }

    @Test
    void cdpoTakesDualStepsBetweenDpoRunsAgainstTheStartingReferenceAndResumes(@TempDir Path dir) throws Exception {
        scoreModels(dir);
        String[] cdpo = {"algorithm=c-dpo", "reward_model_name_or_path=" + dir.resolve("rm"), "cost_model_name_or_path=" + dir.resolve("cm"),
                "dual_datasets=BeaverWorld-RL/train:6/-1", "dual_samples=2", "max_length=48", "dual_iterations=2", "lambda_lr=2",
                "threshold=-1", "epochs=1", "train_datasets=BeaverWorld/train:16/-1", "eval_strategy=no"};
        DpoConfig config = tiny(dir.resolve("run"), cdpo);
        TrainingLoop.Result result = DpoTrainer.train(config);
        assertTrue(TrainingLoop.isComplete(config), "the last iteration's policy in output_dir/model");
        com.fasterxml.jackson.databind.JsonNode history = saferlhf.util.JsonFiles.read(dir.resolve("run/lambda.json"));
        assertEquals(2, history.size());
        double lambda = 1.0; // lagrange_multiplier of the preset
        for (com.fasterxml.jackson.databind.JsonNode entry : history) {
            assertEquals(lambda, entry.get("lambda").asDouble(), 1e-12);
            double cost = entry.get("expected_cost").asDouble();
            assertTrue(cost > -1, "the random cost model's costs are near 0, above the limit -1: " + cost);
            lambda = Math.max(0, lambda + 2 * (cost + 1));
            assertEquals(lambda, entry.get("next_lambda").asDouble(), 1e-12, "lambda <- max(0, lambda + lr (E[c] - d))");
        }
        assertEquals(history.get(0).get("next_lambda").asDouble(),
                saferlhf.util.JsonFiles.read(dir.resolve("run/iteration-2/arguments.json")).get("lagrange_multiplier").asDouble(), 1e-12);
        // iteration 2 starts from iteration 1's policy but keeps the starting model as its reference: no longer log 2
        DpoConfig second = Configs.load(dir.resolve("run/iteration-2/arguments.json"), DpoConfig.quick());
        try (DpoTrainer trainer = new DpoTrainer(Configs.override(second, List.of("output_dir=" + dir.resolve("probe"),
                "eval_datasets=BeaverWorld/train:32/-1")))) {
            assertNotEquals(Math.log(2), trainer.evaluate().get("eval/loss"), 1e-4);
        }
        // finished: a second call finds every iteration done and leaves lambda's history as it was
        String before = Files.readString(dir.resolve("run/lambda.json"));
        assertEquals(result.modelFolder(), DpoTrainer.train(config).modelFolder());
        assertEquals(before, Files.readString(dir.resolve("run/lambda.json")));
        // stopped after iteration 1 (its history written, iteration 2 not started): resumed, it ends where the whole run did
        DpoConfig interrupted = tiny(dir.resolve("interrupted"), cdpo);
        DpoTrainer.train(interrupted);
        saferlhf.util.AtomicFiles.deleteRecursively(dir.resolve("interrupted/iteration-2"));
        saferlhf.util.AtomicFiles.deleteRecursively(dir.resolve("interrupted/model"));
        com.fasterxml.jackson.databind.node.ArrayNode first = (com.fasterxml.jackson.databind.node.ArrayNode)
                saferlhf.util.JsonFiles.read(dir.resolve("interrupted/lambda.json"));
        first.remove(1);
        Files.writeString(dir.resolve("interrupted/lambda.json"), first.toPrettyString() + "\n");
        DpoTrainer.train(interrupted);
        assertEquals(before, Files.readString(dir.resolve("interrupted/lambda.json")));
        Map<String, HostTensor> a = ModelFiles.readWeights(dir.resolve("run/model"));
        Map<String, HostTensor> b = ModelFiles.readWeights(dir.resolve("interrupted/model"));
        for (String name : a.keySet()) assertArrayEquals(a.get(name).data(), b.get(name).data(), name);
        assertEquals(1.5, ConstrainedDpo.dualStep(1, -0.5, -1, 1), 1e-12, "1 + 1 * (-0.5 - -1)");
        assertEquals(2 * (16 + 32) + 6 * 2, history.get(0).get("cost_model_calls").asInt(),
                "both answers of the 16 training and 32 held-out pairs relabelled, 6 x 2 answers costed");
        assertEquals(0.0, ConstrainedDpo.dualStep(0.2, -3, -1, 1), 0.0, "projected onto lambda >= 0");
    }

    /** A tiny random reward model and cost model in dir/rm and dir/cm. */
    private static void scoreModels(Path dir) throws Exception {
        try (saferlhf.model.Tokenizer tokenizer = saferlhf.model.Tokenizer.load(saferlhf.KitPaths.beaverWorld().resolve("tokenizer.json"));
             saferlhf.model.ScoreModel reward = saferlhf.model.ScoreModel.create(saferlhf.model.ModelConfig.tinyGpt2(tokenizer.vocabSize()),
                     saferlhf.model.ScoreType.REWARD, Device.cpu(), 2);
             saferlhf.model.ScoreModel cost = saferlhf.model.ScoreModel.create(saferlhf.model.ModelConfig.tinyGpt2(tokenizer.vocabSize()),
                     saferlhf.model.ScoreType.COST, Device.cpu(), 3)) {
            ModelFiles.save(reward, tokenizer, dir.resolve("rm"));
            ModelFiles.save(cost, tokenizer, dir.resolve("cm"));
        }
    }

    private static String[] concat(String[] first, String... more) {
        List<String> all = new ArrayList<>(List.of(first));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void aResumedRunEndsWithTheSameWeightsAsAnUninterruptedOne(@TempDir Path dir) throws Exception {
        TrainingLoop.Result whole = TrainingLoopTest.assertResumeIsExact(out -> tiny(out, "train_datasets=BeaverWorld/train:16/-1",
                "eval_strategy=no", "per_device_train_batch_size=4", "gradient_accumulation_steps=2"), DpoTrainer::new, dir, 3);
        assertEquals(4, whole.totalSteps(), "16 pairs / (4 x 2) -> 2 steps an epoch, 2 epochs");
    }
}
