package saferlhf.pipeline;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import saferlhf.KitPaths;
import saferlhf.model.Lora;
import saferlhf.model.LoraConfig;
import saferlhf.model.ModelConfig;
import saferlhf.model.ModelFiles;
import saferlhf.model.Tokenizer;
import saferlhf.rl.PpoConfig;
import saferlhf.train.DpoConfig;
import saferlhf.train.Models;
import saferlhf.train.ScoreModelConfig;
import saferlhf.train.SftConfig;
import saferlhf.train.TrainingArguments;

/**
 * The expected resident memory of a run, part by part, before it starts ({@code saferlhf STAGE ... --plan [SIZE]}).
 *
 * <p>Every figure follows from the model's {@code config.json} and the stage's config; the only measured constant is
 * {@link #RUNTIME_MIB}. What a pass keeps alive was counted op by op in {@code Transformer} (a LLaMA layer, B sequences
 * of L tokens, hidden H, MLP width I, key/value width K, n heads, T keys; float32):
 * <ul>
 *   <li><b>training</b>, what autograd saves for backward, every layer at once: in the attention half the block's input,
 *       the RMSNorm quotient and output, q scaled, k after RoPE, v, the softmax and the attention output before o_proj
 *       (5 B L H + 2 B L K + B n L T); in the MLP half the norm's three and the gate, its sigmoid, their product, up and
 *       the activation (3 B L H + 5 B L I); after the last layer the final norm's three and, for a language model, the
 *       logits and their log-softmax (3 B L H + 2 B L V). Backward then holds about one more layer's worth of gradients.</li>
 *   <li><b>a forward pass without gradients</b> holds one half-block's intermediates at a time (they are freed when it
 *       returns): the attention half 13 B L H + 6 B L K + 2 B n L T at its peak, the MLP half 5 B L H + 3 B L I; plus
 *       the logits.</li>
 *   <li><b>KV cache</b>: 2 layers B K T.</li>
 * </ul>
 * GPT-2 blocks are estimated with the same counts (K = H). Checked against measured peaks in {@code docs/memory.md}
 * (bench memory) and {@code docs/real-models.md} (the stages at 113M).
 */
public final class MemoryPlan {
    private MemoryPlan() {}

    /** JVM + libtorch resident before any model (measured 188-206 MiB by {@code saferlhf bench memory}, tcmalloc). */
    public static final double RUNTIME_MIB = 200;
    private static final double MIB = 1024.0 * 1024.0;
    private static final double FP32 = 4;

    /**
     * One part of a run's memory.
     *
     * @param fp32Mib       with every model in float32
     * @param halfFrozenMib with the frozen models (reference policy, reward and cost models) in float16
     */
    public record Part(String name, double fp32Mib, double halfFrozenMib, String what) {}

    /** A run's parts; the peak is their sum, the transient parts being the largest of the run's phases. */
    public record Plan(String stage, List<Part> parts, List<String> notes) {
        public double peakMib() { return parts.stream().mapToDouble(Part::fp32Mib).sum(); }

        public double peakHalfFrozenMib() { return parts.stream().mapToDouble(Part::halfFrozenMib).sum(); }

        /** A readable table; with {@code budgetMib} > 0, whether the run fits. */
        public String table(double budgetMib) {
            StringBuilder t = new StringBuilder();
            t.append(String.format(Locale.ROOT, "memory plan: %s%n", stage));
            t.append(String.format(Locale.ROOT, "  %-44s %12s %16s  %s%n", "part", "fp32 MiB", "float16 frozen", ""));
            for (Part p : parts) {
                t.append(String.format(Locale.ROOT, "  %-44s %12.0f %16.0f  %s%n", p.name(), p.fp32Mib(), p.halfFrozenMib(), p.what()));
            }
            t.append(String.format(Locale.ROOT, "  %-44s %12.0f %16.0f%n", "expected peak (resident)", peakMib(), peakHalfFrozenMib()));
            if (budgetMib > 0) {
                t.append(String.format(Locale.ROOT, "  fits in %.0f MiB: %s (fp32), %s (frozen_dtype=float16, for a GPU)%n", budgetMib,
                        peakMib() <= budgetMib ? "yes" : "NO", peakHalfFrozenMib() <= budgetMib ? "yes" : "NO"));
            }
            for (String note : notes) t.append("  note: ").append(note).append(System.lineSeparator());
            return t.toString();
        }
    }

    // ---- building blocks (bytes) -----------------------------------------------------------------------------------

    static double weights(ModelConfig c) { return FP32 * c.parameterCount(); }

    private static double kvWidth(ModelConfig c) { return (double) c.numKvHeads() * c.headDim(); }

