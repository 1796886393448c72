package saferlhf.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import saferlhf.KitPaths;
import saferlhf.data.PreferencePair;
import saferlhf.data.PromptRecord;
import saferlhf.data.SftRecord;
import saferlhf.eval.PolicySamples;
import saferlhf.model.CausalLM;
import saferlhf.model.Generation;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;
import saferlhf.util.AtomicFiles;
import saferlhf.util.InputError;
import saferlhf.util.JsonFiles;

/**
 * MoCAN, model-based constrained alignment via dualization (Huang et al., "One-Shot Safety Alignment for Large Language
 * Models via Optimal Dualization", NeurIPS 2024, arXiv 2405.19544; the official code {@code shuoli90/CAN}: its
 * {@code model_based_dual_trainer} notebook and {@code algorithms/cdpo/dpo.py}). The constrained problem
 * max E[r] - beta KL(pi || pi_ref) subject to E_pi[c] <= d has the closed-form optimum
 * pi_lambda ~ pi_ref exp((r - lambda c) / beta) for each lambda, so its dual is a function of one number:
 * <pre>
 * D(lambda)  = beta * mean_x log mean_k exp((r(x, y_k) - lambda (c(x, y_k) - d)) / beta)     y_k ~ pi_ref(.|x)
 * D'(lambda) = d - E_{pi_lambda}[c],   E_{pi_lambda}[c] = mean_x sum_k softmax_k((r - lambda c) / beta) c(x, y_k)
 * lambda*    = argmin_{lambda >= 0} D(lambda)
 * </pre>
 * Then one unconstrained alignment: DPO at the same beta on the preference pairs with soft labels from r - lambda* c,
 * <pre>
 * w       = r(x, y) - lambda* c(x, y)
 * p_i     = sigmoid(w(better_i) - w(worse_i))
 * loss    = mean_i -( p_i logsigmoid(beta h_i) + (1 - p_i) logsigmoid(-beta h_i) ),   h = better log-ratio - worse log-ratio
 * </pre>
 * whose optimum is pi_ref exp((r - lambda* c) / beta): the dual's pi_lambda*.
 *
 * <p>Where the kit chose (docs/methods.md): the constraint is PPO-Lagrangian's absolute cost limit d, not the paper's
 * safety improvement b over the reference (the same constraint with b = E_ref[c] - d; dual.json records E_ref[c]);
 * lambda* is found by bisection on D' (D is convex and E_{pi_lambda}[c] falls as lambda grows), where the official
 * code runs projected gradient descent with step-halving restarts (the same minimiser); the labels are soft (the
 * expectation of the loss), where the official code draws one Bernoulli(p_i) label per pair when it loads the data;
 * the samples come from the starting policy at the config's sampling settings (the official: 128 answers to each of
 * 1,000 prompts). The dual is solved once, before training, and kept in {@code output_dir/dual.json}, which a resumed
 * run reads.
 */
public final class Mocan {
    private Mocan() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The upper end of the search for lambda*: a threshold that needs more is refused as out of the samples' reach. */
    static final double LAMBDA_LIMIT = 1e4;

    /** The dual's solution: lambda*, D(lambda*), the cost under pi_lambda* and under the reference (both estimated). */
    public record Dual(double lambda, double value, double tiltedCost, double referenceCost) {}

