package saferlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.Collection;

/**
 * Every DJL 0.35.1 workaround of the kit, in one place (see docs/djl-notes.md):
 * <ul>
 *   <li>Arithmetic with a Java {@code Number} inside a GradientCollector corrupts gradients (DJL frees the wrapped
 *       scalar before backward). Differentiated code multiplies by {@link #scalar} arrays instead: 0-d arrays owned
 *       by the step's manager, so they live until that manager closes, i.e. after backward.</li>
 *   <li>No tril/triu: {@link #attentionBias} builds the causal + padding mask from arange comparisons.</li>
 *   <li>randomMultinomial is unsupported: {@link #sampleInverseCdf}.</li>
 *   <li>mean/sum over two axes throws: {@link #maskedMean} reduces one axis.</li>
 *   <li>getGradient() returns a new array each call: {@link #clipGradNorm} and {@link #zeroGradients} close them.</li>
 * </ul>
 */
public final class Nd {
    private Nd() {}

    /** Additive mask value for disallowed attention positions: finite, so a fully masked row stays finite. */
    public static final float NEG_INF = -1e9f;

    /** A 0-d float32 constant owned by {@code manager}; safe to use in differentiated code while the manager is open. */
    public static NDArray scalar(NDManager manager, float value) {
        return manager.full(new Shape(), value, DataType.FLOAT32);
    }

    /**
     * The additive attention bias for queries at positions {@code past .. past+L-1} over keys {@code 0 .. T-1}
     * (T = past + L): 0 where key j <= query position and keyMask[b, j] != 0, else {@link #NEG_INF}.
     *
     * @param keyMask (B, T) attention mask (any numeric type)
     * @return (B, 1, L, T) float32, owned by {@code manager}
     */
    public static NDArray attentionBias(NDManager manager, NDArray keyMask, int queryLength) {
        long batch = keyMask.getShape().get(0);
        long total = keyMask.getShape().get(1);
        long past = total - queryLength;
        NDArray keyPos = manager.arange(0, total, 1, DataType.INT64).reshape(1, total);           // (1, T)
        NDArray queryPos = manager.arange(past, total, 1, DataType.INT64).reshape(queryLength, 1); // (L, 1)
        NDArray causal = keyPos.lte(queryPos).reshape(1, 1, queryLength, total);                 // (1, 1, L, T) bool
        NDArray keys = keyMask.toType(DataType.BOOLEAN, false).reshape(batch, 1, 1, total);       // (B, 1, 1, T) bool
        NDArray allowed = causal.logicalAnd(keys);                                                // (B, 1, L, T) bool
        NDArray bias = allowed.logicalNot().toType(DataType.FLOAT32, false).muli(NEG_INF); // (B, 1, L, T) 0 or NEG_INF (not differentiated)
        bias.attach(manager);
        return bias;
    }

    /**
     * Hugging Face position ids for (left-)padded batches: {@code cumsum(mask) - 1}, with pad positions set to 1.
     *
     * @param mask (B, T) attention mask
     * @param queryLength the last {@code queryLength} columns are returned (incremental decoding)
     * @return (B, queryLength) int64
     */
    public static NDArray positionIds(NDArray mask, int queryLength) {
        long total = mask.getShape().get(1);
        NDArray m = mask.toType(DataType.INT64, false);                     // (B, T)
        NDArray pos = m.cumSum(1).subi(1);                                  // (B, T)
        NDArray isPad = m.eq(0);                                            // (B, T) bool
        pos = NDArrays.where(isPad, pos.onesLike(), pos);                   // (B, T) pad -> 1
        return pos.get(new NDIndex(":, {}:", total - queryLength));          // (B, L)
    }

    /**
     * Per-token log-probabilities of {@code ids} under {@code logits}: log_softmax(logits[:, :-1]) gathered at ids[:, 1:].
     *
     * @param logits (B, L, V)
     * @param ids    (B, L) int64
     * @return (B, L-1)
     */
    public static NDArray gatherLogProbs(NDArray logits, NDArray ids) {
        long length = logits.getShape().get(1);
        NDArray logp = logits.get(new NDIndex(":, :{}, :", length - 1)).logSoftmax(-1); // (B, L-1, V)
        NDArray next = ids.get(new NDIndex(":, 1:")).toType(DataType.INT64, false);     // (B, L-1)
        return gatherLast(logp, next);                                                  // (B, L-1)
    }

    /** x[b, t, index[b, t]]: (B, L, V) x (B, L) -> (B, L). */
    public static NDArray gatherLast(NDArray x, NDArray index) {
        return x.gather(index.expandDims(-1), -1).squeeze(-1);
    }