    /** What autograd keeps for backward over the whole model, for {@code seqs} sequences of {@code len} tokens, full fine-tuning. */
    static double trainingActivations(ModelConfig c, long seqs, long len, boolean languageModelHead) {
        return trainingActivations(c, seqs, len, languageModelHead, null);
    }

    /**
     * As {@link #trainingActivations(ModelConfig, long, long, boolean)} with LoRA adapters ({@code lora}, null: full
     * fine-tuning). A frozen weight needs no gradient, so backward through it keeps less: a projection's input is kept
     * only when the projection trains (or carries an adapter), a norm's output only when its weight trains. Per layer:
     * always the block's input, q scaled, k, v, the softmax, the MLP half's input, gate, sigmoid, their product and up
     * (3 H + 2 K + 4 I + n L T); with the attention's input projections adapted (or trained) the normed input (H), with
     * o_proj its input (H), with gate_proj or up_proj the MLP's normed input (H), with down_proj the activation (I),
     * and with trained norms both norms' quotients (2 H).
     */
    static double trainingActivations(ModelConfig c, long seqs, long len, boolean languageModelHead, LoraConfig lora) {
        double tokens = (double) seqs * len, h = c.hiddenSize(), i = c.intermediateSize();
        java.util.function.Predicate<String> trains = module -> lora == null
                || lora.targetsFor(c).stream().anyMatch(t -> module.equals(t) || module.endsWith("." + t) || t.endsWith(module));
        boolean gpt2 = c.isGpt2();
        double kept = 3 * h + 2 * kvWidth(c) + 4 * i;
        if (trains.test(gpt2 ? "c_attn" : "q_proj") || trains.test("k_proj") || trains.test("v_proj")) kept += h;
        if (trains.test(gpt2 ? "attn.c_proj" : "o_proj")) kept += h;
        if (trains.test(gpt2 ? "c_fc" : "gate_proj") || trains.test("up_proj")) kept += h;
        if (trains.test(gpt2 ? "mlp.c_proj" : "down_proj")) kept += i;
        if (lora == null) kept += 2 * h;
        double perLayer = tokens * kept + (double) seqs * c.numHeads() * len * len;
        double head = tokens * (lora == null ? 3 : 1) * h + (languageModelHead ? 2 * tokens * c.vocabSize() : 0);
        double backward = perLayer; // the gradients of one layer's activations while backward passes through it
        return FP32 * (c.numLayers() * perLayer + head + backward);
    }

    /** The largest set of intermediates a forward pass without gradients holds at once (one half-block's). */
    static double forwardTransient(ModelConfig c, long seqs, long len, long keys, boolean languageModelHead) {
        double tokens = (double) seqs * len, h = c.hiddenSize(), i = c.intermediateSize();
        double attention = tokens * (13 * h + 6 * kvWidth(c)) + 2.0 * seqs * c.numHeads() * len * keys;
        double mlp = tokens * (5 * h + 3 * i);
        double head = languageModelHead ? 2 * tokens * c.vocabSize() : 0;
        return FP32 * (Math.max(attention, mlp) + head);
    }

    static double kvCache(ModelConfig c, long seqs, long len) {
        return FP32 * 2 * c.numLayers() * seqs * kvWidth(c) * len;
    }

    private static Part part(String name, double fp32Bytes, double halfBytes, String what) {
        return new Part(name, fp32Bytes / MIB, halfBytes / MIB, what);
    }

    private static Part same(String name, double bytes, String what) { return part(name, bytes, bytes, what); }

    private static String params(long n) {
        return n >= 1_000_000 ? String.format(Locale.ROOT, "%.1fM params", n / 1e6) : String.format(Locale.ROOT, "%,d params", n);
    }

    /** Weights, gradients and AdamW moments of a model that trains (every parameter, or its LoRA adapters on a frozen base). */
    private static void trained(List<Part> parts, String role, ModelConfig c, LoraConfig lora) {
        long all = c.parameterCount();
        if (lora == null) {
            parts.add(same(role + " weights", FP32 * all, params(all) + ", float32 (trained)"));
            parts.add(same(role + " gradients", FP32 * all, "one per trained weight"));
            parts.add(same(role + " AdamW moments", 2 * FP32 * all, "m and v"));
        } else {
            long adapters = Lora.parameterCount(c, lora);
            parts.add(same(role + " base weights", FP32 * all, params(all) + ", float32, frozen (LoRA)"));
            parts.add(same(role + " LoRA adapters + grads + AdamW", 4 * FP32 * adapters, params(adapters) + " x 4"));
        }
    }

    // ---- inference parts of the benchmark ------------------------------------------------------------------------

