package saferlhf.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import saferlhf.eval.PolicySamples;
import saferlhf.model.CausalLM;
import saferlhf.model.Tokenizer;

/**
 * PeCAN, preference-based constrained alignment via dualization (Huang et al., arXiv 2405.19544; the official code
 * {@code shuoli90/CAN}: {@code dpo_alg2.py} and the {@code preference_based_dual_trainer} notebooks): MoCAN ({@link Mocan})
 * without a reward or a cost model. Two DPO policies trained from the same SFT model stand in for them, pi_r on the
 * helpfulness order and pi_g on the safety order; their log-ratios to the SFT policy are implicit scores (DPO's optimum
 * pi_r = pi_ref exp(r / beta) / Z_r, so beta log pi_r / pi_ref = r - beta log Z_r):
 * <pre>
 * h_r(x, y) = sum_t log pi_r(y_t | .) - log pi_ref(y_t | .)          over the response tokens
 * s(x, y)   = sum_t log pi_g(y_t | .) - log pi_ref(y_t | .)
 * dual:     min_{lambda >= 0}  mean_x log mean_k exp(h_r + lambda s)  +  lambda (KL(pi_ref || pi_g) - b / beta)
 *           D'(lambda) = E_{pi_lambda}[s] - E_ref[s] - b / beta       (KL(pi_ref || pi_g) = -E_ref[s])
 * labels:   p_i = sigmoid((h_r(better) - h_r(worse)) + lambda* (s(better) - s(worse)))
 * </pre>
 * then DPO at beta on the soft labels, as MoCAN. The constraint is a safety improvement of b over the SFT policy in
 * the safety policy's implicit units ({@code safety_improvement}); the kit solves it with MoCAN's bisection, the
 * "reward" h_r and the "cost" -s at temperature 1, the limit E_ref[-s] - b / beta.
 *
 * <p>Where the kit chose (docs/methods.md): the labels have no factor beta, as the official code computes them, though
 * beta (h_r + lambda s) would be the consistent pseudo-preference of the dual's pi_lambda (the code's labels are
 * beta-times sharper; the paper's text was not readable here); soft labels and bisection, as for MoCAN; the log-ratios
 * of the starting policy's answers are taken over their decoded text re-encoded, as the pairs' are.
 */
public final class Pecan {
    private Pecan() {}

    /** The safety improvement b of the full and paper presets: the official notebook's example margin. */
    public static final double DEFAULT_IMPROVEMENT = 0.5;

    /**
     * The quick preset's b: the quick safety DPO policy (one epoch over a tenth of the pairs) moves its log-ratios to the
     * SFT policy's answers little, so that on seed 42's quick models reweighting 8 answers a prompt can raise the mean
     * implicit safety s by about 0.5 nats at most, and 0.5 / beta = 5 nats is out of reach; 0.02 asks for 0.2. (On
     * seed 42's full models 0.5 is reached at lambda* 2.33.)
     */
    public static final double QUICK_IMPROVEMENT = 0.02;

    /** The per-token log-probabilities of a batch under one model: a policy's, or the trainer's frozen reference. */
    interface LogProbs {
        NDArray of(NDArray ids, NDArray mask); // (B, L) -> (B, L-1)
    }

    /** PeCAN's scores: "reward" h_r (the helpfulness policy's log-ratio), "cost" -s (minus the safety policy's). */
    static Mocan.Scores scores(CausalLM helpful, CausalLM safe, LogProbs reference, Tokenizer tokenizer, int batchSize, int maxLength) {
        return answers -> {
            double[] cost = logRatios(answers, safe::logProbs, reference, tokenizer, safe.manager(), batchSize, maxLength);
            for (int i = 0; i < cost.length; i++) cost[i] = -cost[i];
            return new double[][] {logRatios(answers, helpful::logProbs, reference, tokenizer, helpful.manager(), batchSize, maxLength), cost};
        };
    }

    /** Each answer's log-ratio sum_t log pi(y_t) - log pi_ref(y_t) over its response tokens, (prompt, response) re-encoded. */
    static double[] logRatios(List<PolicySamples.Sample> answers, LogProbs policy, LogProbs reference, Tokenizer tokenizer,
                              NDManager manager, int batchSize, int maxLength) {
        double[] out = new double[answers.size()];
        for (int from = 0; from < answers.size(); from += batchSize) {
            List<Tokenizer.Sft> chunk = new ArrayList<>();
            for (PolicySamples.Sample a : answers.subList(from, Math.min(answers.size(), from + batchSize))) {
                chunk.add(tokenizer.encodeSft(a.prompt().prompt(), a.response(), maxLength));
            }
            Tokenizer.Batch batch = tokenizer.pad(chunk.stream().map(Tokenizer.Sft::ids).toList(), maxLength, Tokenizer.Padding.RIGHT);
            int width = batch.length() - 1;
            try (NDManager step = manager.newSubManager()) {
                NDArray ids = batch.ids(step), mask = batch.mask(step);                              // (B, L)
                float[] logProbs = policy.of(ids, mask).toFloatArray();                              // (B, L-1)
                float[] refLogProbs = reference.of(ids, mask).toFloatArray();                        // (B, L-1)
                for (int b = 0; b < chunk.size(); b++) {
                    boolean[] trained = chunk.get(b).trained();
                    double sum = 0;
                    for (int t = 0; t < width && t + 1 < trained.length; t++) {
                        if (trained[t + 1]) sum += logProbs[b * width + t] - refLogProbs[b * width + t]; // column t scores token t+1
                    }
                    out[from + b] = sum;
                }
            }
        }
        return out;
    }
}
