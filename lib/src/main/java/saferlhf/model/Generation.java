package saferlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.Arrays;
import java.util.Random;

/**
 * Batched generation with a KV cache (HF {@code generate} semantics): left-padded prompts, greedy or sampling with
 * temperature, top-k, top-p and repetition penalty (logits processors in HF's order: repetition penalty, then
 * temperature, top-k, top-p), per-sequence EOS stop (finished rows emit pad), seeded uniform draws (same seed, same
 * output).
 *
 * <p>The attention mask is the reference's {@code (seq != pad) & (seq != unk)} over the whole sequence, and the
 * decoding itself uses that same mask, so the returned log-probabilities (raw {@code log_softmax} of the model's
 * logits, before any processor: what PPO's old log-probs are) equal {@link CausalLM#logProbs} recomputed on the output.
 * (HF would attend to a generated pad/unk token mid-sequence; the recomputation in the reference would not.)
 */
public final class Generation {
    private Generation() {}

    /**
     * @param maxNewTokens      tokens to generate at most (the reference's max_length minus the prompt length)
     * @param doSample          sample (true) or greedy argmax (false)
     * @param temperature       > 0, sampling only
     * @param topK              0 = off
     * @param topP              in (0, 1]; 1 = off
     * @param repetitionPenalty >= 1 typical; 1 = off (HF: logit / p if > 0 else logit * p, for tokens already in the sequence)
     * @param seed              seeds the uniform draws
     */
    public record Config(int maxNewTokens, boolean doSample, double temperature, int topK, double topP, double repetitionPenalty, long seed) {
        public Config {
            if (maxNewTokens < 1) throw new IllegalArgumentException("maxNewTokens must be >= 1");
            if (temperature <= 0) throw new IllegalArgumentException("temperature must be > 0");
            if (topK < 0) throw new IllegalArgumentException("topK must be >= 0");
            if (topP <= 0 || topP > 1) throw new IllegalArgumentException("topP must be in (0, 1]");
            if (repetitionPenalty <= 0) throw new IllegalArgumentException("repetitionPenalty must be > 0");
        }

        public static Config greedy(int maxNewTokens) { return new Config(maxNewTokens, false, 1.0, 0, 1.0, 1.0, 0); }

        /** The same sampling, answers of up to {@code n} tokens. */
        public Config withMaxNewTokens(int n) { return new Config(n, doSample, temperature, topK, topP, repetitionPenalty, seed); }

        /** The same sampling with another seed. */
        public Config withSeed(long s) { return new Config(maxNewTokens, doSample, temperature, topK, topP, repetitionPenalty, s); }

        /**
         * Hugging Face's {@code GenerationConfig} default, which every sampling path of the reference keeps: it never sets
         * {@code top_k}, so rollouts and evaluation sample among the 50 most likely tokens.
         */
        public static final int HF_DEFAULT_TOP_K = 50;

        /** The reference's sampling: temperature 1, top_k 50 (HF's default), top_p 1, repetition penalty 1. */
        public static Config sampling(int maxNewTokens, long seed) { return sampling(maxNewTokens, HF_DEFAULT_TOP_K, seed); }

        /** Sampling at temperature 1 among the {@code topK} most likely tokens (0: the whole vocabulary). */
        public static Config sampling(int maxNewTokens, int topK, long seed) { return new Config(maxNewTokens, true, 1.0, topK, 1.0, 1.0, seed); }
    }

    /**
     * Generated sequences, row-major.
     *
     * @param batch         B
     * @param length        T = promptLength + generated steps
     * @param promptLength  S (the padded prompt width)
     * @param sequences     B*T ids: the left-padded prompt, then generated tokens (pad after a row's EOS)
     * @param attentionMask B*T: (seq != pad) & (seq != unk)
     * @param logProbs      B*(T-S): log-probability of each generated token under the model (0 after EOS)
     */
    public record Output(int batch, int length, int promptLength, long[] sequences, long[] attentionMask, float[] logProbs) {
        public NDArray sequences(NDManager m) { return m.create(sequences, new Shape(batch, length)); }     // (B, T)

        public NDArray attentionMask(NDManager m) { return m.create(attentionMask, new Shape(batch, length)); } // (B, T)

