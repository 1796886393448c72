package saferlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A score model (safe_rlhf AutoModelForScore): the {@link Transformer} body plus a linear score head hidden -> 1 with a
 * zero-initialised bias. Gives per-token scores (B, L) and end scores (B) at the last attention-mask position.
 * HF names: the body's ({@code model.*} or {@code transformer.*}) plus {@code score_head.weight} (1, H) and
 * {@code score_head.bias} (1).
 *
 * <p>REWARD: higher is better. COST: <b>cost &gt; 0 means unsafe, cost &lt;= 0 means safe.</b> CRITIC: a value per
 * token (PPO uses {@code scores[:, :-1]}).
 */
public final class ScoreModel implements AutoCloseable {
    /**
     * @param scores     (B, L) per-token scores (normalized when normalization is on)
     * @param endScores  (B) scores at the last attention-mask position
     * @param endIndex   (B) int64 that position
     */
    public record Scores(NDArray scores, NDArray endScores, NDArray endIndex) {}

    private final NDManager manager;
    private final Transformer body;
    private final ScoreType scoreType;
    private Normalizer normalizer;
    private NDArray headWeight; // (1, H)
    private NDArray headBias;   // (1)
    private boolean doNormalize;

    private ScoreModel(NDManager manager, Transformer body, ScoreType type, Normalizer normalizer, long seed) {
        this.manager = manager;
        this.body = body;
        this.scoreType = type;
        this.normalizer = normalizer;
        int h = body.config.hiddenSize();
        float[] w = new float[h];
        Transformer.gaussian(w, 0.02, new java.util.SplittableRandom(seed ^ 0x9E3779B97F4A7C15L)); // nn.Linear is re-initialised by HF _init_weights: N(0, 0.02)
        headWeight = new Weights.Staging().owned(manager, w, new Shape(1, h));
        headBias = manager.zeros(new Shape(1));
        headWeight.setRequiresGradient(true);
        headBias.setRequiresGradient(true);
    }

    /** A freshly initialised score model; normalizer EMA (momentum 0.9) for reward/cost, identity for critics. */
    public static ScoreModel create(ModelConfig config, ScoreType type, ai.djl.Device device, long seed) {
        NDManager m = NDManager.newBaseManager(device);
        return new ScoreModel(m, new Transformer(config, m, seed), type, defaultNormalizer(type), seed);
    }

    /** A score model whose body's parameters are allocated but not initialised, for {@link #loadNamedParameters} to fill. */
    static ScoreModel uninitialised(ModelConfig config, ScoreType type, ai.djl.Device device) {
        NDManager m = NDManager.newBaseManager(device);
        return new ScoreModel(m, Transformer.uninitialised(config, m), type, defaultNormalizer(type), 0);
    }

    /** A score model (or critic) whose body is a copy of {@code lm}'s and whose head is fresh. */
    public static ScoreModel fromCausalLM(CausalLM lm, ScoreType type, long seed) {
        NDManager m = NDManager.newBaseManager(lm.device());
        return new ScoreModel(m, new Transformer(lm.body(), m), type, defaultNormalizer(type), seed);
    }

    /** A copy of this model (without adapters) with another score type (critics start from the reward and cost models). */
    public ScoreModel copyAs(ScoreType type) {
        NDManager m = NDManager.newBaseManager(manager.getDevice());
        ScoreModel s = new ScoreModel(m, new Transformer(body, m), type, defaultNormalizer(type), 0);
        s.headWeight.close();
        s.headBias.close();
        s.headWeight = Transformer.copyOf(headWeight, m);
        s.headBias = Transformer.copyOf(headBias, m);
        s.headWeight.setRequiresGradient(true);
        s.headBias.setRequiresGradient(true);
        return s;
    }

    private static Normalizer defaultNormalizer(ScoreType type) {
        return type == ScoreType.CRITIC ? new Normalizer(Normalizer.Type.IDENTITY, type, 0.9) : Normalizer.ema(type);
    }

    public ModelConfig config() { return body.config; }

    public NDManager manager() { return manager; }

    public ScoreType scoreType() { return scoreType; }

    public Normalizer normalizer() { return normalizer; }

    /** Normalize scores in {@link #scores} (reference set_normalize; off by default). */
    /** Replaces the normalizer (fresh statistics), for example by the training config's type and momentum. */
    public void useNormalizer(Normalizer.Type type, double momentum) {
        this.normalizer = new Normalizer(type, scoreType, momentum);
    }

    public void setNormalize(boolean on) { this.doNormalize = on; }

    public boolean normalizing() { return doNormalize; }

