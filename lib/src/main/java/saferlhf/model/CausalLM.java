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
 * A decoder-only causal language model (LLaMA family or GPT-2) on one device, fp32: the {@link Transformer} body plus an
 * LM head ({@code lm_head.weight} (V, H), or the token embedding when {@code tie_word_embeddings}). A frozen copy may
 * hold its weights in fp16 ({@link #frozenCopy}); its logits and log-probabilities are float32 all the same.
 *
 * <p>Parameters are named and laid out exactly as in Hugging Face checkpoints ({@link #weightSpecs()}); the model owns
 * them through {@link #manager()}. Run every forward pass inside a per-step sub-manager:
 * <pre>{@code
 * try (NDManager step = lm.manager().newSubManager()) {
 *     NDArray ids = step.create(idsArray, new Shape(B, L));     // everything created from ids is owned by `step`
 *     NDArray logits = lm.forward(ids, mask);                   // (B, L, V)
 * }
 * }</pre>
 */
public final class CausalLM implements AutoCloseable {
    private final NDManager manager;
    private final Transformer body;
    private NDArray lmHead; // (V, H) or null when tied
    private ModelConfig config;

    private CausalLM(ModelConfig config, NDManager manager, Transformer body, NDArray lmHead) {
        this.config = config;
        this.manager = manager;
        this.body = body;
        this.lmHead = lmHead;
    }

    /** A freshly initialised model (HF initialisation, deterministic in {@code seed}) on {@code device}. */
    public static CausalLM create(ModelConfig config, ai.djl.Device device, long seed) {
        NDManager manager = NDManager.newBaseManager(device);
        Transformer body = new Transformer(config, manager, seed);
        NDArray head = null;
        if (!config.tieWordEmbeddings()) {
            float[] data = new float[Math.multiplyExact(config.vocabSize(), config.hiddenSize())];
            Transformer.gaussian(data, 0.02, new java.util.SplittableRandom(seed ^ 0x5DEECE66DL));
            head = new Weights.Staging().owned(manager, data, new Shape(config.vocabSize(), config.hiddenSize()));
            head.setRequiresGradient(true);
        }
        return new CausalLM(config, manager, body, head);
    }

    /** A model whose parameters are allocated but not initialised, for {@link #loadNamedParameters} to fill. */
    static CausalLM uninitialised(ModelConfig config, ai.djl.Device device) {
        NDManager manager = NDManager.newBaseManager(device);
        NDArray head = config.tieWordEmbeddings() ? null : manager.create(new Shape(config.vocabSize(), config.hiddenSize()));
        return new CausalLM(config, manager, Transformer.uninitialised(config, manager), head);
    }

    /** A deep copy of the weights (e.g. the frozen reference model of PPO / DPO) on the same device, without adapters. */
    public CausalLM copy() {
        NDManager m = NDManager.newBaseManager(manager.getDevice());
        return new CausalLM(config, m, new Transformer(body, m), lmHead == null ? null : Transformer.copyOf(lmHead, m));
    }

    /**
     * A frozen deep copy (PPO's and DPO's reference policy), without adapters, with its weights in {@code dtype}: float32,
     * or float16 to halve its memory (copied tensor by tensor, so no second fp32 copy is ever held).
     */
    public CausalLM frozenCopy(DataType dtype) {
        NDManager m = NDManager.newBaseManager(manager.getDevice());
        CausalLM copy = new CausalLM(config, m, new Transformer(body, m, dtype),
                lmHead == null ? null : Transformer.copyOf(lmHead, m, dtype));
        copy.setTrainable(false);
        return copy;
    }

    /** The weights' dtype: float32, or float16 for a {@link #frozenCopy} in half precision. */
    public DataType dtype() { return body.dtype(); }

    public ModelConfig config() { return config; }

    public NDManager manager() { return manager; }

    public ai.djl.Device device() { return manager.getDevice(); }

    Transformer body() { return body; }

    /** HF name -> parameter (live arrays; a snapshot of the map, in checkpoint order). */
    public Map<String, NDArray> namedParameters() {
        LinkedHashMap<String, NDArray> all = new LinkedHashMap<>(body.params);
        if (lmHead != null) all.put("lm_head.weight", lmHead);
        return Collections.unmodifiableMap(all);
    }

    /**
     * The parameters an optimizer trains: every parameter that records gradients (all of them in full fine-tuning;
     * with adapters, the adapters' A and B only).
     */
    public Map<String, NDArray> trainableParameters() {
        return body.trainable(namedParameters());
    }

    /**
     * Puts low-rank adapters on the targeted projections and freezes every base weight (the LM head and embeddings
     * too). Call before creating an optimizer.
     *
     * @param baseModelNameOrPath the folder the base weights came from (a saved adapter folder points at it)
     */
    public Lora attachLora(LoraConfig config, String baseModelNameOrPath, long seed) {
        if (body.lora != null) throw new IllegalStateException("this model already has adapters");
        body.lora = Lora.attach(body, config, baseModelNameOrPath, seed);
        if (lmHead != null) lmHead.setRequiresGradient(false);
        return body.lora;
    }

    /** The model's adapters, or null when it has none. */
    public Lora lora() { return body.lora; }

    /** The tensors a HF checkpoint of this model holds, their shapes and how they map (identity: see {@link WeightSpec}). */
    public List<WeightSpec> weightSpecs() {
        List<WeightSpec> specs = new ArrayList<>(Transformer.specs(config));
        if (!config.tieWordEmbeddings()) specs.add(new WeightSpec("lm_head.weight", List.of(), new long[] {config.vocabSize(), config.hiddenSize()}, false));
        return specs;
    }

    /**
     * Loads HF-named tensors (call before creating an optimizer: parameters are replaced by new arrays).
     *
     * @return unused names in {@code weights}
     * @throws IllegalArgumentException listing missing tensors and shape mismatches
     */
    public List<String> loadNamedParameters(Map<String, HostTensor> weights) {
        LinkedHashMap<String, NDArray> target = new LinkedHashMap<>(namedParameters());
        List<String> unused = Weights.load(target, weightSpecs(), weights, manager, true);
        for (String name : body.params.keySet()) body.params.put(name, target.get(name));
        if (lmHead != null) lmHead = target.get("lm_head.weight");
        return unused;
    }

    /**
     * Host copies of every parameter, keyed by HF name, all made now: a snapshot that later updates do not change (it
     * holds the whole model in the Java heap; saving streams one tensor at a time instead, see {@link ModelFiles#save}).
     */
    public Map<String, HostTensor> toHost() {
        LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
        namedParameters().forEach((name, array) -> out.put(name, HostTensor.of(array)));
        return out;
    }

    /** Attaches or detaches gradients of every parameter (a frozen reference model: false). */
    public void setTrainable(boolean trainable) {
        body.setTrainable(trainable);
        if (lmHead != null) lmHead.setRequiresGradient(trainable);
    }

    /**
     * Grows the vocabulary to {@code newVocabSize} (after {@link Tokenizer} added special tokens); new rows of the input
     * embedding and of the LM head are the mean of the existing rows, as the reference does. Call before creating an
     * optimizer.
     */
    public void resizeTokenEmbeddings(int newVocabSize) {
        if (newVocabSize == config.vocabSize()) return;
        if (body.lora != null) throw new IllegalStateException("cannot grow the vocabulary of a model with adapters");
        if (newVocabSize < config.vocabSize()) throw new IllegalArgumentException("cannot shrink the vocabulary");
        String embName = config.isGpt2() ? "transformer.wte.weight" : "model.embed_tokens.weight";
        NDArray grown = Weights.growRows(body.params.get(embName), newVocabSize, manager);
        grown.setRequiresGradient(true);
        body.params.put(embName, grown).close();
        if (lmHead != null) {
            NDArray head = Weights.growRows(lmHead, newVocabSize, manager);
            head.setRequiresGradient(true);
            lmHead.close();
            lmHead = head;
        }
        config = config.withVocabSize(newVocabSize);
        body.config = config;
    }

    public long parameterCount() {
        long n = 0;
        for (NDArray p : namedParameters().values()) n += p.size();
        return n;
    }

    // ---- forward -------------------------------------------------------------------------------------------------

    /**
     * @param inputIds      (B, L) int64
     * @param attentionMask (B, L) (or (B, cached + L) with a cache)
     * @return final hidden states (B, L, H) in the weights' dtype, owned by {@code inputIds}' manager
     */
    public NDArray hiddenStates(NDArray inputIds, NDArray attentionMask, KvCache cache) {
        return body.hiddenStates(inputIds, attentionMask, cache);
    }

    /** (B, L, H) -> (B, L, V), float32 whatever the weights' dtype. */
    public NDArray logits(NDArray hidden) {
        NDArray logits = Linear.linear(hidden, lmHead != null ? lmHead : body.embedding()).head(); // (B, L, V)
        if (logits.getDataType() == DataType.FLOAT32) return logits;
        try (logits) {
            return logits.toType(DataType.FLOAT32, false);                                        // (B, L, V) fp32
        }
    }

    /** Full forward pass: (B, L) ids, (B, L) mask -> logits (B, L, V). */
    public NDArray forward(NDArray inputIds, NDArray attentionMask) {
        return logits(hiddenStates(inputIds, attentionMask, null));
    }

    /** Incremental forward pass: new ids (B, L), mask (B, cached + L) -> logits of the new positions (B, L, V). */
    public NDArray forward(NDArray inputIds, NDArray attentionMask, KvCache cache) {
        return logits(hiddenStates(inputIds, attentionMask, cache));
    }

    /** An empty cache for this model, owned by a sub-manager of {@code parent}. */
    public KvCache newCache(NDManager parent) { return new KvCache(parent, config.numLayers()); }

    /**
     * Per-token log-probabilities of a given sequence (PPO old/ref log-probs, DPO): log_softmax(logits[:, :-1]) gathered
     * at ids[:, 1:] (safe_rlhf gather_log_probabilities).
     *
     * @return (B, L-1)
     */
    public NDArray logProbs(NDArray inputIds, NDArray attentionMask) {
        return Nd.gatherLogProbs(forward(inputIds, attentionMask), inputIds);
    }

    @Override
    public void close() { manager.close(); }
}
