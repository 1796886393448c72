package saferlhf.train;

/**
 * Supervised fine-tuning (the reference's {@code finetune}, {@code scripts/sft.sh}): the causal-LM loss on
 * demonstrations (single-turn or dialogues), prompt and user tokens masked. Keys are the reference's argument names in
 * snake_case.
 *
 * <p>Deliberate difference: the reference fine-tunes a pretrained 7B model (lr 2e-5, batch 4 x 8 accumulation,
 * 3 epochs). BeaverWorld's presets train a tiny model from random weights, which needs a larger learning rate
 * (1e-3 to 3e-3); the other mechanics (template, masking, cosine schedule with warmup, AdamW betas) are the reference's.
 *
 * @param modelNameOrPath       a model folder or {@code preset:tiny-llama} / {@code preset:tiny-gpt2} / {@code preset:llama-10m}
 * @param tokenizer             a tokenizer.json (or folder); empty: the model's, else BeaverWorld's
 * @param trainDatasets         SFT records and dialogues ({@link saferlhf.data.DialogueRecord}), mixed freely
 * @param evalDatasets          SFT records or dialogues (give {@code eval/loss}) or prompts (give generation metrics
 *                              judged by BeaverWorld's judge); empty for none
 * @param evalMaxNewTokens      tokens generated per evaluation prompt
 * @param loraRank              LoRA rank (0: full fine-tuning); with adapters, {@code model_name_or_path} must be a
 *                              model folder and {@code output_dir/model} is a PEFT adapter folder (docs/lora.md)
 * @param loraAlpha             LoRA alpha (PEFT's default 8)
 * @param loraDropout           LoRA dropout (PEFT's default 0)
 * @param loraTargetModules     comma-separated HF module names; empty: PEFT's default for the family
 */
public record SftConfig(String modelNameOrPath, String tokenizer, String trainDatasets, String evalDatasets, int maxLength,
                        int epochs, int perDeviceTrainBatchSize, int perDeviceEvalBatchSize, int gradientAccumulationSteps,
                        double lr, String lrSchedulerType, double lrWarmupRatio, double weightDecay, double maxGradNorm,
                        long seed, String outputDir, String evalStrategy, int evalInterval, int saveInterval, String device,
                        int evalMaxNewTokens, int loraRank, double loraAlpha, double loraDropout,
                        String loraTargetModules) implements TrainingArguments {

    @Override
    public void validate() {
        TrainingArguments.super.validate();
        Configs.requireModel("model_name_or_path", modelNameOrPath);
        if (evalMaxNewTokens < 1) throw new IllegalArgumentException("eval_max_new_tokens must be >= 1");
    }

    /**
     * BeaverWorld, full: the SFT policy every later stage starts from (a few minutes on 2 CPU cores). It updates on 16
     * sequences, not the reference's effective 32: at 32 the SFT model itself came out the same, but the reward model
     * trained from it was much worse (docs/differences.md).
     */
    public static SftConfig full() {
        return new SftConfig("preset:tiny-llama", "", "BeaverWorld-SFT/train",
                "BeaverWorld-Eval/benign,BeaverWorld-Eval/harmful", 96, 3, 16, 64, 1, 2e-3, "cosine", 0.03, 0.0, 1.0,
                42, "checkpoints/sft", "epoch", 100, 0, "auto", 48, 0, 8, 0.0, "");
    }

    /**
     * BeaverWorld, quick: one epoch (under a minute on 2 cores), for CI and the notebooks. Its effective batch is 16, not
     * the reference's 32: one epoch at 32 is half the updates, and that SFT model came out much weaker (docs/differences.md).
     */
    public static SftConfig quick() {
        return new SftConfig("preset:tiny-llama", "", "BeaverWorld-SFT/train",
                "BeaverWorld-Eval/benign:0.25,BeaverWorld-Eval/harmful:0.25", 96, 1, 16, 64, 1, 3e-3, "cosine", 0.03, 0.0,
                1.0, 42, "checkpoints/quick/sft", "epoch", 100, 0, "auto", 48, 0, 8, 0.0, "");
    }

    /**
     * The reference's {@code scripts/sft.sh} for real models (docs/paper-presets.md gives each value's source line):
     * max_length 512, 3 epochs, per-device batch 4 with 8 accumulation steps (32 sequences an update on one device),
     * lr 2e-5, cosine schedule, warm-up ratio 0.03, no weight decay, gradient clipping 1.0, seed 42, no evaluation.
     * The user gives {@code model_name_or_path} (the script's {@code huggyllama/llama-7b}: a Hugging Face folder) and
     * {@code train_datasets} (the script's {@code alpaca}: Stanford Alpaca's {@code alpaca_data.json} or any SFT data,
     * as a path or {@code NAME[:PROPORTION[:PATH]]}); without them the config is refused naming the key.
     *
     * <p>What the kit does instead: training is fp32 (the script: bf16 and tf32 under DeepSpeed ZeRO-3; DJL cannot
     * train in half precision), on one device with no gradient checkpointing, so the effective batch is 4 x 8 = 32, the
     * script's per-GPU figure (the reference ran on 8 GPUs: 256). A resumable checkpoint is written at the end
     * of each epoch (the reference saves at the end only).
     */
    public static SftConfig paper() {
        return new SftConfig("", "", "", "", 512, 3, 4, 4, 8, 2e-5, "cosine", 0.03, 0.0, 1.0, 42, "checkpoints/paper/sft",
                "epoch", 1_000_000, 0, "auto", 128, 0, 8, 0.0, "");
    }

    /** A preset by name: {@code quick}, {@code full} or {@code paper}. */
    public static SftConfig preset(String name) {
        return switch (name) {
            case "quick" -> quick();
            case "full" -> full();
            case "paper" -> paper();
            default -> throw new Configs.ConfigException("unknown preset '" + name + "' (quick, full, paper)", null);
        };
    }
}
