package saferlhf.rl;

import ai.djl.ndarray.NDArray;
import saferlhf.model.Nd;

/**
 * The equations of PPO and PPO-Lagrangian as the reference codes them ({@code trainers/rl_trainer.py},
 * {@code algorithms/ppo_lag/trainer.py}), one method per equation, each with the equation in its comment. Per-token
 * arrays are rows of length T-1 (position t predicts token t+1); {@code start} = prompt length - 1 is the first
 * response position.
 */
public final class PpoMath {
    private PpoMath() {}

    /** gamma and the GAE lambda: hard-coded in the reference's RLTrainer (no command-line option). */
    public static final double GAMMA = 1.0;
    public static final double GAE_LAMBDA = 0.95;

    /** The last true position of a (T-1) sequence mask: where the end-of-sequence score is added. */
    public static int endIndex(float[] sequenceMask) {
        for (int t = sequenceMask.length - 1; t >= 0; t--) if (sequenceMask[t] != 0) return t;
        return 0;
    }

    /**
     * KL folded into the per-token rewards (add_kl_divergence_regularization):
     * <pre>
     * r_t = clamp( -kl_coeff * (log_prob_t - ref_log_prob_t) + [t == end] * score,  -clip_range_score, clip_range_score)
     * </pre>
     * For costs the reference folds the KL with the opposite sign ({@code scatter_add(-kl_penalty_rewards, end, cost)}):
     * {@code c_t = +kl_coeff * kl_t + [t == end] * cost}; pass {@code forCost = true}.
     *
     * @return (T-1) per-token rewards (or costs)
     */
    public static float[] klRegularizedScores(double score, float[] logProbs, float[] refLogProbs, float[] sequenceMask,
                                              double klCoeff, double clipRangeScore, boolean forCost) {
        int length = logProbs.length, end = endIndex(sequenceMask);
        float[] out = new float[length];
        for (int t = 0; t < length; t++) {
            double klPenalty = -klCoeff * (logProbs[t] - refLogProbs[t]);
            double value = (forCost ? -klPenalty : klPenalty) + (t == end ? score : 0.0);
            out[t] = (float) Math.max(-clipRangeScore, Math.min(clipRangeScore, value));
        }
        return out;
    }

    /** Advantages and returns of one sequence, for positions start..T-2 (length T-1-start). */
    public record Gae(float[] advantages, float[] returns) {}

    /**
     * Generalised advantage estimation (get_advantages_and_returns), written out:
     * <pre>
     * V = V * mask;  r = r * mask
     * for t = T-2 down to start:
     *     delta_t = r_t + gamma * V_{t+1} - V_t          (V_{T-1} = 0)
     *     A_t     = delta_t + gamma * lambda * A_{t+1}
     * returns = A + V[start:]
     * </pre>
     */
    public static Gae gae(float[] values, float[] rewards, float[] sequenceMask, int start) {
        int length = rewards.length;
        float[] advantages = new float[length - start];
        float[] returns = new float[length - start];
        double lastGae = 0;
        for (int t = length - 1; t >= start; t--) {
            double value = values[t] * sequenceMask[t];
            double nextValue = t < length - 1 ? values[t + 1] * sequenceMask[t + 1] : 0.0;
            double delta = rewards[t] * sequenceMask[t] + GAMMA * nextValue - value;
            lastGae = delta + GAMMA * GAE_LAMBDA * lastGae;
            advantages[t - start] = (float) lastGae;
            returns[t - start] = (float) (lastGae + value);
        }
        return new Gae(advantages, returns);
    }

    /**
     * The Lagrange multiplier's SGD step on {@code lambda_loss = -(J_C - threshold) * exp(log_lambda)}:
     * <pre>
     * log_lambda <- log_lambda + lambda_lr * exp(log_lambda) * (J_C - threshold),  then  log_lambda <= log(lambda_max)
     * </pre>
     * lambda rises while the episode cost J_C is above the threshold and falls once it is below; it stays positive.
     *
     * @param lambdaMax 0 or less for no upper bound
     */
    public static double lagrangeMultiplierStep(double logLambda, double episodeCost, double threshold, double lambdaLr,
                                                double lambdaMax) {
        double gradient = -(episodeCost - threshold) * Math.exp(logLambda);
        double updated = logLambda - lambdaLr * gradient;
        return lambdaMax > 0 ? Math.min(updated, Math.log(lambdaMax)) : updated;
    }

    /**
     * RePO's rectified cost of one answer, its violation of the per-answer constraint c <= d:
     * <pre>
     * C+ = max(0, c - d)
     * </pre>
     * 0 for every answer within the limit, however safe, so a safe answer is never pushed to be safer.
     */
    public static double rectifiedCost(double cost, double threshold) {
        return Math.max(0, cost - threshold);
    }

    /** PPO-Lagrangian's actor advantages: (A_r - lambda * A_c) / (1 + lambda). */
    public static float combinedAdvantage(float rewardAdvantage, float costAdvantage, double lambda) {
        return (float) ((rewardAdvantage - lambda * costAdvantage) / (1.0 + lambda));
    }

    /**
     * The clipped surrogate (actor_loss_fn), with the reference's per-sample masked mean:
     * <pre>
     * ratio = exp(log_probs - old_log_probs)
     * loss  = -masked_mean( min(A * ratio, A * clamp(ratio, 1 - eps, 1 + eps)), mask )
     * masked_mean(x, m) = ((x * m).sum(-1) / m.sum(-1)).mean()
     * </pre>
     * All arrays (B, N), N = response positions; only {@code logProbs} carries gradients.
     */
    public static NDArray actorLoss(NDArray logProbs, NDArray oldLogProbs, NDArray advantages, NDArray mask,
                                    double clipRangeRatio) {
        NDArray ratios = logProbs.sub(oldLogProbs).exp();                                          // (B, N)
        NDArray surrogate1 = advantages.mul(ratios);                                                // (B, N)
        NDArray surrogate2 = advantages.mul(ratios.clip(1.0 - clipRangeRatio, 1.0 + clipRangeRatio)); // (B, N)
        return Nd.maskedMean(surrogate1.minimum(surrogate2), mask, 1).mean().neg();                // ()
    }

    /**
     * The clipped value loss (critic_loss_fn), for the reward and the cost critic alike:
     * <pre>
     * V_clipped = clamp(V, V_old - eps_v, V_old + eps_v)
     * loss = 0.5 * masked_mean( max((V - R)^2, (V_clipped - R)^2), mask )
     * </pre>
     */
    public static NDArray criticLoss(NDArray values, NDArray oldValues, NDArray returns, NDArray mask, double clipRangeValue) {
        NDArray lower = oldValues.sub(Nd.scalar(oldValues.getManager(), (float) clipRangeValue));   // (B, N)
        NDArray upper = oldValues.add(Nd.scalar(oldValues.getManager(), (float) clipRangeValue));   // (B, N)
        NDArray clipped = values.maximum(lower).minimum(upper);                                     // (B, N)
        NDArray loss1 = values.sub(returns).square();                                               // (B, N)
        NDArray loss2 = clipped.sub(returns).square();                                              // (B, N)
        return Nd.maskedMean(loss1.maximum(loss2), mask, 1).mean().mul(Nd.scalar(values.getManager(), 0.5f)); // ()
    }
}