    public Map<String, NDArray> namedParameters() {
        LinkedHashMap<String, NDArray> all = new LinkedHashMap<>(body.params);
        all.put("score_head.weight", headWeight);
        all.put("score_head.bias", headBias);
        return Collections.unmodifiableMap(all);
    }

    /** The parameters an optimizer trains: those that record gradients, plus the adapters' A and B when there are any. */
    public Map<String, NDArray> trainableParameters() {
        return body.trainable(namedParameters());
    }

    /**
     * Puts low-rank adapters on the body's targeted projections and freezes the body; the score head stays trainable
     * (PEFT's {@code modules_to_save = ["score_head"]}). Call before creating an optimizer.
     */
    public Lora attachLora(LoraConfig config, String baseModelNameOrPath, long seed) {
        if (body.lora != null) throw new IllegalStateException("this model already has adapters");
        body.lora = Lora.attach(body, config, baseModelNameOrPath, seed);
        return body.lora;
    }

    /** The model's adapters, or null when it has none. */
    public Lora lora() { return body.lora; }

    /** The score head's tensors, {@code score_head.weight} (1, H) and {@code score_head.bias} (1), live arrays. */
    public Map<String, NDArray> head() {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        out.put("score_head.weight", headWeight);
        out.put("score_head.bias", headBias);
        return Collections.unmodifiableMap(out);
    }

    public List<WeightSpec> weightSpecs() {
        List<WeightSpec> specs = new ArrayList<>(Transformer.specs(body.config));
        specs.add(new WeightSpec("score_head.weight", List.of(), new long[] {1, body.config.hiddenSize()}, false));
        specs.add(new WeightSpec("score_head.bias", List.of(), new long[] {1}, false));
        return specs;
    }

    /** Loads HF-named tensors (before creating an optimizer); returns unused names; errors list missing tensors. */
    public List<String> loadNamedParameters(Map<String, HostTensor> weights) {
        LinkedHashMap<String, NDArray> target = new LinkedHashMap<>(namedParameters());
        List<String> unused = Weights.load(target, weightSpecs(), weights, manager, true);
        for (String name : body.params.keySet()) body.params.put(name, target.get(name));
        headWeight = target.get("score_head.weight");
        headBias = target.get("score_head.bias");
        return unused;
    }

    public void setTrainable(boolean trainable) {
        body.setTrainable(trainable);
        headWeight.setRequiresGradient(trainable);
        headBias.setRequiresGradient(trainable);
    }

    /**
     * Casts a frozen model's body to {@code dtype} in place, freeing the fp32 weights (float16 halves its memory); the
     * score head (H + 1 numbers) stays fp32 and reads the hidden states in fp32, so scores stay float32. Call after
     * {@code setTrainable(false)}, and after any critic was copied from this model.
     *
     * @throws IllegalStateException when the model is trainable or has adapters
     */
    public void castFrozen(DataType dtype) {
        if (headWeight.hasGradient()) {
            throw new IllegalStateException("cannot cast a trainable score model: casts are not differentiable; setTrainable(false) first");
        }
        body.cast(dtype);
    }

    /** The body's dtype: float32, or float16 after {@link #castFrozen}. */
    public DataType dtype() { return body.dtype(); }

    /**
     * Scores of a batch (reward/cost models: right padding; critics: left padding, as the reference).
     *
     * @param inputIds        (B, L) int64
     * @param attentionMask   (B, L)
     * @param updateStatistics update the normalizer from the end scores (the reference does so in training mode)
     */
    public Scores scores(NDArray inputIds, NDArray attentionMask, boolean updateStatistics) {
        NDArray hidden = body.hiddenStates(inputIds, attentionMask, null);                 // (B, L, H)
        if (hidden.getDataType() != DataType.FLOAT32) {                                    // a half-precision body
            try (NDArray half = hidden) {
                hidden = half.toType(DataType.FLOAT32, false);                              // (B, L, H) fp32
            }
        }
        NDArray scores = Linear.linear(hidden, headWeight, headBias).head().squeeze(2);     // (B, L)
        NDArray endIndex = Nd.lastIndex(attentionMask);                                     // (B)
        NDArray endScores = scores.gather(endIndex.reshape(-1, 1), 1).squeeze(1);         // (B)
        if (updateStatistics) normalizer.update(endScores.toFloatArray());
        if (doNormalize) {
            scores = normalizer.normalize(scores);                                          // (B, L)
            endScores = normalizer.normalize(endScores);                                    // (B)
        }
        return new Scores(scores, endScores, endIndex);
    }

    @Override
    public void close() { manager.close(); }
}
