package saferlhf.train;

import java.util.Optional;
import saferlhf.data.PreferencePair;

/**
 * SafeDPO (Kim et al., "SafeDPO: A Simple Approach to Direct Preference Optimization with Enhanced Safety", arXiv
 * 2505.20065): DPO on the helpfulness preference pairs after a safety-aware transformation, with a safety margin. With
 * h = 1 for an unsafe response and (y_w, y_l) ordered by helpfulness:
 * <pre>
 * T(D):  h_w = 0            keep (y_w, y_l)
 *        h_w = 1, h_l = 0   swap: the safe response wins
 *        h_w = 1, h_l = 1   drop the pair
 * loss = -logsigmoid( beta * (log_ratio(y~_w) - log_ratio(y~_l)) - (h~_l - h~_w) * Delta )
 * </pre>
 * After T every winner is safe, so the margin Delta applies exactly to the pairs whose loser is unsafe: they must be
 * separated by Delta more before the loss lets go. The paper shows Delta does not move the optimum (it strengthens
 * the push on safe/unsafe pairs); its experiments use beta 0.1 and Delta 10.
 *
 * <p>Where the kit had to choose: the paper's text was read through summaries of its ICLR 2026 version (the arXiv
 * HTML gave only the introduction); the transformation and loss above are as those summaries give them (dropping
 * both-unsafe pairs included). log_ratio is DPO's: the sum over the response tokens from the pairs' first differing
 * token ({@link DpoTrainer}). Delta keeps the paper's 10 on BeaverWorld.
 */
public final class SafeDpo {
    private SafeDpo() {}

    /** The paper's Delta. */
    public static final double DEFAULT_MARGIN = 10.0;

    /**
     * A pair in SafeDPO's order.
     *
     * @param winner the response id that wins after T (0 or 1)
     * @param margin (h~_l - h~_w) * Delta: Delta when the losing response is unsafe, else 0
     */
    public record Ordered(int winner, double margin) {}

    /** T applied to one pair, with its margin; empty when both responses are unsafe (the pair is dropped). */
    public static Optional<Ordered> order(PreferencePair pair, double delta) {
        int better = pair.betterResponseId(), worse = 1 - better;
        boolean betterUnsafe = !pair.isResponseSafe(better), worseUnsafe = !pair.isResponseSafe(worse);
        if (betterUnsafe && worseUnsafe) return Optional.empty();
        int winner = betterUnsafe ? worse : better;                 // swap when only the more helpful one is unsafe
        boolean loserUnsafe = !pair.isResponseSafe(1 - winner);
        return Optional.of(new Ordered(winner, loserUnsafe ? delta : 0.0));
    }
}
