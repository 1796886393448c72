package saferlhf.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import saferlhf.model.Nd;

/**
 * The reference's reward-model and cost-model losses (safe_rlhf/values/reward/trainer.py, values/cost/trainer.py),
 * one method per equation. "higher" is the better response (reward) or the unsafer one (cost); "lower" the worse or
 * the safer one. Cost signs are +1 for a response labelled unsafe and -1 for one labelled safe
 * ({@code cost_sign = -safety_sign}), so the sign terms push unsafe responses to cost &gt; 0 and safe ones to cost &lt; 0.
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
}
