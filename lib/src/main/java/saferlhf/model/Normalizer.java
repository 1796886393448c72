package saferlhf.model;

import ai.djl.ndarray.NDArray;

/**
 * Score statistics and normalization as safe_rlhf/models/normalizer.py. Statistics start at mean 0, var 1, count 0 and
 * are updated from batches of end scores:
 * <ul>
 *   <li>RUNNING_MEAN_STD: parallel-variance merge (Chan et al.) of the batch mean/var into the running ones;</li>
 *   <li>EXPONENTIAL_MOVING_AVERAGE: mean = m mean + (1 - m) batch_mean, var likewise (momentum m = 0.9);</li>
 *   <li>IDENTITY: no statistics.</li>
 * </ul>
 * The batch variance is unbiased (torch.var default); a batch of one contributes variance 0 (torch would give NaN).
 * {@link #normalize} applies the {@link ScoreType}'s function with std = sqrt(var).
 */
public final class Normalizer {
    public enum Type { RUNNING_MEAN_STD, EXPONENTIAL_MOVING_AVERAGE, IDENTITY }

    public static final double EPSILON = 1e-8;

    private final Type type;
    private final ScoreType scoreType;
    private final double momentum;
    private double mean = 0, var = 1;
    private long count = 0;

    public Normalizer(Type type, ScoreType scoreType, double momentum) {
        if (momentum < 0 || momentum > 1) throw new IllegalArgumentException("momentum must be in [0, 1]");
        this.type = type;
        this.scoreType = scoreType;
        this.momentum = momentum;
    }

    /** The reference's default for score models: EMA with momentum 0.9. */
    public static Normalizer ema(ScoreType scoreType) { return new Normalizer(Type.EXPONENTIAL_MOVING_AVERAGE, scoreType, 0.9); }

    public void update(float[] batch) {
        if (type == Type.IDENTITY || batch.length == 0) return;
        double bm = 0;
        for (float x : batch) bm += x;
        bm /= batch.length;
        double bv = 0;
        for (float x : batch) bv += (x - bm) * (x - bm);
        bv = batch.length > 1 ? bv / (batch.length - 1) : 0.0;
        long n = batch.length;
        if (type == Type.RUNNING_MEAN_STD) {
            double delta = bm - mean;
            long total = count + n;
            double newMean = mean + delta * n / total;
            double m2 = var * count + bv * n + delta * delta * ((double) count * n / total);
            mean = newMean;
            var = m2 / total;
        } else {
            mean = momentum * mean + (1 - momentum) * bm;
            var = momentum * var + (1 - momentum) * bv;
        }
        count += n;
    }

    public double momentum() { return momentum; }

    public double mean() { return mean; }

    public double var() { return var; }

    public double std() { return Math.sqrt(var); }

    public long count() { return count; }

    public Type type() { return type; }

    public ScoreType scoreType() { return scoreType; }

    /** Restores statistics (from a checkpoint's config.mean / config.var / count). */
    public void setStatistics(double mean, double var, long count) {
        this.mean = mean;
        this.var = var;
        this.count = count;
    }

    /** The score type's normalize function on one value. */
    public double normalize(double x) {
        return switch (scoreType) {
            case REWARD -> (x - mean) / (std() + EPSILON);
            case COST -> x / (std() + EPSILON);
            case CRITIC -> x;
        };
    }

    /** The score type's normalize function on an array (differentiable: constants are 0-d arrays of x's manager). */
    public NDArray normalize(NDArray x) {
        NDArray inv = Nd.scalar(x.getManager(), (float) (1.0 / (std() + EPSILON)));
        return switch (scoreType) {
            case REWARD -> x.sub((float) mean).mul(inv);
            case COST -> x.mul(inv);
            case CRITIC -> x;
        };
    }
}
