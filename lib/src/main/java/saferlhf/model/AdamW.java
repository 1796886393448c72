package saferlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW (torch.optim.AdamW semantics) over named parameters, with the reference's betas (0.9, 0.95) and eps 1e-8, and
 * decoupled weight decay applied only to {@link #decays(String) weight matrices} (not to biases or norm weights, as
 * the reference's {@code get_optimizer_grouped_parameters}). The update runs on NDArrays outside autograd, in place
 * (DJL's fused Adam update, one native call per parameter); it zeroes the gradients after updating (PyTorch
 * accumulates them otherwise).
 *
 * <p>State ({@link #m()}, {@link #v()}, {@link #step()}) is keyed by the parameters' HF names, for checkpoints.
 */
public final class AdamW implements AutoCloseable {
    public record Config(double beta1, double beta2, double eps, double weightDecay) {
        public Config {
            if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) throw new IllegalArgumentException("betas must be in [0, 1)");
            if (eps <= 0) throw new IllegalArgumentException("eps must be > 0");
            if (weightDecay < 0) throw new IllegalArgumentException("weight decay must be >= 0");
        }

        /** The reference's DeepSpeed optimizer: betas (0.9, 0.95), eps 1e-8. */
        public static Config reference(double weightDecay) { return new Config(0.9, 0.95, 1e-8, weightDecay); }
    }

    private final Config config;
    private final Map<String, NDArray> params;
    private final NDManager manager;
    private final LinkedHashMap<String, NDArray> m = new LinkedHashMap<>();
    private final LinkedHashMap<String, NDArray> v = new LinkedHashMap<>();
    private long step;

    /**
     * @param params HF name -> parameter (e.g. {@link CausalLM#trainableParameters()}); frozen ones (that record no
     *               gradient, such as the base weights under LoRA adapters) get no state and are never updated
     */
    public AdamW(Map<String, NDArray> params, Config config) {
        this.config = config;
        this.params = new LinkedHashMap<>();
        params.forEach((name, p) -> { if (p.hasGradient()) this.params.put(name, p); });
        if (this.params.isEmpty()) throw new IllegalArgumentException("no trainable parameters (every parameter is frozen)");
        NDArray any = this.params.values().iterator().next();
        this.manager = any.getManager().newSubManager();
        for (Map.Entry<String, NDArray> e : this.params.entrySet()) {
            m.put(e.getKey(), manager.zeros(e.getValue().getShape()));
            v.put(e.getKey(), manager.zeros(e.getValue().getShape()));
        }
    }

    /** True for parameters that get weight decay: everything but biases and norm weights (LayerNorm / RMSNorm). */
    public static boolean decays(String name) {
        boolean bias = name.endsWith(".bias") || name.endsWith("_bias");
        boolean norm = name.contains("norm.") || name.contains("layernorm") || name.contains(".ln_") || name.startsWith("ln_");
        return !bias && !norm;
    }

    /**
     * One update with learning rate {@code lr}, then zeroes the gradients. Parameters without a gradient are skipped.
     * <pre>
     * m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
     * p = p (1 - lr wd)                                   (decaying parameters only)
     * p = p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
     * </pre>
     */
    public void step(double lr) {
        step++;
        double b1 = config.beta1(), b2 = config.beta2();
        double bc1 = 1 - Math.pow(b1, step), bc2 = 1 - Math.pow(b2, step);
        // torch's update, lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), multiplied through by sqrt(bc2), is DJL's fused
        // Adam update lr' * m / (sqrt(v) + eps') with lr' = lr sqrt(bc2)/bc1 and eps' = eps sqrt(bc2): one native call
        // per parameter instead of about fifteen element-wise ops (same arithmetic up to float rounding).
        float lrCorrected = (float) (lr * Math.sqrt(bc2) / bc1);
        float epsCorrected = (float) (config.eps() * Math.sqrt(bc2));
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            NDArray p = e.getValue();
            if (!p.hasGradient()) continue;
            try (NDArray g = p.getGradient()) {
                if (config.weightDecay() > 0 && decays(e.getKey())) p.muli((float) (1 - lr * config.weightDecay())); // p (1 - lr wd)
                NDArray mi = m.get(e.getKey()), vi = v.get(e.getKey());
                // m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr' m / (sqrt(v) + eps'); then p's gradient is zeroed
                // (PyTorch engine: zeroGrad on the weight). Weight decay 0 here (done above); rescale 1; clip -1 = off.
                p.getNDArrayInternal().adamUpdate(new NDList(p, g, mi, vi), new NDList(p), (float) lr, lrCorrected, 0f, 1f, -1f,
                        (float) b1, (float) b2, epsCorrected, false, false);
            }
        }
    }

    public long step() { return step; }

    public Config config() { return config; }

    /** First moments, by HF name (live arrays). */
    public Map<String, NDArray> m() { return Collections.unmodifiableMap(m); }

    /** Second moments, by HF name (live arrays). */
    public Map<String, NDArray> v() { return Collections.unmodifiableMap(v); }

    /** Writes the moments ({@code m.NAME}, {@code v.NAME}) and the step count to a safetensors file, atomically. */
    public void save(java.nio.file.Path file) throws java.io.IOException {
        Map<String, NDArray> state = new LinkedHashMap<>();
        m.forEach((name, array) -> state.put("m." + name, array));
        v.forEach((name, array) -> state.put("v." + name, array));
        SafeTensors.write(file, LazyTensors.of(state), Map.of("step", String.valueOf(step))); // one tensor at a time
    }

    /** Restores the state written by {@link #save}, reading one moment at a time. */
    public void load(java.nio.file.Path file) throws java.io.IOException {
        SafeTensors tensors = SafeTensors.open(file);
        Weights.Staging staging = new Weights.Staging();
        for (String name : params.keySet()) {
            for (Map<String, NDArray> moments : List.of(m, v)) {
                String key = (moments == m ? "m." : "v.") + name;
                long[] expected = moments.get(name).getShape().getShape();
                if (!tensors.contains(key)) throw new saferlhf.util.InputError(file, "optimizer state lacks " + key);
                if (!java.util.Arrays.equals(tensors.info(key).shape(), expected)) {
                    throw new saferlhf.util.InputError(file, key + " has shape " + java.util.Arrays.toString(tensors.info(key).shape())
                            + ", the parameter " + java.util.Arrays.toString(expected));
                }
                // into memory libtorch owns (see Weights.Staging), straight from the file
                NDArray restored = staging.owned(manager, new ai.djl.ndarray.types.Shape(expected), out -> tensors.readFloats(key, out));
                moments.put(name, restored).close();
            }
        }
        String step = tensors.metadata().get("step");
        if (step == null) throw new saferlhf.util.InputError(file, "no 'step' in the metadata");
        this.step = Long.parseLong(step);
    }

    /** Restores state saved from {@link #m()}, {@link #v()}, {@link #step()}. */
    public void loadState(Map<String, HostTensor> firstMoments, Map<String, HostTensor> secondMoments, long step) {
        for (String name : params.keySet()) {
            HostTensor a = firstMoments.get(name), b = secondMoments.get(name);
            if (a == null || b == null) throw new IllegalArgumentException("optimizer state lacks " + name);
            m.get(name).set(a.data());
            v.get(name).set(b.data());
        }
        this.step = step;
    }

    @Override
    public void close() { manager.close(); }
}