    /** A no-grad forward pass of {@code seqs x len} tokens (logits included). */
    public static Plan forward(ModelConfig c, int seqs, int len) {
        List<Part> parts = new ArrayList<>();
        parts.add(same("runtime", RUNTIME_MIB * MIB, "JVM + libtorch"));
        parts.add(same("weights", weights(c), params(c.parameterCount()) + ", float32"));
        parts.add(same("activations (one half-block)", forwardTransient(c, seqs, len, len, true), seqs + " x " + len + " tokens, no gradients"));
        return new Plan("forward " + seqs + " x " + len, parts, List.of());
    }

    /** KV-cache generation of {@code newTokens} for {@code seqs} prompts of {@code promptLength} tokens. */
    public static Plan generation(ModelConfig c, int seqs, int promptLength, int newTokens) {
        List<Part> parts = new ArrayList<>();
        parts.add(same("runtime", RUNTIME_MIB * MIB, "JVM + libtorch"));
        parts.add(same("weights", weights(c), params(c.parameterCount()) + ", float32"));
        parts.add(same("KV cache", kvCache(c, seqs, promptLength + newTokens), seqs + " x " + (promptLength + newTokens) + " positions"));
        parts.add(same("activations (prompt, one half-block)", forwardTransient(c, seqs, promptLength, promptLength, true),
                "the prompt's forward pass"));
        return new Plan("generation " + seqs + " x (" + promptLength + " + " + newTokens + ")", parts, List.of());
    }

    /** A language-model training step with AdamW on {@code seqs x len} tokens. */
    public static Plan trainStep(ModelConfig c, int seqs, int len) {
        List<Part> parts = new ArrayList<>();
        parts.add(same("runtime", RUNTIME_MIB * MIB, "JVM + libtorch"));
        trained(parts, "model", c, null);
        parts.add(same("activations (training)", trainingActivations(c, seqs, len, true), seqs + " x " + len + " tokens"));
        return new Plan("training step " + seqs + " x " + len, parts, List.of());
    }

    // ---- stages ---------------------------------------------------------------------------------------------------

    /** SFT: the policy trains on {@code per_device_train_batch_size} sequences of up to {@code max_length} tokens. */
    public static Plan sft(SftConfig cfg) throws IOException {
        ModelConfig c = modelConfig(cfg.modelNameOrPath(), cfg.tokenizer());
        List<Part> parts = new ArrayList<>();
        parts.add(same("runtime", RUNTIME_MIB * MIB, "JVM + libtorch"));
        trained(parts, "policy", c, cfg.lora());
        parts.add(same("activations (training)", trainingActivations(c, cfg.perDeviceTrainBatchSize(), cfg.maxLength(), true, cfg.lora()),
                cfg.perDeviceTrainBatchSize() + " x " + cfg.maxLength() + " tokens"));
        return new Plan("sft " + describe(c), parts, notes(cfg));
    }

    /** Reward or cost model: a pair is two sequences, so a micro-batch is 2 x per_device_train_batch_size sequences. */
    public static Plan scoreModel(ScoreModelConfig cfg) throws IOException {
        ModelConfig c = modelConfig(cfg.modelNameOrPath(), cfg.tokenizer());
        List<Part> parts = new ArrayList<>();
        parts.add(same("runtime", RUNTIME_MIB * MIB, "JVM + libtorch"));
        trained(parts, cfg.scoreType() + " model", c, cfg.lora());
        int seqs = 2 * cfg.perDeviceTrainBatchSize();
        parts.add(same("activations (training)", trainingActivations(c, seqs, cfg.maxLength(), false, cfg.lora()),
                seqs + " x " + cfg.maxLength() + " tokens (better and worse of each pair)"));
        return new Plan(cfg.scoreType() + " model " + describe(c), parts, notes(cfg));
    }

    /** DPO: the policy trains on pairs; the frozen reference (or, with LoRA, the base) scores them without gradients. */
    public static Plan dpo(DpoConfig cfg) throws IOException {
        ModelConfig c = modelConfig(cfg.modelNameOrPath(), cfg.tokenizer());
        List<Part> parts = new ArrayList<>();
        parts.add(same("runtime", RUNTIME_MIB * MIB, "JVM + libtorch"));
        trained(parts, "policy", c, cfg.lora());
        if (cfg.lora() == null) parts.add(part("reference policy (frozen)", weights(c), weights(c) / 2, params(c.parameterCount())));
        int seqs = 2 * cfg.perDeviceTrainBatchSize();
        parts.add(same("activations (training)", trainingActivations(c, seqs, cfg.maxLength(), true, cfg.lora()),
                seqs + " x " + cfg.maxLength() + " tokens (better and worse of each pair)"));
        return new Plan("dpo " + describe(c), parts, notes(cfg));
    }

