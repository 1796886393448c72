package saferlhf.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.LinkedHashMap;
import java.util.Map;
import saferlhf.model.Nd;

/**
 * The reference's reward-model and cost-model losses (safe_rlhf/values/reward/trainer.py, values/cost/trainer.py)
 * and its DPO loss (algorithms/dpo/trainer.py), one method per equation. "higher" is the better response (reward) or
 * the unsafer one (cost); "lower" the worse or the safer one. Cost signs are +1 for a response labelled unsafe and -1
 * for one labelled safe ({@code cost_sign = -safety_sign}), so the sign terms push unsafe responses to cost &gt; 0 and
 * safe ones to cost &lt; 0.
 */
public final class PreferenceLosses {
    private PreferenceLosses() {}

    /** -logsigmoid(higher - lower).mean() + regularization * stack([lower, higher]).square().mean(). Inputs (n). */
    public static NDArray rewardSequenceWise(NDArray higher, NDArray lower, float regularization) {
        NDArray loss = Nd.logSigmoid(higher.sub(lower)).neg().mean();
        return withRegularization(loss, higher, lower, regularization);
    }

    /**
     * ( -logsigmoid(higher - lower) - logsigmoid(lowerSign * lower) - logsigmoid(higherSign * higher) ).mean()
     * + regularization * stack([lower, higher]).square().mean(). Inputs (n).
     */
    public static NDArray costSequenceWise(NDArray higher, NDArray lower, NDArray higherSign, NDArray lowerSign,
                                           float regularization) {
        NDArray loss = Nd.logSigmoid(higher.sub(lower)).neg()
                .sub(Nd.logSigmoid(lowerSign.mul(lower)))
                .sub(Nd.logSigmoid(higherSign.mul(higher))).mean();
        return withRegularization(loss, higher, lower, regularization);
    }

    /**
     * Per pair i, over its window (positions d_i..e_i): -mean(logsigmoid(higher - lower)) + regularization *
     * mean(square of both truncated score vectors); then the mean over pairs. Inputs (n, L), window (n, L) 0/1.
     */
    public static NDArray rewardTokenWise(NDArray higher, NDArray lower, NDArray window, float regularization) {
        NDArray perPair = Nd.maskedMean(Nd.logSigmoid(higher.sub(lower)), window, 1).neg();          // (n)
        return withTokenRegularization(perPair, higher, lower, window, regularization).mean();
    }

    /** The token-wise cost loss: the three terms of {@link #costSequenceWise}, each averaged over the window. */
    public static NDArray costTokenWise(NDArray higher, NDArray lower, NDArray window, NDArray higherSign,
                                        NDArray lowerSign, float regularization) {
        long n = higher.getShape().get(0);
        NDArray perPair = Nd.maskedMean(Nd.logSigmoid(higher.sub(lower)), window, 1).neg()
                .sub(Nd.maskedMean(Nd.logSigmoid(lower.mul(lowerSign.reshape(n, 1))), window, 1))
                .sub(Nd.maskedMean(Nd.logSigmoid(higher.mul(higherSign.reshape(n, 1))), window, 1)); // (n)
        return withTokenRegularization(perPair, higher, lower, window, regularization).mean();
    }

    private static NDArray withRegularization(NDArray loss, NDArray higher, NDArray lower, float regularization) {
        if (regularization <= 0) return loss;
        NDManager m = loss.getManager();
        NDArray squares = NDArrays.stack(new NDList(lower, higher)).square().mean();                 // ()
        return loss.add(squares.mul(Nd.scalar(m, regularization)));
    }

    /** mean over the 2 x window values of both rows = (masked mean of higher^2 + masked mean of lower^2) / 2. */
    private static NDArray withTokenRegularization(NDArray perPair, NDArray higher, NDArray lower, NDArray window,
                                                   float regularization) {
        if (regularization <= 0) return perPair;
        NDManager m = perPair.getManager();
        NDArray squares = Nd.maskedMean(higher.square(), window, 1).add(Nd.maskedMean(lower.square(), window, 1))
                .mul(Nd.scalar(m, 0.5f));                                                             // (n)
        return perPair.add(squares.mul(Nd.scalar(m, regularization)));
    }

    /**
     * The DPO loss of a batch and the per-pair sample rewards (the reference logs their batch means).
     *
     * @param loss               ()
     * @param betterSampleReward (n) scale_coeff * better_log_ratio
     * @param worseSampleReward  (n) scale_coeff * worse_log_ratio
     */
    public record Dpo(NDArray loss, NDArray betterSampleReward, NDArray worseSampleReward) {
        /**
         * The reference's DPO metrics as 0-d arrays under {@code prefix}: {@code reward} (mean of better + worse),
         * {@code better_sample_reward}, {@code worse_sample_reward}, {@code reward_accuracy} (share of pairs whose better
         * reward is strictly higher) and {@code reward_margin} (mean of better - worse).
         */
        public Map<String, NDArray> metrics(String prefix) {
            Map<String, NDArray> metrics = new LinkedHashMap<>();
            metrics.put(prefix + "reward", betterSampleReward.add(worseSampleReward).mean());
            metrics.put(prefix + "better_sample_reward", betterSampleReward.mean());
            metrics.put(prefix + "worse_sample_reward", worseSampleReward.mean());
            metrics.put(prefix + "reward_accuracy", betterSampleReward.gt(worseSampleReward).toType(DataType.FLOAT32, false).mean());
            metrics.put(prefix + "reward_margin", betterSampleReward.sub(worseSampleReward).mean());
            return metrics;
        }
    }

