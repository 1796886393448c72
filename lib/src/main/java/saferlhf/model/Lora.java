package saferlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.pytorch.jni.JniUtils;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import saferlhf.util.InputError;

/**
 * Low-rank adapters (LoRA, Hu et al. 2021) on the projections of one {@link Transformer}, with PEFT's semantics:
 * <pre>
 * y = W x + b + (alpha / r) * B (A (dropout(x)))      A (r, in), B (out, r)
 * </pre>
 * A starts as PEFT's default {@code kaiming_uniform_(a=sqrt(5))}, which is U(-1/sqrt(in), 1/sqrt(in)); B starts at
 * zero, so an adapted model computes exactly what its base computes until the first update. The base weights are
 * frozen ({@code requires_grad} off: no gradient, no optimizer state); only A and B (and a score model's head) train.
 *
 * <p>Adapters are keyed by the Hugging Face module name ({@code model.layers.0.self_attn.q_proj},
 * {@code transformer.h.0.attn.c_attn}); {@link #namedParameters()} names them {@code MODULE.lora_A.weight} and
 * {@code MODULE.lora_B.weight}, PEFT's names without its {@code base_model.model.} prefix (see {@link PeftFiles}).
 * GPT-2's Conv1D weights are (in, out), but A and B have the same (r, in) / (out, r) shapes as for {@code nn.Linear}:
 * PEFT's {@code fan_in_fan_out} only transposes B A when it is merged into W.
 *
 * <p>Dropout is applied only while gradients are recorded (inside a {@code GradientCollector}: PEFT's training mode);
 * rollouts, evaluation and generation see no dropout. Each draw reseeds libtorch's generator from (seed, number of
 * draws so far), and that count is saved with the adapters, so a resumed run draws the same masks as an uninterrupted
 * one. Nothing else in the kit draws from libtorch's generator.
 *
 * <p>{@link #off()} switches the adapters off for a scope ({@code try (var off = lora.off()) {...}}): the base model,
 * which is PPO's and DPO's frozen reference policy, without a second copy of the weights.
 */
public final class Lora {
    /** One adapted projection: A (r, in), B (out, r); {@code conv1d} for GPT-2's Conv1D (base weight (in, out)). */
    record Adapter(String module, NDArray a, NDArray b, boolean conv1d) {}

    private final LoraConfig config;
    private final List<String> targets;
    private final String baseModelNameOrPath;
    private final LinkedHashMap<String, Adapter> adapters = new LinkedHashMap<>();
    private final float scaling;
    private final long seed;
    private long dropoutDraws;
    private boolean enabled = true;

    private Lora(LoraConfig config, List<String> targets, String baseModelNameOrPath, long seed) {
        this.config = config;
        this.targets = List.copyOf(targets);
        this.baseModelNameOrPath = baseModelNameOrPath;
        this.scaling = (float) config.scaling();
        this.seed = seed;
    }

    /**
     * Puts adapters on every targeted projection of {@code body} (on its manager) and freezes the body's weights.
     *
     * @param baseModelNameOrPath where the base weights come from (written to {@code adapter_config.json})
     * @throws saferlhf.util.InputError when a target matches no module, naming the modules there are
     */
    static Lora attach(Transformer body, LoraConfig config, String baseModelNameOrPath, long seed) {
        List<String> targets = config.targetsFor(body.config);
        Lora lora = new Lora(config, targets, baseModelNameOrPath, seed);
        Map<String, long[]> modules = projections(body.config);
        requireTargets("target_modules", body.config, config);
        SplittableRandom rng = new SplittableRandom(seed ^ 0x10A4_5EEDL);
        Weights.Staging staging = new Weights.Staging();
        int r = config.rank();
        for (Map.Entry<String, long[]> e : modules.entrySet()) {
            String module = e.getKey();
            if (targets.stream().noneMatch(t -> matches(module, t))) continue;
            boolean conv1d = body.config.isGpt2();
            long in = conv1d ? e.getValue()[0] : e.getValue()[1], out = conv1d ? e.getValue()[1] : e.getValue()[0];
            // kaiming_uniform_(A, a=sqrt(5)): bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)) -> 1 / sqrt(in)
            float[] a = new float[Math.toIntExact(r * in)];
            double bound = 1.0 / Math.sqrt(in);
            for (int i = 0; i < a.length; i++) a[i] = (float) ((2 * rng.nextDouble() - 1) * bound);
            NDArray aArray = staging.owned(body.manager, a, new Shape(r, in));        // (r, in), libtorch's memory
            NDArray bArray = body.manager.zeros(new Shape(out, r));                    // (out, r)
            aArray.setRequiresGradient(true);
            bArray.setRequiresGradient(true);
            lora.adapters.put(module, new Adapter(module, aArray, bArray, conv1d));
        }
        body.setTrainable(false);
        return lora;
    }

    /**
     * Refuses target modules that match no projection of {@code model} (before any weight is loaded, since only the
     * architecture matters), naming the config key and the modules there are.
     *
     * @param key the key that gave the targets, e.g. {@code actor_lora_target_modules}
     */
    public static void requireTargets(String key, ModelConfig model, LoraConfig config) {
        Map<String, long[]> modules = projections(model);
        for (String target : config.targetsFor(model)) {
            if (modules.keySet().stream().noneMatch(m -> matches(m, target))) {
                throw new InputError(key + ": '" + target + "' matches no projection of this " + model.modelType()
                        + " model (targets: " + String.join(", ", shortNames(model)) + ")");
            }
        }
    }

