package saferlhf.rl;

import ai.djl.ndarray.NDArray;
import saferlhf.model.Nd;

/**
 * The equations of the group-relative PPO-Lagrangian ({@code algorithm=grpo-lag}): PPO-Lagrangian with GRPO's
 * critic-free advantages (Shao et al., DeepSeekMath, arXiv 2402.03300, section 4.1) for the reward and for the cost.
 * Each prompt is answered G times ({@code group_size}); a response's reward and cost advantages are its score's
 * standard score within its group, the same for each of its tokens; the actor combines them with lambda as
 * PPO-Lagrangian does ({@link PpoMath#combinedAdvantage}); the KL to the reference policy is a term of the loss (GRPO's
 * k3 estimator) rather than folded into per-token rewards, since without a critic there is no per-token return to fold
 * it into. lambda learns from the episode costs as in PPO-Lagrangian. There is no reward or cost critic to train.
 */
public final class GroupRelative {
    private GroupRelative() {}

    /** Added to a group's standard deviation, as TRL's GRPOTrainer adds it (a group of equal scores gets advantage 0). */
    public static final double STD_EPSILON = 1e-4;

    /**
     * Group-normalised scores, groups being consecutive runs of {@code groupSize} rows:
     * <pre>
     * A_i = (s_i - mean(s_group)) / (std(s_group) + 1e-4)      std with Bessel's correction, as torch.std
     * </pre>
     *
     * @param scores (B) one score per response, B a multiple of {@code groupSize}
     * @return (B) advantages
     */
    public static float[] normalizedInGroups(float[] scores, int groupSize) {
        if (groupSize < 2 || scores.length % groupSize != 0) {
            throw new IllegalArgumentException("group_size must be >= 2 and divide the rollout's " + scores.length + " responses");
        }
        float[] advantages = new float[scores.length];
        for (int g = 0; g < scores.length; g += groupSize) {
            double mean = 0, squares = 0;
            for (int i = g; i < g + groupSize; i++) mean += scores[i] / (double) groupSize;
            for (int i = g; i < g + groupSize; i++) squares += (scores[i] - mean) * (scores[i] - mean);
            double std = Math.sqrt(squares / (groupSize - 1));
            for (int i = g; i < g + groupSize; i++) advantages[i] = (float) ((scores[i] - mean) / (std + STD_EPSILON));
        }
        return advantages;
    }

    /**
     * The clipped surrogate with GRPO's KL term, per-response masked mean as {@link PpoMath#actorLoss}:
     * <pre>
     * ratio = exp(log_probs - old_log_probs)
     * kl_t  = exp(ref_t - log_probs_t) - (ref_t - log_probs_t) - 1                 (k3: unbiased, always >= 0)
     * loss  = -masked_mean( min(A * ratio, A * clamp(ratio, 1 - eps, 1 + eps)) - beta * kl, mask )
     * </pre>
     * All arrays (B, N), N = response positions; only {@code logProbs} carries gradients.
     */
    public static NDArray actorLoss(NDArray logProbs, NDArray oldLogProbs, NDArray refLogProbs, NDArray advantages,
                                    NDArray mask, double clipRangeRatio, double klCoeff) {
        NDArray ratios = logProbs.sub(oldLogProbs).exp();                                          // (B, N)
        NDArray surrogate = advantages.mul(ratios)
                .minimum(advantages.mul(ratios.clip(1.0 - clipRangeRatio, 1.0 + clipRangeRatio)));  // (B, N)
        NDArray logRatio = refLogProbs.sub(logProbs);                                               // (B, N)
        NDArray kl = logRatio.exp().sub(logRatio).sub(Nd.scalar(logProbs.getManager(), 1f));        // (B, N)
        NDArray objective = surrogate.sub(kl.mul(Nd.scalar(logProbs.getManager(), (float) klCoeff))); // (B, N)
        return Nd.maskedMean(objective, mask, 1).mean().neg();                                      // ()
    }
}