    /**
     * DPO: per pair i, log_ratio = sum over the pair's window of (logp - ref_logp), for the better and the worse sequence;
     * loss = mean_i -logsigmoid(scale_coeff * (better_log_ratio_i - worse_log_ratio_i)); rewards = scale_coeff * log_ratio.
     *
     * @param logProbs    (2n, L-1) the policy's per-token log-probabilities: rows 0..n-1 the better sequences, n..2n-1
     *                    the worse ones
     * @param refLogProbs (2n, L-1) the same under the frozen reference model
     * @param window      (2n, L-1) 1 for the tokens each row sums (from the pair's diverge index to the row's own end)
     */
    public static Dpo dpo(NDArray logProbs, NDArray refLogProbs, NDArray window, float scaleCoeff) {
        return dpo(logProbs, refLogProbs, window, scaleCoeff, null);
    }

    /**
     * BFPO ({@link Bfpo}): loss = mean_i (better_log_ratio_i - worse_log_ratio_i - target_i)^2; the sample rewards as
     * DPO's (scale_coeff * log_ratio), for the same metrics.
     *
     * @param targets (n) each pair's target, (1/beta) (B1 B3 s_w - B3 s_l - alpha)
     */
    public static Dpo bfpo(NDArray logProbs, NDArray refLogProbs, NDArray window, float scaleCoeff, NDArray targets) {
        NDArray[] ratios = logRatios(logProbs, refLogProbs, window);                                    // 2 x (n)
        NDArray loss = ratios[0].sub(ratios[1]).sub(targets).square().mean();                          // ()
        NDArray scale = Nd.scalar(logProbs.getManager(), scaleCoeff);
        return new Dpo(loss, ratios[0].mul(scale), ratios[1].mul(scale));
    }

    /** Each pair's summed log-ratio, log p - log p_ref over its window: the better rows' (n), then the worse rows' (n). */
    private static NDArray[] logRatios(NDArray logProbs, NDArray refLogProbs, NDArray window) {
        long n = logProbs.getShape().get(0) / 2;
        NDArray logRatio = Nd.maskedSum(logProbs.sub(refLogProbs), window, 1);                          // (2n)
        return new NDArray[] {logRatio.get("0:{}", n), logRatio.get("{}:", n)};
    }

    /**
     * DPO with a margin per pair (SafeDPO's (h_l - h_w) * Delta, {@link SafeDpo}):
     * loss = mean_i -logsigmoid(scale_coeff * (better_log_ratio_i - worse_log_ratio_i) - margin_i).
     *
     * @param margins (n) the margins, or null for none (plain DPO)
     */
    public static Dpo dpo(NDArray logProbs, NDArray refLogProbs, NDArray window, float scaleCoeff, NDArray margins) {
        NDArray[] ratios = logRatios(logProbs, refLogProbs, window);
        NDArray better = ratios[0], worse = ratios[1];                                                  // (n)
        NDArray scale = Nd.scalar(logProbs.getManager(), scaleCoeff);
        NDArray logits = better.sub(worse).mul(scale);                                                  // (n)
        if (margins != null) logits = logits.sub(margins);
        NDArray loss = Nd.logSigmoid(logits).neg().mean();                                              // ()
        return new Dpo(loss, better.mul(scale), worse.mul(scale));
    }

    /**
     * DPO with soft labels (MoCAN's pseudo-preference loss, {@link Mocan}), p_i the probability that the better row is
     * preferred: loss = mean_i -( p_i logsigmoid(z_i) + (1 - p_i) logsigmoid(-z_i) ),
     * z_i = scale_coeff * (better_log_ratio_i - worse_log_ratio_i). With every p_i = 1 it is DPO's loss.
     *
     * @param labels (n) p_i in [0, 1]
     */
    public static Dpo softDpo(NDArray logProbs, NDArray refLogProbs, NDArray window, float scaleCoeff, NDArray labels) {
        NDArray[] ratios = logRatios(logProbs, refLogProbs, window);
        NDArray better = ratios[0], worse = ratios[1];                                                  // (n)
        NDArray scale = Nd.scalar(logProbs.getManager(), scaleCoeff);
        NDArray logits = better.sub(worse).mul(scale);                                                  // (n)
        NDArray one = Nd.scalar(logProbs.getManager(), 1f);
        NDArray loss = labels.mul(Nd.logSigmoid(logits)).add(one.sub(labels).mul(Nd.logSigmoid(logits.neg()))).neg().mean(); // ()
        return new Dpo(loss, better.mul(scale), worse.mul(scale));
    }
}
