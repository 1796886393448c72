package saferlhf.train;

/**
 * The arguments every supervised-style trainer shares (SFT, reward and cost models, DPO), under the reference's
 * names. Each stage's config record implements this interface simply by having these components.
 */
public interface TrainingArguments extends Configs.Validated {
    /** Training data: {@code NAME[:PROPORTION[:PATH]]}, comma-separated for a mixture. */
    String trainDatasets();

    /** Evaluation data in the same syntax; empty for none. */
    String evalDatasets();

    /** Tokens per sequence, prompt included (longer sequences are truncated). */
    int maxLength();

    int epochs();

    int perDeviceTrainBatchSize();

    int perDeviceEvalBatchSize();

    int gradientAccumulationSteps();

    double lr();

    /** {@code constant}, {@code linear} or {@code cosine}. */
    String lrSchedulerType();

    double lrWarmupRatio();

    double weightDecay();

    /** Global gradient-norm clipping (the reference's DeepSpeed {@code gradient_clipping}, 1.0). */
    double maxGradNorm();

    long seed();

    /** Run folder: metrics, charts, {@code checkpoint/} (resume state) and {@code model/} (the trained model). */
    String outputDir();

    /** {@code epoch}, {@code steps} or {@code no}. */
    String evalStrategy();

    /** Optimizer steps between evaluations when {@link #evalStrategy()} is {@code steps}. */
    int evalInterval();

    /** Optimizer steps between resumable checkpoints; 0 saves one at the end of each epoch only. */
    int saveInterval();

    /** {@code cpu}, {@code gpu}, {@code gpu:N} or {@code auto}. */
    String device();

    /** LoRA rank r; 0 trains every weight (no adapters). */
    int loraRank();

    /** LoRA alpha: the adapter term is scaled by alpha / r. */
    double loraAlpha();

    /** Dropout on the adapters' input while training, in [0, 1). */
    double loraDropout();

    /** Comma-separated HF module names to adapt ({@code q_proj,v_proj}; {@code c_attn} for GPT-2); empty: PEFT's default. */
    String loraTargetModules();

    /** The adapters these arguments ask for, or null when {@code lora_rank} is 0. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    default saferlhf.model.LoraConfig lora() {
        return saferlhf.model.LoraConfig.of(loraRank(), loraAlpha(), loraDropout(), loraTargetModules());
    }

    /** Validates the shared arguments (a record's own checks call this first). */
    @Override
    default void validate() {
        TrainingArguments a = this;
        require(a.maxLength() >= 8, "max_length must be >= 8");
        require(a.epochs() >= 1, "epochs must be >= 1");
        require(a.perDeviceTrainBatchSize() >= 1, "per_device_train_batch_size must be >= 1");
        require(a.perDeviceEvalBatchSize() >= 1, "per_device_eval_batch_size must be >= 1");
        require(a.gradientAccumulationSteps() >= 1, "gradient_accumulation_steps must be >= 1");
        require(a.lr() > 0, "lr must be > 0");
        require(a.lrWarmupRatio() >= 0 && a.lrWarmupRatio() < 1, "lr_warmup_ratio must be in [0, 1)");
        require(a.weightDecay() >= 0, "weight_decay must be >= 0");
        require(a.maxGradNorm() > 0, "max_grad_norm must be > 0");
        require(a.evalInterval() >= 1, "eval_interval must be >= 1");
        require(a.saveInterval() >= 0, "save_interval must be >= 0");
        require(a.trainDatasets() != null && !a.trainDatasets().isBlank(),
                "train_datasets must be given: a data file or folder, or NAME[:PROPORTION[:PATH]] (comma-separated)");
        require(a.outputDir() != null && !a.outputDir().isBlank(), "output_dir must be given");
        require(java.util.List.of("epoch", "steps", "no").contains(a.evalStrategy()), "eval_strategy must be epoch, steps or no");
        require(java.util.List.of("constant", "linear", "cosine").contains(a.lrSchedulerType()),
                "lr_scheduler_type must be constant, linear or cosine");
        saferlhf.model.LoraConfig.check("lora_", a.loraRank(), a.loraAlpha(), a.loraDropout());
    }

    private static void require(boolean condition, String message) {
        if (!condition) throw new IllegalArgumentException(message);
    }
}