    /** PEFT's match of a module name against one target: equal, or ending with {@code "." + target}. */
    static boolean matches(String module, String target) {
        return module.equals(target) || module.endsWith("." + target);
    }

    /** Parameters of the adapters {@code config} puts on {@code model}: r (in + out) per adapted projection. */
    public static long parameterCount(ModelConfig model, LoraConfig config) {
        List<String> targets = config.targetsFor(model);
        long n = 0;
        for (Map.Entry<String, long[]> e : projections(model).entrySet()) {
            if (targets.stream().anyMatch(t -> matches(e.getKey(), t))) n += (long) config.rank() * (e.getValue()[0] + e.getValue()[1]);
        }
        return n;
    }

    /** Every projection LoRA can adapt: HF module name -> weight shape in the checkpoint's layout. */
    static Map<String, long[]> projections(ModelConfig config) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (WeightSpec spec : Transformer.specs(config)) {
            String name = spec.hfName();
            if (spec.shape().length != 2 || !name.endsWith(".weight") || name.contains("wte.") || name.contains("wpe.")
                    || name.contains("embed_tokens.")) continue;
            out.put(name.substring(0, name.length() - ".weight".length()), spec.shape());
        }
        return out;
    }

    private static List<String> shortNames(ModelConfig config) {
        return config.isGpt2() ? List.of("c_attn", "attn.c_proj", "c_fc", "mlp.c_proj", "c_proj")
                : List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    }

    // ---- forward -------------------------------------------------------------------------------------------------

    /**
     * The base projection's output plus the adapter term, when {@code module} has an adapter and adapters are on.
     *
     * @param x (.., in) the projection's input
     * @param y (.., out) the base projection's output W x + b
     * @return (.., out) y + (alpha / r) * B (A (dropout(x)))
     */
    NDArray add(String module, NDArray x, NDArray y) {
        Adapter adapter = enabled ? adapters.get(module) : null;
        if (adapter == null) return y;
        NDManager m = x.getManager();
        NDArray input = x;
        if (config.dropout() > 0 && JniUtils.isGradMode()) {
            JniUtils.setSeed(seed * 0x9E3779B97F4A7C15L + dropoutDraws++);                       // deterministic masks
            input = Dropout.dropout(x, (float) config.dropout(), true).head();                  // (.., in)
        }
        NDArray down = Linear.linear(input, adapter.a()).head();                                  // (.., r)   x A^T
        NDArray up = Linear.linear(down, adapter.b()).head();                                     // (.., out) (x A^T) B^T
        return y.add(up.mul(Nd.scalar(m, scaling)));                                              // (.., out)
    }

    /** Switches the adapters off until the returned scope closes (then restores the previous state), even on errors. */
    public Off off() {
        Off scope = new Off(enabled);
        enabled = false;
        return scope;
    }

    /** The scope of {@link #off()}: closing it switches the adapters back to what they were. */
    public final class Off implements AutoCloseable {
        private final boolean before;

        private Off(boolean before) { this.before = before; }

        @Override
        public void close() { enabled = before; }
    }

    public boolean enabled() { return enabled; }

    // ---- parameters and state ------------------------------------------------------------------------------------

    public LoraConfig config() { return config; }

    /** The target modules in use (the given ones, or the family's default). */
    public List<String> targets() { return targets; }

    public String baseModelNameOrPath() { return baseModelNameOrPath; }

    /** The adapted modules' HF names, in checkpoint order. */
    public List<String> modules() { return new ArrayList<>(adapters.keySet()); }

    Adapter adapter(String module) { return adapters.get(module); }

    /** {@code MODULE.lora_A.weight} (r, in) and {@code MODULE.lora_B.weight} (out, r), live arrays. */
    public Map<String, NDArray> namedParameters() {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        for (Adapter a : adapters.values()) {
            out.put(a.module() + ".lora_A.weight", a.a());
            out.put(a.module() + ".lora_B.weight", a.b());
        }
        return Collections.unmodifiableMap(out);
    }

    /** Host copies of {@link #namedParameters()}. */
    public Map<String, HostTensor> toHost() {
        LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
        namedParameters().forEach((name, array) -> out.put(name, HostTensor.of(array)));
        return out;
    }

    /** How many dropout masks were drawn (saved with the adapters, so that a resumed run draws the same ones). */
    public long dropoutDraws() { return dropoutDraws; }

    /**
     * Copies saved adapter weights into the live adapters, in place (resume: before the optimizer is built).
     *
     * @param weights {@code MODULE.lora_A.weight} / {@code MODULE.lora_B.weight} host tensors
     * @throws InputError listing missing tensors and shape mismatches (a damaged or another run's checkpoint)
     */
    public void load(Map<String, HostTensor> weights, long dropoutDraws) {
        List<String> problems = new ArrayList<>();
        namedParameters().forEach((name, array) -> {
            HostTensor t = weights.get(name);
            if (t == null) problems.add("missing " + name);
            else if (!Arrays.equals(t.shape(), array.getShape().getShape())) {
                problems.add(name + " " + Arrays.toString(t.shape()) + " (expected " + array.getShape() + ")");
            }
        });
        if (!problems.isEmpty()) throw new InputError("cannot load adapters: " + String.join(", ", problems));
        namedParameters().forEach((name, array) -> array.set(weights.get(name).data()));
        this.dropoutDraws = dropoutDraws;
    }

    /** Number of adapter parameters. */
    public long parameterCount() {
        long n = 0;
        for (NDArray p : namedParameters().values()) n += p.size();
        return n;
    }
}