    /**
     * log(sigmoid(x)) computed stably as min(x, 0) - log(1 + exp(-|x|)) (DJL has no logsigmoid or log1p); every
     * constant is a step-owned 0-d array, so it is safe inside a gradient collector.
     */
    public static NDArray logSigmoid(NDArray x) {
        NDManager m = x.getManager();
        NDArray zero = scalar(m, 0f), one = scalar(m, 1f);
        return x.minimum(zero).sub(x.abs().neg().exp().add(one).log());
    }

    /** sum(x * mask, axis) / sum(mask, axis), one axis only. A row with an all-zero mask gives 0, not NaN. */
    public static NDArray maskedMean(NDArray x, NDArray mask, int axis) {
        NDArray m = mask.toType(x.getDataType(), false);
        NDArray count = m.sum(new int[] {axis}).maximum(scalar(x.getManager(), 1f));
        return x.mul(m).sum(new int[] {axis}).div(count);
    }

    /** sum(x * mask, axis), one axis only. */
    public static NDArray maskedSum(NDArray x, NDArray mask, int axis) {
        return x.mul(mask.toType(x.getDataType(), false)).sum(new int[] {axis});
    }

    /**
     * Index of the last nonzero position of each row of a (B, L) mask (0 for an all-zero row).
     *
     * @return (B) int64
     */
    public static NDArray lastIndex(NDArray mask) {
        long length = mask.getShape().get(1);
        NDArray pos = mask.getManager().arange(0, length, 1, DataType.INT64).reshape(1, length); // (1, L)
        NDArray m = mask.toType(DataType.INT64, false);                                           // (B, L)
        return pos.mul(m).max(new int[] {1});                                                     // (B)
    }

    /**
     * Draws one index per row from {@code probs} by inverse CDF with the given uniforms (randomMultinomial is unsupported).
     *
     * @param probs   (B, V) non-negative, rows need not sum to one exactly
     * @param uniform (B) in (0, 1)
     * @return (B) int64
     */
    public static NDArray sampleInverseCdf(NDArray probs, NDArray uniform) {
        long vocab = probs.getShape().get(1);
        NDArray cdf = probs.cumSum(1);                                        // (B, V)
        NDArray total = cdf.get(new NDIndex(":, -1:"));                       // (B, 1)
        NDArray target = uniform.reshape(-1, 1).mul(total);                   // (B, 1)
        NDArray below = cdf.lt(target).toType(DataType.INT64, false).sum(new int[] {1}); // (B) first index with cdf >= u
        return below.minimum(vocab - 1);                                      // (B)
    }

    /** The number of elements of {@code arrays}: a parameter count. */
    public static long count(Collection<NDArray> arrays) {
        long n = 0;
        for (NDArray a : arrays) n += a.size();
        return n;
    }

    /**
     * Clips gradients in place to global L2 norm {@code maxNorm} (torch.nn.utils.clip_grad_norm_); parameters without a
     * gradient are skipped. Every gradient array fetched is closed.
     *
     * @return the global norm before clipping
     */
    public static double clipGradNorm(Collection<NDArray> parameters, double maxNorm) {
        NDArray total = null;
        for (NDArray p : parameters) {
            if (!p.hasGradient()) continue;
            try (NDArray g = p.getGradient(); NDArray sq = g.square(); NDArray s = sq.sum()) {
                if (total == null) total = s.duplicate();
                else total.addi(s);
            }
        }
        if (total == null) return 0;
        double sumSquares = total.getFloat();
        total.close();
        double norm = Math.sqrt(sumSquares);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1.0) {
            for (NDArray p : parameters) {
                if (!p.hasGradient()) continue;
                try (NDArray g = p.getGradient()) {
                    g.muli((float) coef);
                }
            }
        }
        return norm;
    }

    /** Global L2 norm of the gradients (closing every gradient array fetched). */
    public static double gradNorm(Collection<NDArray> parameters) {
        double sumSquares = 0;
        for (NDArray p : parameters) {
            if (!p.hasGradient()) continue;
            try (NDArray g = p.getGradient(); NDArray sq = g.square(); NDArray s = sq.sum()) {
                sumSquares += s.getFloat();
            }
        }
        return Math.sqrt(sumSquares);
    }

    /** Sets every gradient to zero in place (PyTorch accumulates gradients across backward calls). */
    public static void zeroGradients(Collection<NDArray> parameters) {
        for (NDArray p : parameters) {
            if (!p.hasGradient()) continue;
            try (NDArray g = p.getGradient()) {
                g.set(new NDIndex("..."), 0f);
            }
        }
    }
}