        public NDArray logProbs(NDManager m) { return m.create(logProbs, new Shape(batch, length - promptLength)); } // (B, T-S)

        public long[] row(int b) { return Arrays.copyOfRange(sequences, b * length, (b + 1) * length); }

        /** The generated part of row b, up to and including EOS (pads dropped). */
        public long[] response(int b, long padId) {
            return Arrays.stream(sequences, b * length + promptLength, (b + 1) * length).filter(t -> t != padId).toArray();
        }
    }

    public static Output generate(CausalLM lm, Tokenizer.Batch prompts, Config cfg, Tokenizer tok) {
        return generate(lm, prompts, cfg, tok.eosId(), tok.padId(), tok.unkId());
    }

    /** @param prompts LEFT-padded prompts */
    public static Output generate(CausalLM lm, Tokenizer.Batch prompts, Config cfg, long eosId, long padId, long unkId) {
        return generate(lm, prompts, cfg, eosId, padId, unkId, null);
    }

    /**
     * {@link #generate(CausalLM, Tokenizer.Batch, Config, long, long, long)}, telling {@code onStep} each step's tokens
     * as they are chosen (one per row; {@code padId} for a row that had already ended), for streaming.
     */
    public static Output generate(CausalLM lm, Tokenizer.Batch prompts, Config cfg, long eosId, long padId, long unkId,
                                  java.util.function.Consumer<long[]> onStep) {
        int batch = prompts.size(), promptLength = prompts.length();
        int vocab = lm.config().vocabSize();
        int capacity = promptLength + cfg.maxNewTokens();
        long[] seq = new long[batch * capacity];   // (B, capacity) row-major
        long[] mask = new long[batch * capacity];  // (B, capacity)
        float[] logps = new float[batch * cfg.maxNewTokens()];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < promptLength; t++) {
                long id = prompts.id(b, t);
                seq[b * capacity + t] = id;
                mask[b * capacity + t] = id != padId && id != unkId && prompts.attentionMask()[b * promptLength + t] == 1 ? 1 : 0;
            }
        }
        boolean[] finished = new boolean[batch];
        Random random = new Random(cfg.seed());
        int steps = 0;
        try (NDManager gm = lm.manager().newSubManager(); KvCache cache = lm.newCache(gm)) {
            NDArray presence = null; // (B, V) bool: token already in the sequence (repetition penalty)
            if (cfg.repetitionPenalty() != 1.0) {
                boolean[] seen = new boolean[batch * vocab];
                for (int b = 0; b < batch; b++) for (int t = 0; t < promptLength; t++) seen[b * vocab + (int) prompts.id(b, t)] = true;
                presence = gm.create(seen, new Shape(batch, vocab));
            }
            for (int step = 0; step < cfg.maxNewTokens(); step++) {
                int total = promptLength + step;
                long[] tokens;
                float[] tokenLogps;
                try (NDManager s = gm.newSubManager()) {
                    NDArray ids;
                    if (step == 0) {
                        ids = s.create(sliceColumns(seq, batch, capacity, 0, promptLength), new Shape(batch, promptLength)); // (B, S)
                    } else {
                        ids = s.create(sliceColumns(seq, batch, capacity, total - 1, total), new Shape(batch, 1));          // (B, 1)
                    }
                    NDArray m = s.create(sliceColumns(mask, batch, capacity, 0, total), new Shape(batch, total));            // (B, T)
                    NDArray logits = lm.forward(ids, m, cache);                                                           // (B, L, V)
                    NDArray last = logits.get(new NDIndex(":, -1, :"));                                                  // (B, V)
                    NDArray logp = last.logSoftmax(1);                                                                   // (B, V)
                    NDArray scores = presence == null ? last : repetitionPenalty(last, presence, (float) cfg.repetitionPenalty()); // (B, V)
                    NDArray next;                                                                                         // (B) int64
                    if (cfg.doSample()) {
                        if (cfg.temperature() != 1.0) scores = scores.div((float) cfg.temperature());
                        if (cfg.topK() > 0 && cfg.topK() < vocab) scores = topK(scores, cfg.topK());
                        if (cfg.topP() < 1.0) scores = topP(scores, cfg.topP());
                        float[] u = new float[batch];
                        for (int b = 0; b < batch; b++) u[b] = (float) Math.max(random.nextDouble(), 1e-7);
                        next = Nd.sampleInverseCdf(scores.softmax(1), s.create(u));
                    } else {
                        next = scores.argMax(1);
                    }
                    next = next.toType(DataType.INT64, false);
                    tokens = next.toLongArray();
                    tokenLogps = Nd.gatherLast(logp.expandDims(1), next.reshape(batch, 1)).toFloatArray();             // (B)
                }
                for (int b = 0; b < batch; b++) {
                    long token = finished[b] ? padId : tokens[b];
                    seq[b * capacity + total] = token;
                    mask[b * capacity + total] = token != padId && token != unkId ? 1 : 0;
                    logps[b * cfg.maxNewTokens() + step] = finished[b] ? 0f : tokenLogps[b];
                    if (token == eosId) finished[b] = true;
                }
                if (onStep != null) {
                    long[] chosen = new long[batch];
                    for (int b = 0; b < batch; b++) chosen[b] = seq[b * capacity + total];
                    onStep.accept(chosen);
                }
                if (presence != null) {
                    long[] chosen = new long[batch];
                    for (int b = 0; b < batch; b++) chosen[b] = seq[b * capacity + total];
                    NDArray hot = gm.create(chosen).oneHot(vocab).toType(DataType.BOOLEAN, false);                     // (B, V)
                    NDArray updated = presence.logicalOr(hot);
                    presence.close();
                    hot.close();
                    presence = updated;
                }
                steps = step + 1;
                boolean all = true;
                for (boolean f : finished) all &= f;
                if (all) break;
            }
        }
        int length = promptLength + steps;
        long[] outSeq = sliceColumns(seq, batch, capacity, 0, length);
        long[] outMask = sliceColumns(mask, batch, capacity, 0, length);
        float[] outLogp = new float[batch * steps];
        for (int b = 0; b < batch; b++) System.arraycopy(logps, b * cfg.maxNewTokens(), outLogp, b * steps, steps);
        return new Output(batch, length, promptLength, outSeq, outMask, outLogp);
    }

    private static long[] sliceColumns(long[] a, int rows, int width, int from, int to) {
        long[] out = new long[rows * (to - from)];
        for (int r = 0; r < rows; r++) System.arraycopy(a, r * width + from, out, r * (to - from), to - from);
        return out;
    }

    /** HF RepetitionPenaltyLogitsProcessor: seen tokens' logits divided by p when positive, multiplied when negative. */
    static NDArray repetitionPenalty(NDArray logits, NDArray seen, float penalty) {
        NDArray penalized = NDArrays.where(logits.lt(0), logits.mul(penalty), logits.div(penalty)); // (B, V)
        return NDArrays.where(seen, penalized, logits);                                             // (B, V)
    }

    /** HF TopKLogitsWarper: logits below the k-th largest become -inf. */
    static NDArray topK(NDArray logits, int k) {
        NDArray kth = logits.topK(k, 1).get(0).get(new NDIndex(":, -1:"));            // (B, 1)
        NDArray remove = logits.lt(kth);                                                // (B, V)
        return NDArrays.where(remove, logits.getManager().full(logits.getShape(), Float.NEGATIVE_INFINITY), logits);
    }

    /**
     * HF TopPLogitsWarper: sort ascending, remove tokens whose cumulative probability is <= 1 - top_p (keeping at least
     * the most likely one); expressed as a threshold on the logit value instead of a scatter.
     */
    static NDArray topP(NDArray logits, double topP) {
        long vocab = logits.getShape().get(1);
        NDArray sorted = logits.sort(1);                                                // (B, V) ascending
        NDArray cum = sorted.softmax(1).cumSum(1);                                      // (B, V)
        NDArray removed = cum.lte((float) (1.0 - topP)).toType(DataType.INT64, false).sum(new int[] {1}); // (B) count removed
        NDArray firstKept = removed.minimum(vocab - 1).reshape(-1, 1);                  // (B, 1)
        NDArray threshold = sorted.gather(firstKept, 1);                                // (B, 1)
        return NDArrays.where(logits.lt(threshold), logits.getManager().full(logits.getShape(), Float.NEGATIVE_INFINITY), logits);
    }
}
