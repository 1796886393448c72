package saferlhf.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import saferlhf.KitPaths;
import saferlhf.data.PromptRecord;
import saferlhf.eval.PolicySamples;
import saferlhf.model.CausalLM;
import saferlhf.model.ModelFiles;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;
import saferlhf.util.AtomicFiles;
import saferlhf.util.JsonFiles;

/**
 * C-DPO, constrained DPO by dual gradient descent (Liu, Sun and Zheng, "Enhancing LLM Safety via Constrained Direct
 * Preference Optimization", arXiv 2403.02475). For a fixed lambda the problem max E[r - lambda c] - beta KL is DPO on
 * preferences from r_lambda = r - lambda c; lambda then follows the dual gradient dg/dlambda = d - E_{pi_lambda}[c]:
 * <pre>
 * for i = 1 .. dual_iterations:
 *     the pairs ordered by r_lambda:  better = argmax over the pair of r(x, y) - lambda c(x, y)     (reward and cost models)
 *     DPO on them (one run of epochs), from the previous iteration's policy, the reference always the starting policy
 *     E[c]   = the cost model's mean over dual_samples answers by the new policy to each dual_datasets prompt
 *     lambda = max(0, lambda + lambda_lr * (E[c] - threshold))
 * </pre>
 * With {@code dual_iterations} 0 it is one DPO run at {@code lagrange_multiplier}, fixed (the paper's reported runs fix
 * lambda at 0.4 and 1, by the summaries the kit could read).
 *
 * <p>Where the kit chose (docs/methods.md): only the paper's abstract and secondary summaries were readable here and no
 * code is public, so the hard relabelling, the warm start from the previous iteration (rather than DPO from the
 * reference for each lambda, which the dual's pi_lambda is), the number of iterations (3), the initial lambda (1) and the
 * dual step (1) are the kit's. The iterations live in {@code output_dir/iteration-i}, lambda's history in
 * {@code output_dir/lambda.json} (written atomically after each iteration, so an interrupted run resumes), and the
 * last iteration's policy is copied to {@code output_dir/model}.
 */
public final class ConstrainedDpo {
    private ConstrainedDpo() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The dual step: lambda <- max(0, lambda + lr (E[c] - d)). */
    static double dualStep(double lambda, double expectedCost, double threshold, double lr) {
        return Math.max(0, lambda + lr * (expectedCost - threshold));
    }

    /** Runs (or resumes) the iterations of {@code config} ({@code algorithm=c-dpo}, {@code dual_iterations >= 1}). */
    public static TrainingLoop.Result train(DpoConfig config) throws IOException {
        long started = System.nanoTime();
        Path out = KitPaths.resolve(config.outputDir()), historyFile = out.resolve("lambda.json");
        Files.createDirectories(out);
        Configs.requireSameAsSaved(config, out.resolve("arguments.json"));
        Configs.save(config, out.resolve("arguments.json"));
        ArrayNode history = Files.isRegularFile(historyFile) ? (ArrayNode) JsonFiles.read(historyFile) : JSON.createArrayNode();
        String reference = config.referenceModelNameOrPath().isBlank() ? config.modelNameOrPath() : config.referenceModelNameOrPath();
        String policy = config.modelNameOrPath();
        double lambda = config.lagrangeMultiplier();
        TrainingLoop.Result last = null;
        for (int i = 1; i <= config.dualIterations(); i++) {
            DpoConfig step = Configs.override(config, List.of("dual_iterations=0", "lagrange_multiplier=" + lambda,
                    "model_name_or_path=" + policy, "reference_model_name_or_path=" + reference,
                    "output_dir=" + out.resolve("iteration-" + i), "seed=" + (config.seed() + i - 1)));
            last = DpoTrainer.train(step); // resumes, or finds the run finished
            policy = last.modelFolder().toString();
            if (history.size() >= i) {
                lambda = history.get(i - 1).get("next_lambda").asDouble();
                continue;
            }
            double cost = expectedCost(step, last.modelFolder());
            double next = dualStep(lambda, cost, config.threshold(), config.lambdaLr());
            long answers = (long) Data.prompts(config.dualDatasets(), config.seed()).size() * config.dualSamples();
            long relabelled = 2L * labelledPairs(config); // both answers of each pair, by both models
            history.addObject().put("iteration", i).put("lambda", lambda).put("expected_cost", cost)
                    .put("threshold", config.threshold()).put("next_lambda", next).put("responses_sampled", answers)
                    .put("reward_model_calls", relabelled).put("cost_model_calls", relabelled + answers);
            AtomicFiles.writeString(historyFile, history.toPrettyString() + "\n");
            System.out.printf("c-dpo: iteration %d at lambda %.4f: E[c] %.4f (limit %.4f), lambda -> %.4f%n", i, lambda, cost,
                    config.threshold(), next);
            lambda = next;
        }
        Path model = TrainingLoop.modelFolder(config);
        copyFolder(Path.of(policy), model);
        return new TrainingLoop.Result(last.steps(), last.totalSteps(), true, last.lastEval(), model, (System.nanoTime() - started) / 1e9);
    }

    /** The cost model's mean over {@code dual_samples} answers by the policy in {@code model} to each dual prompt. */
    private static double expectedCost(DpoConfig config, Path model) throws IOException {
        List<PromptRecord> prompts = Data.prompts(config.dualDatasets(), config.seed());
        Data.requireSome(prompts, "dual_datasets", config.dualDatasets(), "prompts");
        ai.djl.Device device = saferlhf.model.Device.parse(config.device());
        try (Tokenizer tokenizer = Models.tokenizer(config.tokenizer(), config.modelNameOrPath());
             CausalLM policy = ModelFiles.loadCausalLM(model, device);
             Scorer cost = Scorer.load("cost_model_name_or_path", KitPaths.resolve(config.costModelNameOrPath()), device)) {
            List<PolicySamples.Sample> answers = Mocan.answers(config, policy, tokenizer, prompts, config.seed());
            float[] costs = PolicySamples.endScores(answers, tokenizer, cost, config.perDeviceEvalBatchSize(), config.maxLength());
            double mean = 0;
            for (float c : costs) mean += c / (double) costs.length;
            return mean;
        }
    }

    /** The pairs an iteration's DPO run relabels: its training pairs and its held-out ones. */
    private static int labelledPairs(DpoConfig config) {
        int heldOut = 0;
        for (saferlhf.data.DataRecord r : Data.load(config.evalDatasets(), config.seed())) if (r instanceof saferlhf.data.PreferencePair) heldOut++;
        return Data.preferences(config.trainDatasets(), config.seed()).size() + heldOut;
    }

    /** {@code source}'s files copied to {@code target}, which appears complete or not at all. */
    private static void copyFolder(Path source, Path target) throws IOException {
        Path temporary = AtomicFiles.temporaryFolderFor(target);
        try {
            try (var files = Files.list(source)) {
                for (Path file : (Iterable<Path>) files::iterator) Files.copy(file, temporary.resolve(file.getFileName()));
            }
            AtomicFiles.replaceFolder(temporary, target);
        } finally {
            AtomicFiles.deleteRecursively(temporary);
        }
    }
}