    /**
     * PPO, PPO-Lagrangian, reward shaping: the actor and one critic per score (reward; cost with PPO-Lagrangian) train;
     * the group-relative PPO-Lagrangian has no critics. The reference policy, reward and cost models are frozen. Phases:
     * rollouts (KV-cache generation of per_device_prompt_batch_size * group_size sequences up to max_length, then no-grad scoring of them), and updates
     * (per_device_train_batch_size sequences through the actor, then each critic). The peak takes the largest phase.
     */
    public static Plan ppo(PpoConfig cfg) throws IOException {
        ModelConfig actor = modelConfig(cfg.actorModelNameOrPath(), "");
        ModelConfig reward = modelConfig(cfg.rewardModelNameOrPath(), "");
        ModelConfig cost = cfg.usesCost() ? modelConfig(cfg.costModelNameOrPath(), "") : null;
        ModelConfig rewardCritic = cfg.groupRelative() ? null
                : blank(cfg.rewardCriticModelNameOrPath()) ? reward : modelConfig(cfg.rewardCriticModelNameOrPath(), "");
        ModelConfig costCritic = !cfg.learnsLambda() || cfg.groupRelative() ? null
                : blank(cfg.costCriticModelNameOrPath()) ? cost : modelConfig(cfg.costCriticModelNameOrPath(), "");
        List<Part> parts = new ArrayList<>();
        parts.add(same("runtime", RUNTIME_MIB * MIB, "JVM + libtorch"));
        trained(parts, "actor", actor, cfg.actorLora());
        if (rewardCritic != null) trained(parts, "reward critic", rewardCritic, cfg.criticLora());
        if (costCritic != null) trained(parts, "cost critic", costCritic, cfg.criticLora());
        if (cfg.actorLora() == null) {
            parts.add(part("reference policy (frozen)", weights(actor), weights(actor) / 2, params(actor.parameterCount())));
        }
        parts.add(part("reward model (frozen)", weights(reward), weights(reward) / 2, params(reward.parameterCount())));
        if (cost != null) parts.add(part("cost model (frozen)", weights(cost), weights(cost) / 2, params(cost.parameterCount())));
        int prompts = cfg.rolloutSize(), train = cfg.perDeviceTrainBatchSize(), len = cfg.maxLength();
        double rollout = kvCache(actor, prompts, len) + forwardTransient(actor, prompts, len, len, true);
        double update = Math.max(trainingActivations(actor, train, len, true, cfg.actorLora()),
                rewardCritic == null ? 0 : trainingActivations(rewardCritic, train, len, false, cfg.criticLora()));
        String phase = rollout > update
                ? "rollout: KV cache of " + prompts + " x " + len + " + a no-grad forward pass of them"
                : "update: " + train + " x " + len + " tokens through the actor (critics after it)";
        parts.add(same("activations (largest phase)", Math.max(rollout, update), phase));
        List<String> notes = new ArrayList<>();
        if (!cfg.ptxDatasets().isBlank() && cfg.ptxCoeff() > 0) notes.add("PTX: an SFT batch through the actor too, after the RL loss (same size)");
        return new Plan(cfg.algorithm() + " actor " + describe(actor), parts, notes);
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    /** A memory size such as {@code 24g}, {@code 80G}, {@code 512m} or {@code 16384} (MiB) in MiB. */
    public static double parseMib(String size) {
        String s = size.strip().toLowerCase(Locale.ROOT).replaceAll("i?b$", "");
        double factor = s.endsWith("t") ? 1024 * 1024 : s.endsWith("g") ? 1024 : s.endsWith("m") ? 1 : 0;
        try {
            return factor == 0 ? Double.parseDouble(s) : Double.parseDouble(s.substring(0, s.length() - 1)) * factor;
        } catch (NumberFormatException e) {
            throw new saferlhf.util.InputError("--plan '" + size + "': expected a memory size such as 24g, 80g or 512m");
        }
    }

    private static boolean blank(String s) { return s == null || s.isBlank(); }

    private static String describe(ModelConfig c) {
        return String.format(Locale.ROOT, "(%s H%d, %d layers, %d heads / %d KV, MLP %d, vocab %d)", c.modelType(), c.hiddenSize(),
                c.numLayers(), c.numHeads(), c.numKvHeads(), c.intermediateSize(), c.vocabSize());
    }

    private static List<String> notes(TrainingArguments args) {
        return List.of("micro-batch of per_device_train_batch_size; gradient accumulation (" + args.gradientAccumulationSteps()
                + ") adds no memory");
    }

    /** The architecture behind a stage's model key: a preset (sized to the tokenizer), a model folder or an adapter folder. */
    static ModelConfig modelConfig(String modelNameOrPath, String tokenizer) throws IOException {
        if (modelNameOrPath.startsWith(Models.PRESET_PREFIX)) {
            try (Tokenizer tok = Models.tokenizer(tokenizer, modelNameOrPath)) {
                return Models.preset(modelNameOrPath, tok.vocabSize());
            }
        }
        return ModelFiles.readConfig(KitPaths.resolve(modelNameOrPath));
    }
}
