package saferlhf.eval;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Percentile bootstrap confidence intervals of a rate measured on several seeds: the estimate is the mean over seeds of
 * each seed's mean over its prompts, and each replicate draws the seeds with replacement, then within each drawn seed
 * its prompts with replacement (a two-level bootstrap, so that the interval holds both the run-to-run spread and the
 * sampling of prompts). With one seed it resamples prompts only.
 */
public final class Bootstrap {
    private Bootstrap() {}

    /** An estimate and its interval. */
    public record Interval(double estimate, double low, double high) {
        public boolean contains(double value) { return low <= value && value <= high; }
    }

    /**
     * The mean over seeds of the per-seed means of {@code values}, with its central {@code level} interval (0.95: the
     * 2.5th and 97.5th percentiles of {@code replicates} replicates, drawn with {@code seed}).
     *
     * @param values per seed, one value per prompt (for a rate: 1 or 0); no seed without values
     */
    public static Interval meanOfSeeds(List<double[]> values, double level, int replicates, long seed) {
        if (values.isEmpty()) throw new IllegalArgumentException("no seeds");
        for (double[] v : values) if (v.length == 0) throw new IllegalArgumentException("a seed without values");
        if (!(level > 0 && level < 1) || replicates < 1) throw new IllegalArgumentException("level in (0, 1), replicates >= 1");
        double estimate = 0;
        for (double[] v : values) estimate += mean(v);
        estimate /= values.size();
        SplittableRandom random = new SplittableRandom(seed);
        double[] means = new double[replicates];
        int seeds = values.size();
        for (int r = 0; r < replicates; r++) {
            double sum = 0;
            for (int s = 0; s < seeds; s++) {
                double[] v = values.get(seeds == 1 ? 0 : random.nextInt(seeds));
                double seedSum = 0;
                for (int i = 0; i < v.length; i++) seedSum += v[random.nextInt(v.length)];
                sum += seedSum / v.length;
            }
            means[r] = sum / seeds;
        }
        Arrays.sort(means);
        double tail = (1 - level) / 2;
        return new Interval(estimate, percentile(means, tail), percentile(means, 1 - tail));
    }

    private static double mean(double[] v) {
        double sum = 0;
        for (double x : v) sum += x;
        return sum / v.length;
    }

    /** The p-quantile of sorted values, linearly interpolated (numpy's default). */
    static double percentile(double[] sorted, double p) {
        double position = p * (sorted.length - 1);
        int below = (int) Math.floor(position);
        int above = Math.min(below + 1, sorted.length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