    /**
     * E_{pi_lambda}[c]: each prompt's samples reweighted by softmax((r - lambda c) / beta), averaged over prompts.
     *
     * @param rewards (X, K) rewards of K samples for each of X prompts
     * @param costs   (X, K) their costs
     */
    static double tiltedCost(double[][] rewards, double[][] costs, double lambda, double beta) {
        double sum = 0;
        for (int x = 0; x < rewards.length; x++) {
            double[] logits = new double[rewards[x].length];
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < logits.length; k++) max = Math.max(max, logits[k] = (rewards[x][k] - lambda * costs[x][k]) / beta);
            double weights = 0, weighted = 0;
            for (int k = 0; k < logits.length; k++) {
                double w = Math.exp(logits[k] - max);
                weights += w;
                weighted += w * costs[x][k];
            }
            sum += weighted / weights;
        }
        return sum / rewards.length;
    }

    /** D(lambda) = beta * mean_x log mean_k exp((r - lambda (c - d)) / beta), with the log-mean-exp shifted by its max. */
    static double dualValue(double[][] rewards, double[][] costs, double lambda, double threshold, double beta) {
        double sum = 0;
        for (int x = 0; x < rewards.length; x++) {
            int k = rewards[x].length;
            double[] logits = new double[k];
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < k; i++) max = Math.max(max, logits[i] = (rewards[x][i] - lambda * (costs[x][i] - threshold)) / beta);
            double mean = 0;
            for (double l : logits) mean += Math.exp(l - max) / k;
            sum += beta * (max + Math.log(mean));
        }
        return sum / rewards.length;
    }

    /**
     * lambda* = argmin_{lambda >= 0} D(lambda): 0 when the reference's reweighting at lambda = 0 already meets the limit,
     * else the root of D'(lambda) = d - E_{pi_lambda}[c] by bisection (to 1e-10). Refused when even lambda = 1e4 cannot
     * bring the reweighted cost down to d: the samples hold no answers safe enough (sample more, or raise the threshold).
     */
    public static Dual solve(double[][] rewards, double[][] costs, double threshold, double beta) {
        double referenceCost = 0; // E_ref[c]: the plain mean
        for (double[] row : costs) for (double c : row) referenceCost += c / row.length / costs.length;
        double low = 0, high = 1;
        if (tiltedCost(rewards, costs, 0, beta) > threshold) {
            while (tiltedCost(rewards, costs, high, beta) > threshold) {
                if (high >= LAMBDA_LIMIT) {
                    throw new InputError(String.format("no lambda up to %.0f brings the samples' cost to the threshold %.3f "
                            + "(at that lambda: %.3f; under the reference: %.3f): the threshold is below what reweighting the "
                            + "starting policy's answers can reach; raise threshold or sample more (dual_samples)",
                            LAMBDA_LIMIT, threshold, tiltedCost(rewards, costs, high, beta), referenceCost));
                }
                low = high;
                high *= 2;
            }
            while (high - low > 1e-10) {
                double mid = (low + high) / 2;
                if (tiltedCost(rewards, costs, mid, beta) > threshold) low = mid;
                else high = mid;
            }
        } else {
            high = 0;
        }
        return new Dual(high, dualValue(rewards, costs, high, threshold, beta), tiltedCost(rewards, costs, high, beta), referenceCost);
    }

    /** Each pair's label p = sigmoid(w(better) - w(worse)), w = r - lambda c. */
    static float label(double betterReward, double betterCost, double worseReward, double worseCost, double lambda) {
        double margin = (betterReward - lambda * betterCost) - (worseReward - lambda * worseCost);
        return (float) (1 / (1 + Math.exp(-margin)));
    }

    /**
     * What the dual and the labels weigh each answer by: a score the policy raises ("reward") and one the constraint
     * holds down ("cost"). MoCAN: the reward and cost models' ({@link #modelScores}); PeCAN: the implicit ones of two DPO
     * policies ({@link Pecan}).
     */
    interface Scores {
        /** {rewards, costs} of the answers, each (n). */
        double[][] of(List<PolicySamples.Sample> answers);
    }

    /** The reward and cost models' end scores of the answers: MoCAN's. */
    static Scores modelScores(Scorer reward, Scorer cost, Tokenizer policy, int batchSize, int maxLength) {
        return answers -> new double[][] {toDoubles(PolicySamples.endScores(answers, policy, reward, batchSize, maxLength)),
                toDoubles(PolicySamples.endScores(answers, policy, cost, batchSize, maxLength))};
    }

    private static double[] toDoubles(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) out[i] = values[i];
        return out;
    }

    /**
     * lambda* for {@code config}'s run: read from {@code output_dir/dual.json} when a run before this one solved it, else
     * solved now on {@code dual_samples} answers by {@code policy} (the starting policy, the reference) to each
     * {@code dual_datasets} prompt, and written there with {@code record} (what the run samples and scores).
     *
     * @param beta  the dual's temperature
     * @param limit the cost limit, given the reference answers' mean cost (MoCAN: the threshold d whatever it is)
     */
    static Dual dual(DpoConfig config, CausalLM policy, Tokenizer tokenizer, Scores scores, double beta,
                     java.util.function.DoubleUnaryOperator limit, ObjectNode record) throws IOException {
        Path file = KitPaths.resolve(config.outputDir()).resolve("dual.json");
        if (Files.isRegularFile(file)) {
            JsonNode saved = JsonFiles.read(file);
            return new Dual(saved.get("lambda").asDouble(), saved.get("dual_value").asDouble(), saved.get("tilted_cost").asDouble(),
                    saved.get("reference_cost").asDouble());
        }
        List<PromptRecord> prompts = Data.prompts(config.dualDatasets(), config.seed());
        Data.requireSome(prompts, "dual_datasets", config.dualDatasets(), "prompts");
        int k = config.dualSamples();
        long started = System.nanoTime();
        List<PolicySamples.Sample> samples = answers(config, policy, tokenizer, prompts, config.seed());
        double[][] scored = scores.of(samples);
        double[][] rewards = new double[prompts.size()][k], costs = new double[prompts.size()][k];
        double referenceCost = 0;
        for (int i = 0; i < samples.size(); i++) {
            rewards[i / k][i % k] = scored[0][i];
            costs[i / k][i % k] = scored[1][i];
            referenceCost += scored[1][i] / samples.size();
        }
        double threshold = limit.applyAsDouble(referenceCost);
        Dual dual;
        try {
            dual = solve(rewards, costs, threshold, beta);
        } catch (InputError e) {
            throw new InputError(config.algorithm() + ": " + e.getMessage());
        }
        ObjectNode json = JSON.createObjectNode();
        json.put("lambda", dual.lambda());
        json.put("dual_value", dual.value());
        json.put("tilted_cost", dual.tiltedCost());
        json.put("reference_cost", dual.referenceCost());
        json.put("threshold", threshold);
        json.put("beta", beta);
        json.put("prompts", prompts.size());
        json.put("samples_per_prompt", k);
        json.put("responses_sampled", samples.size());
        json.setAll(record);
        json.put("seconds", (System.nanoTime() - started) / 1e9);
        Files.createDirectories(file.getParent());
        AtomicFiles.writeString(file, json.toPrettyString() + "\n");
        System.out.printf("%s: lambda* = %.4f from %d x %d answers (cost under the reference %.3f, reweighted %.3f, limit %.3f)%n",
                config.algorithm(), dual.lambda(), prompts.size(), k, dual.referenceCost(), dual.tiltedCost(), threshold);
        return dual;
    }

    /**
     * {@code dual_samples} answers by {@code policy} to each prompt, in prompt order (each prompt's answers together),
     * sampled at temperature 1 with top-k 50, prompts cut to half of {@code max_length}.
     */
    static List<PolicySamples.Sample> answers(DpoConfig config, CausalLM policy, Tokenizer tokenizer, List<PromptRecord> prompts,
                                              long seed) {
        List<PromptRecord> repeated = new ArrayList<>(prompts.size() * config.dualSamples());
        for (PromptRecord p : prompts) for (int i = 0; i < config.dualSamples(); i++) repeated.add(p);
        int maxPrompt = config.maxLength() / 2;
        return PolicySamples.generate(policy, tokenizer, repeated, Generation.Config.sampling(config.maxLength() - maxPrompt, seed),
                config.perDeviceEvalBatchSize(), maxPrompt, config.maxLength());
    }

    /**
     * MoCAN's dual: the reward and cost models score the answers ({@link #modelScores}), the limit is {@code threshold},
     * beta {@code scale_coeff}; {@code pairs} are the pairs the labels will score, two answers each.
     */
    static Dual dual(DpoConfig config, CausalLM policy, Tokenizer tokenizer, Scores modelScores, int pairs) throws IOException {
        long answers = (long) Data.prompts(config.dualDatasets(), config.seed()).size() * config.dualSamples();
        ObjectNode record = JSON.createObjectNode().put("labelled_pairs", pairs)
                .put("reward_model_calls", answers + 2L * pairs).put("cost_model_calls", answers + 2L * pairs);
        return dual(config, policy, tokenizer, modelScores, config.scaleCoeff(), reference -> config.threshold(), record);
    }

    /** The soft labels of {@code pairs} (better = {@code better_response_id}): sigmoid(w(better) - w(worse)), w = r - lambda c. */
    static float[] labels(List<PreferencePair> pairs, Scores scores, double lambda) {
        List<PolicySamples.Sample> answers = new ArrayList<>(2 * pairs.size());
        for (PreferencePair p : pairs) answers.add(textAnswer(p, p.betterResponseId()));
        for (PreferencePair p : pairs) answers.add(textAnswer(p, 1 - p.betterResponseId()));
        double[][] scored = scores.of(answers);
        int n = pairs.size();
        float[] labels = new float[n];
        for (int i = 0; i < n; i++) labels[i] = label(scored[0][i], scored[1][i], scored[0][n + i], scored[1][n + i], lambda);
        return labels;
    }

    /** A pair's response as an answer held as text (scored as (prompt, response) text). */
    private static PolicySamples.Sample textAnswer(PreferencePair pair, int response) {
        return new PolicySamples.Sample(new PromptRecord(pair.prompt()), pair.response(response), true, 0);
    }
}
