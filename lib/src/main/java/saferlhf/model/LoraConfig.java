package saferlhf.model;

import java.util.Arrays;
import java.util.List;

/**
 * What low-rank adapters to put on a model (PEFT's {@code LoraConfig}): rank {@code r}, {@code lora_alpha},
 * {@code lora_dropout} and the target modules by Hugging Face module name. A module is adapted when its full name
 * (e.g. {@code model.layers.0.self_attn.q_proj}) equals a target or ends with {@code "." + target}, as PEFT matches
 * a list of target modules; an empty list means PEFT's default for the family ({@code q_proj, v_proj} for LLaMA,
 * Qwen2 and Mistral; {@code c_attn} for GPT-2).
 *
 * @param rank          r, the adapters' inner dimension (>= 1)
 * @param alpha         lora_alpha; the adapter term is scaled by alpha / r
 * @param dropout       lora_dropout, applied to the adapters' input while gradients are recorded, in [0, 1)
 * @param targetModules HF module names (short, like {@code q_proj}, or longer suffixes, like {@code mlp.c_proj})
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targetModules) {
    public LoraConfig {
        targetModules = List.copyOf(targetModules);
        check("lora_", rank, alpha, dropout);
        if (rank < 1) throw new IllegalArgumentException("lora_rank must be >= 1 for an adapter");
    }

    /** PEFT's default target modules of a family ({@code TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING}). */
    public static List<String> defaultTargets(ModelConfig model) {
        return model.isGpt2() ? List.of("c_attn") : List.of("q_proj", "v_proj");
    }

    /** alpha / r, the factor of the adapter term. */
    public double scaling() { return alpha / rank; }

    /** The targets to use on {@code model}: the given ones, or the family's default when none were given. */
    public List<String> targetsFor(ModelConfig model) {
        return targetModules.isEmpty() ? defaultTargets(model) : targetModules;
    }

    /**
     * The adapters a stage config asks for: null when {@code rank} is 0 (LoRA off).
     *
     * @param targets comma-separated module names; empty for the family's default
     */
    public static LoraConfig of(int rank, double alpha, double dropout, String targets) {
        if (rank == 0) return null;
        return new LoraConfig(rank, alpha, dropout, parseTargets(targets));
    }

    /** {@code "q_proj, v_proj"} -> [q_proj, v_proj]; blank -> []. */
    public static List<String> parseTargets(String targets) {
        if (targets == null || targets.isBlank()) return List.of();
        return Arrays.stream(targets.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /**
     * Validates a stage config's LoRA keys, naming them with {@code prefix} ({@code lora_}, {@code actor_lora_},
     * {@code critic_lora_}): rank 0 (off) or more, alpha > 0, dropout in [0, 1).
     */
    public static void check(String prefix, int rank, double alpha, double dropout) {
        if (rank < 0) throw new IllegalArgumentException(prefix + "rank must be >= 0 (0 = no adapters)");
        if (!(alpha > 0)) throw new IllegalArgumentException(prefix + "alpha must be > 0");
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException(prefix + "dropout must be in [0, 1)");
    }
}
