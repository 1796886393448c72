package saferlhf.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The decoder-only transformer body shared by {@link CausalLM} and {@link ScoreModel}: token embeddings, the blocks and
 * the final norm, for both families (LLaMA-style and GPT-2). Parameters are plain fp32 NDArrays with gradients attached,
 * stored under their Hugging Face names ({@code model.*} for the LLaMA family, {@code transformer.*} for GPT-2) in the
 * Hugging Face layout. Every op keeps the input's manager as the owner of its result (parameters are never the first
 * operand), so intermediates die with the caller's per-step manager.
 *
 * <p>A frozen body may hold its weights in half precision ({@link #cast}, {@link #Transformer(Transformer, NDManager,
 * DataType)}): the forward pass then runs in the weights' dtype, with the RoPE tables cast to it, the RMSNorm statistics
 * and the masked attention softmax computed in fp32 (as Hugging Face's LLaMA does), and {@link #hiddenStates} returns
 * that dtype. With fp32 weights every op is the one it always was.
 */
public final class Transformer {
    ModelConfig config;
    final NDManager manager;
    final String prefix;
    /** HF name -> parameter, in checkpoint order. */
    final LinkedHashMap<String, NDArray> params = new LinkedHashMap<>();
    /** RoPE inverse frequencies (headDim/2), not a parameter. */
    private final NDArray invFreq;
    /** Low-rank adapters on the projections, or null (see {@link #adapted}). */
    Lora lora;

    /** HF initialisation, deterministic in {@code seed}. */
    Transformer(ModelConfig config, NDManager manager, long seed) {
        this(config, manager, new Initialiser(config, manager, new SplittableRandom(seed))::init);
    }

    /**
     * Parameters allocated but not initialised (libtorch's empty: no memory is touched until written), for a model whose
     * weights are loaded next.
     */
    static Transformer uninitialised(ModelConfig config, NDManager manager) {
        return new Transformer(config, manager, spec -> manager.create(new Shape(spec.shape()), DataType.FLOAT32));
    }

    private Transformer(ModelConfig config, NDManager manager, java.util.function.Function<WeightSpec, NDArray> parameter) {
        this.config = config;
        this.manager = manager;
        this.prefix = config.isGpt2() ? "transformer." : "model.";
        for (WeightSpec spec : specs(config)) params.put(spec.hfName(), parameter.apply(spec));
        int half = config.headDim() / 2;
        float[] inv = new float[half];
        // inv_freq = 1 / (rope_theta ** (arange(0, dim, 2) / dim))
        for (int i = 0; i < half; i++) inv[i] = (float) (1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / config.headDim()));
        this.invFreq = manager.create(inv); // (D/2)
        setTrainable(true);
    }

    /** A deep copy of {@code other}'s weights on {@code manager}. */
    Transformer(Transformer other, NDManager manager) {
        this(other, manager, DataType.FLOAT32);
    }

    /**
     * A deep copy of {@code other}'s weights on {@code manager} in {@code dtype}, tensor by tensor (an fp16 copy of an
     * fp32 body never holds a second fp32 copy). The RoPE frequencies stay fp32.
     */
    Transformer(Transformer other, NDManager manager, DataType dtype) {
        this.config = other.config;
        this.manager = manager;
        this.prefix = other.prefix;
        for (Map.Entry<String, NDArray> e : other.params.entrySet()) params.put(e.getKey(), copyOf(e.getValue(), manager, dtype));
        this.invFreq = copyOf(other.invFreq, manager);
        setTrainable(true);
    }

    static NDArray copyOf(NDArray a, NDManager manager) {
        NDArray c = a.duplicate(); // a fresh tensor, not a view (duplicate = clone)
        c.attach(manager);
        return c;
    }

    /** A fresh copy of {@code a} in {@code dtype} on {@code manager} ({@link #copyOf(NDArray, NDManager)} when the dtype is a's). */
    static NDArray copyOf(NDArray a, NDManager manager, DataType dtype) {
        if (a.getDataType() == dtype) return copyOf(a, manager);
        NDArray c = a.toType(dtype, true); // a new tensor in dtype (not differentiable: frozen weights only)
        c.attach(manager);
        return c;
    }

    /**
     * Casts every weight to {@code dtype} in place, closing the old arrays so that their memory is freed (a frozen model
     * in fp16 holds half the bytes). Casts are not differentiable in DJL, so only a frozen body without adapters may be
     * cast. The RoPE frequencies stay fp32 (the tables made from them are cast in the forward pass).
     *
     * @throws IllegalStateException when a weight records gradients or the body has adapters
     */
    void cast(DataType dtype) {
        if (lora != null) throw new IllegalStateException("cannot cast a model with LoRA adapters: they train through its weights");
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            if (e.getValue().hasGradient()) {
                throw new IllegalStateException("cannot cast trainable weight " + e.getKey() + " to " + dtype
                        + ": casts are not differentiable; freeze the model first (setTrainable(false))");
            }
        }
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            NDArray old = e.getValue();
            if (old.getDataType() == dtype) continue;
            e.setValue(old.toType(dtype, false)); // same manager as the old array
            old.close();
        }
    }

    /** The weights' dtype (float32, or float16 for a frozen body that was cast). */
    DataType dtype() { return embedding().getDataType(); }

    /** The body's tensors, in HF names and HF layouts (see {@link WeightSpec}). */
    static List<WeightSpec> specs(ModelConfig c) {
        List<WeightSpec> s = new ArrayList<>();
        long h = c.hiddenSize(), v = c.vocabSize(), i = c.intermediateSize(), kv = (long) c.numKvHeads() * c.headDim();
        if (c.isGpt2()) {
            gpt2(s, "wte.weight", v, h);                                 // (V, H)
            gpt2(s, "wpe.weight", c.maxPositions(), h);                  // (P, H)
            for (int l = 0; l < c.numLayers(); l++) {
                String p = "h." + l + ".";
                gpt2(s, p + "ln_1.weight", h);
                gpt2(s, p + "ln_1.bias", h);
                gpt2(s, p + "attn.c_attn.weight", h, 3 * h);              // Conv1D (in, out): q | k | v
                gpt2(s, p + "attn.c_attn.bias", 3 * h);
                gpt2(s, p + "attn.c_proj.weight", h, h);                  // Conv1D (in, out)
                gpt2(s, p + "attn.c_proj.bias", h);
                gpt2(s, p + "ln_2.weight", h);
                gpt2(s, p + "ln_2.bias", h);
                gpt2(s, p + "mlp.c_fc.weight", h, i);                     // Conv1D (in, out)
                gpt2(s, p + "mlp.c_fc.bias", i);
                gpt2(s, p + "mlp.c_proj.weight", i, h);                   // Conv1D (in, out)
                gpt2(s, p + "mlp.c_proj.bias", h);
            }
            gpt2(s, "ln_f.weight", h);
            gpt2(s, "ln_f.bias", h);
        } else {
            spec(s, "model.embed_tokens.weight", v, h);                  // (V, H)
            for (int l = 0; l < c.numLayers(); l++) {
                String p = "model.layers." + l + ".";
                spec(s, p + "input_layernorm.weight", h);
                spec(s, p + "self_attn.q_proj.weight", h, h);             // Linear (out, in)
                if (c.attentionBias()) spec(s, p + "self_attn.q_proj.bias", h);
                spec(s, p + "self_attn.k_proj.weight", kv, h);
                if (c.attentionBias()) spec(s, p + "self_attn.k_proj.bias", kv);
                spec(s, p + "self_attn.v_proj.weight", kv, h);
                if (c.attentionBias()) spec(s, p + "self_attn.v_proj.bias", kv);
                spec(s, p + "self_attn.o_proj.weight", h, h);
                spec(s, p + "post_attention_layernorm.weight", h);
                spec(s, p + "mlp.gate_proj.weight", i, h);
                spec(s, p + "mlp.up_proj.weight", i, h);
                spec(s, p + "mlp.down_proj.weight", h, i);
            }
            spec(s, "model.norm.weight", h);
        }
        return s;
    }

    private static void spec(List<WeightSpec> s, String name, long... shape) {
        s.add(new WeightSpec(name, List.of(), shape, false));
    }

    private static void gpt2(List<WeightSpec> s, String name, long... shape) {
        s.add(new WeightSpec("transformer." + name, List.of(name), shape, false));
    }

    /** HF initialisation: N(0, 0.02) weights, GPT-2 c_proj N(0, 0.02/sqrt(2 n_layer)), norms 1, biases 0. */
    private record Initialiser(ModelConfig config, NDManager manager, SplittableRandom rng, Weights.Staging staging) {
        Initialiser(ModelConfig config, NDManager manager, SplittableRandom rng) { this(config, manager, rng, new Weights.Staging()); }

        NDArray init(WeightSpec spec) {
            String n = spec.hfName();
            Shape shape = new Shape(spec.shape());
            boolean norm = n.contains("norm") || n.contains(".ln_");
            double std = config.isGpt2() && n.endsWith("c_proj.weight") ? 0.02 / Math.sqrt(2.0 * config.numLayers()) : 0.02;
            return staging.owned(manager, shape, out -> { // written straight into the staging buffer: no Java array
                if (norm && n.endsWith(".weight")) {
                    for (long i = 0; i < shape.size(); i++) out.put(1f);
                } else if (n.endsWith(".bias")) {
                    for (long i = 0; i < shape.size(); i++) out.put(0f);
                } else {
                    gaussian(out, shape.size(), std, rng);
                }
            });
        }
    }

    static void gaussian(float[] data, double std, SplittableRandom rng) {
        gaussian(java.nio.FloatBuffer.wrap(data), data.length, std, rng);
    }

    /** {@code count} values N(0, std^2) put into {@code out} from its position on. */
    static void gaussian(java.nio.FloatBuffer out, long count, double std, SplittableRandom rng) {
        for (long i = 0; i < count; i += 2) { // Box-Muller, two values per draw
            double u1 = 1.0 - rng.nextDouble(), u2 = rng.nextDouble();
            double r = Math.sqrt(-2.0 * Math.log(u1)) * std;
            out.put((float) (r * Math.cos(2 * Math.PI * u2)));
            if (i + 1 < count) out.put((float) (r * Math.sin(2 * Math.PI * u2)));
        }
    }

    /** Of a model's parameters {@code named}, those that record gradients, plus the adapters' A and B when there are any. */
    Map<String, NDArray> trainable(Map<String, NDArray> named) {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        named.forEach((name, p) -> { if (p.hasGradient()) out.put(name, p); });
        if (lora != null) out.putAll(lora.namedParameters());
        return Collections.unmodifiableMap(out);
    }

    void setTrainable(boolean trainable) {
        for (NDArray p : params.values()) p.setRequiresGradient(trainable);
    }

    NDArray p(String name) {
        NDArray a = params.get(name);
        if (a == null) throw new IllegalStateException("no parameter " + name);
        return a;
    }

    /** The token embedding matrix (V, H): wte for GPT-2, embed_tokens otherwise. */
    NDArray embedding() { return p(config.isGpt2() ? "transformer.wte.weight" : "model.embed_tokens.weight"); }

    Map<String, NDArray> view() { return Collections.unmodifiableMap(params); }

    // ---- forward -------------------------------------------------------------------------------------------------

    /**
     * Final hidden states (after the last norm).
     *
     * @param inputIds      (B, L) int64 token ids (new tokens only when {@code cache} holds earlier positions)
     * @param attentionMask (B, T) with T = cached + L: 1 for real tokens, 0 for padding
     * @param cache         null for a full forward pass, else updated in place with this call's keys and values
     * @return (B, L, H), owned by {@code inputIds}' manager
     */
    NDArray hiddenStates(NDArray inputIds, NDArray attentionMask, KvCache cache) {
        NDManager m = inputIds.getManager();
        int length = (int) inputIds.getShape().get(1);
        long total = attentionMask.getShape().get(1);
        long past = cache == null ? 0 : cache.length();
        if (total != past + length) {
            throw new IllegalArgumentException("attention mask has " + total + " columns, expected cached " + past + " + new " + length);
        }
        if (total > config.maxPositions() && config.isGpt2()) {
            throw new IllegalArgumentException("sequence length " + total + " exceeds n_positions " + config.maxPositions());
        }
        NDArray ids = inputIds.toType(DataType.INT64, false);                             // (B, L)
        NDArray bias = Nd.attentionBias(m, attentionMask, length);                        // (B, 1, L, T) additive
        NDArray pos = Nd.positionIds(attentionMask, length);                              // (B, L) int64
        NDArray x = Embedding.embedding(ids, embedding(), SparseFormat.DENSE).head();     // (B, L, H)
        NDArray scale = Nd.scalar(m, (float) (1.0 / Math.sqrt(config.headDim())));       // ()
        if (config.isGpt2()) {
            x = x.add(Embedding.embedding(pos, p("transformer.wpe.weight"), SparseFormat.DENSE).head()); // (B, L, H)
            NDList gelu = geluConstants(m);
            for (int l = 0; l < config.numLayers(); l++) {
                String p = "transformer.h." + l + ".";
                int layer = l;
                x = scoped(x, in -> gpt2Attention(layer, in, bias, scale, cache));                // (B, L, H)
                x = scoped(x, in -> in.add(conv1d(keeping(layerNorm(in, p + "ln_2"), h -> geluNew(conv1d(h, p + "mlp.c_fc"), gelu)),
                        p + "mlp.c_proj")));                                                        // (B, L, H)
            }
            return layerNorm(x, "transformer.ln_f");                                       // (B, L, H)
        }
        // RoPE tables: freqs = pos * inv_freq; emb = cat(freqs, freqs); cos, sin (computed in fp32, used in the weights' dtype)
        NDArray freqs = pos.toType(DataType.FLOAT32, false).expandDims(-1).mul(invFreq);  // (B, L, D/2)
        NDArray emb = freqs.concat(freqs, 2);                                                // (B, L, D)
        NDArray cos = as(emb.cos().expandDims(1), x.getDataType());                        // (B, 1, L, D)
        NDArray sin = as(emb.sin().expandDims(1), x.getDataType());                        // (B, 1, L, D)
        NDArray sinSigned = sin.get("..., :" + config.headDim() / 2).neg()                 // (B, 1, L, D/2) -sin
                .concat(sin.get("..., " + config.headDim() / 2 + ":"), 3);               // (B, 1, L, D)  [-sin, sin]
        for (int l = 0; l < config.numLayers(); l++) {
            int layer = l;
            x = scoped(x, in -> llamaAttention(layer, in, bias, cos, sinSigned, scale, cache)); // (B, L, H)
            x = scoped(x, in -> llamaMlp(layer, in));                                        // (B, L, H)
        }
        return rmsNorm(x, p("model.norm.weight"));                                          // (B, L, H)
    }

    /**
     * Runs half a block (attention or MLP, each with its residual) so that its temporaries die when it returns: the
     * input moves into a sub-manager of its manager, every op result lands there (DJL gives a result its first
     * operand's manager), the output moves back to the caller's manager and the sub-manager closes, freeing the input
     * and the intermediates. Without this DJL keeps every layer's activations until the caller's manager closes (a
     * no-grad forward at 113M parameters held about 10x PyTorch's memory). Under a gradient collector nothing backward
     * needs is lost: autograd holds its own references to the tensors it saved; closing a DJL array drops only the
     * kit's. (Arrays made from Java buffers share the buffer with torch and must outlive backward: the constants the
     * blocks use are made by the caller, outside these scopes.)
     */
    private static NDArray scoped(NDArray x, java.util.function.UnaryOperator<NDArray> half) {
        NDManager owner = x.getManager();
        try (NDManager scope = owner.newSubManager()) {
            x.attach(scope);
            NDArray out = half.apply(x);
            out.attach(owner);
            return out;
        }
    }

    /** f(x) with f's temporaries freed on return, as {@link #scoped}, but x stays alive in its manager. */
    private static NDArray keeping(NDArray x, java.util.function.UnaryOperator<NDArray> f) {
        NDManager owner = x.getManager();
        try (NDManager scope = owner.newSubManager()) {
            x.tempAttach(scope); // back to its owner when the scope closes
            NDArray out = f.apply(x);
            out.attach(owner);
            return out;
        }
    }

    /** x + o_proj(attention(input_layernorm(x))), with RoPE and grouped-query attention. */
    private NDArray llamaAttention(int l, NDArray x, NDArray bias, NDArray cos, NDArray sinSigned, NDArray scale, KvCache cache) {
        String p = "model.layers." + l + ".";
        long batch = x.getShape().get(0), length = x.getShape().get(1);
        int nh = config.numHeads(), nkv = config.numKvHeads(), d = config.headDim(), rep = nh / nkv;
        NDArray h = rmsNorm(x, p(p + "input_layernorm.weight"));                                        // (B, L, H)
        NDArray q = linear(h, p + "self_attn.q_proj").reshape(batch, length, nh, d).transpose(0, 2, 1, 3);  // (B, nh, L, D)
        NDArray k = linear(h, p + "self_attn.k_proj").reshape(batch, length, nkv, d).transpose(0, 2, 1, 3); // (B, nkv, L, D)
        NDArray v = linear(h, p + "self_attn.v_proj").reshape(batch, length, nkv, d).transpose(0, 2, 1, 3); // (B, nkv, L, D)
        q = rope(q, cos, sinSigned);                                                                     // (B, nh, L, D)
        k = rope(k, cos, sinSigned);                                                                     // (B, nkv, L, D)
        if (cache != null) {
            NDArray[] kv = cache.append(l, k, v);
            k = kv[0];                                                                                   // (B, nkv, T, D)
            v = kv[1];                                                                                   // (B, nkv, T, D)
        }
        long total = k.getShape().get(2);
        // grouped-query attention without repeating k/v: heads kv*rep .. kv*rep+rep-1 share kv head kv (HF repeat_kv)
        NDArray qg = q.mul(scale).reshape(batch, nkv, rep * length, d);                                  // (B, nkv, rep*L, D)
        NDArray att = maskedSoftmax(attentionScores(qg, k)                                               // (B, nkv, rep*L, T)
                .reshape(batch, nh, length, total), bias);                                               // (B, nh, L, T)
        NDArray y = att.reshape(batch, nkv, rep * length, total).matMul(v)                              // (B, nkv, rep*L, D)
                .reshape(batch, nh, length, d).transpose(0, 2, 1, 3).reshape(batch, length, nh * d);     // (B, L, H)
        return x.add(linear(y, p + "self_attn.o_proj"));                                                 // (B, L, H)
    }

    /** x + down_proj(silu(gate_proj(h)) * up_proj(h)) with h = post_attention_layernorm(x) (SwiGLU). */
    private NDArray llamaMlp(int l, NDArray x) {
        String p = "model.layers." + l + ".";
        NDArray h = rmsNorm(x, p(p + "post_attention_layernorm.weight"));                                // (B, L, H)
        NDArray gate = keeping(h, in -> {                                                                // (B, L, I) silu(gate(h)),
            NDArray g = linear(in, p + "mlp.gate_proj");                                                 //   freeing gate(h) and its
            return g.mul(Activation.sigmoid(g));                                                         //   sigmoid before up(h)
        });
        NDArray act = gate.mul(linear(h, p + "mlp.up_proj"));                                            // (B, L, I)
        return x.add(linear(act, p + "mlp.down_proj"));                                                  // (B, L, H)
    }

    /**
     * q k^T (B, h, Lq, T). The view k^T is closed at once: with a KV cache k is the cache's array, so the view would
     * belong to the cache's manager (DJL gives a result its first operand's manager) and keep every step's keys alive
     * until generation ends (16.8 GB instead of 1.4 GB for 64 new tokens x 16 prompts at 113M parameters).
     */
    private static NDArray attentionScores(NDArray q, NDArray k) {
        try (NDArray kT = k.transpose(0, 1, 3, 2)) {                       // (B, h, D, T)
            return q.matMul(kT);                                            // (B, h, Lq, T)
        }
    }

    /**
     * softmax(scores + bias) over the keys. fp32 scores take the bias in place, as always. Half-precision scores are
     * added to the fp32 bias out of place (type promotion gives fp32) and normalised in fp32, then cast back: in fp16
     * the bias's -1e9 would become -inf, and a fully masked row (a left-padding query) would give NaN, which 0 * NaN
     * carries into the real positions.
     *
     * @param scores (B, h, L, T) in the weights' dtype
     * @param bias   (B, 1, L, T) fp32, 0 or {@link Nd#NEG_INF}
     * @return (B, h, L, T) in the scores' dtype
     */
    private static NDArray maskedSoftmax(NDArray scores, NDArray bias) {
        if (scores.getDataType() == DataType.FLOAT32) return scores.addi(bias).softmax(-1);
        return scores.add(bias).softmax(-1).toType(scores.getDataType(), false);
    }

    /** x in dtype (x itself when it already is). */
    private static NDArray as(NDArray x, DataType dtype) {
        return x.getDataType() == dtype ? x : x.toType(dtype, false);
    }

    /** q * cos + rotate_half(q) * sin, with rotate_half(q) * sin = cat(q2, q1) * cat(-sin1, sin2). */
    private static NDArray rope(NDArray q, NDArray cos, NDArray sinSigned) {
        NDList halves = q.split(2, 3);                                   // 2 x (B, h, L, D/2)
        NDArray swapped = halves.get(1).concat(halves.get(0), 3);       // (B, h, L, D)
        return q.mul(cos).add(swapped.mul(sinSigned));                   // (B, h, L, D)
    }

    /** nn.Linear: x W^T + b with W (out, in), plus its adapter term. */
    private NDArray linear(NDArray x, String name) {
        NDArray bias = params.get(name + ".bias");
        return adapted(name, x, Linear.linear(x, p(name + ".weight"), bias).head()); // x W^T + b
    }

    /** Every projection's output passes here: adds the LoRA term of module {@code name} when it has an adapter. */
    private NDArray adapted(String name, NDArray x, NDArray y) {
        return lora == null ? y : lora.add(name, x, y);
    }

    /** LlamaRMSNorm: w * x / sqrt(mean(x^2) + eps), the statistics in fp32 whatever the weights' dtype (as HF does). */
    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray x32 = as(x, DataType.FLOAT32);                                                        // (B, L, H)
        NDArray rms = x32.square().mean(new int[] {-1}, true).add((float) config.normEps()).sqrt(); // (B, L, 1)
        return as(x32.div(rms), x.getDataType()).mul(weight);                                       // (B, L, H)
    }

    /** x + c_proj(attention(ln_1(x))). */
    private NDArray gpt2Attention(int l, NDArray x, NDArray bias, NDArray scale, KvCache cache) {
        String p = "transformer.h." + l + ".";
        long batch = x.getShape().get(0), length = x.getShape().get(1);
        int nh = config.numHeads(), d = config.headDim();
        long hidden = config.hiddenSize();
        NDArray h = layerNorm(x, p + "ln_1");                                                            // (B, L, H)
        NDArray qkv = conv1d(h, p + "attn.c_attn");                                                      // (B, L, 3H)
        NDList parts = qkv.split(3, 2);                                                                  // 3 x (B, L, H)
        NDArray q = parts.get(0).reshape(batch, length, nh, d).transpose(0, 2, 1, 3);                    // (B, nh, L, D)
        NDArray k = parts.get(1).reshape(batch, length, nh, d).transpose(0, 2, 1, 3);                    // (B, nh, L, D)
        NDArray v = parts.get(2).reshape(batch, length, nh, d).transpose(0, 2, 1, 3);                    // (B, nh, L, D)
        if (cache != null) {
            NDArray[] kv = cache.append(l, k, v);
            k = kv[0];                                                                                   // (B, nh, T, D)
            v = kv[1];                                                                                   // (B, nh, T, D)
        }
        NDArray att = maskedSoftmax(attentionScores(q.mul(scale), k), bias);                             // (B, nh, L, T)
        NDArray y = att.matMul(v).transpose(0, 2, 1, 3).reshape(batch, length, hidden);                  // (B, L, H)
        return x.add(conv1d(y, p + "attn.c_proj"));                                                      // (B, L, H)
    }

    /** GPT-2 Conv1D: x W + b with W (in, out), plus its adapter term. */
    private NDArray conv1d(NDArray x, String name) {
        return adapted(name, x, x.matMul(p(name + ".weight")).add(p(name + ".bias")));
    }

    private NDArray layerNorm(NDArray x, String name) {
        Shape normalized = new Shape(config.hiddenSize());
        return LayerNorm.layerNorm(x, normalized, p(name + ".weight"), p(name + ".bias"), (float) config.normEps()).head();
    }

    /** Constants of gelu_new as 0-d arrays of the step's manager: 0.5, sqrt(2/pi), 0.044715. */
    private static NDList geluConstants(NDManager m) {
        return new NDList(Nd.scalar(m, 0.5f), Nd.scalar(m, (float) Math.sqrt(2.0 / Math.PI)), Nd.scalar(m, 0.044715f));
    }

    /** gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
    private static NDArray geluNew(NDArray x, NDList c) {
        NDArray inner = x.mul(x).mul(x).mul(c.get(2)).add(x).mul(c.get(1));   // (.., I)
        return x.mul(Activation.tanh(inner).add(1f)).mul(c.get(0));            // (.., I)
    }
}
