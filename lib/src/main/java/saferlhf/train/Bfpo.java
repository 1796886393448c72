package saferlhf.train;

import saferlhf.data.PreferencePair;

/**
 * BFPO, the bi-factorial preference optimisation (Zhang et al., "Bi-Factorial Preference Optimization: Balancing Safety
 * and Helpfulness in Language Models", arXiv 2408.15313; the official code's {@code trainer/bfpo.py}): a supervised,
 * IPO-shaped objective over the helpfulness pairs whose regression target encodes the global ranking "safe and helpful >
 * safe > unsafe". With (y_w, y_l) ordered by helpfulness and s = 1 for a safe response:
 * <pre>
 * h      = (log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l))
 * target = (1 / beta) * (B1 * B3 * s_w - B3 * s_l - alpha),   B3 = 1 / (B1 - 1)
 * loss   = mean (h - target)^2
 * </pre>
 * With the code's B1 = 3 and alpha = 0.5 the target before 1/beta is +1.0 (only the winner safe), +0.5 (both safe),
 * -0.5 (both unsafe) and -1.0 (only the loser safe): a pair whose more helpful answer is the unsafe one is pushed the
 * other way.
 *
 * <p>Where the kit chose: log pi sums the response tokens from the pairs' first differing token, as the kit's DPO (TRL's
 * IPO averages them per token; which one the official trainer ends up with depends on its TRL loss type); beta is the
 * config's {@code scale_coeff} (the code's default 0.1; its recipe uses 0.01); the official training also mixes in a
 * buffer of general data (UltraFeedback, both responses labelled safe), which BeaverWorld has no counterpart of and the
 * kit leaves out, and trains only some layers; the kit trains all of them.
 */
public final class Bfpo {
    private Bfpo() {}

    /** The official code's B1 and alpha. */
    public static final double B1 = 3.0, ALPHA = 0.5;

    /** The pair's regression target in log-ratio units: (1/beta) (B1 B3 s_w - B3 s_l - alpha), (y_w, y_l) by helpfulness. */
    public static double target(PreferencePair pair, double beta) {
        int better = pair.betterResponseId();
        double sWinner = pair.isResponseSafe(better) ? 1 : 0, sLoser = pair.isResponseSafe(1 - better) ? 1 : 0;
        double b3 = 1 / (B1 - 1);
        return (B1 * b3 * sWinner - b3 * sLoser - ALPHA) / beta;
    }
}
