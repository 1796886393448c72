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
 */
public record SftConfig(String modelNameOrPath, String tokenizer, String trainDatasets, String evalDatasets, int maxLength,
                        int epochs, int perDeviceTrainBatchSize, int perDeviceEvalBatchSize, int gradientAccumulationSteps,
                        double lr, String lrSchedulerType, double lrWarmupRatio, double weightDecay, double maxGradNorm,
                        long seed, String outputDir, String evalStrategy, int evalInterval, int saveInterval, String device,
                        int evalMaxNewTokens) implements TrainingArguments {

    @Override
    public void validate() {
        TrainingArguments.super.validate();
        if (evalMaxNewTokens < 1) throw new IllegalArgumentException("eval_max_new_tokens must be >= 1");
    }

    /** BeaverWorld, full: the SFT policy every later stage starts from (a few minutes on 2 CPU cores). */
    public static SftConfig full() {
        return new SftConfig("preset:tiny-llama", "", "BeaverWorld-SFT/train",
                "BeaverWorld-Eval/benign,BeaverWorld-Eval/harmful", 96, 3, 16, 64, 1, 2e-3, "cosine", 0.03, 0.0, 1.0,
                42, "checkpoints/sft", "epoch", 100, 0, "auto", 48);
    }

    /** BeaverWorld, quick: one epoch (under a minute on 2 cores), for CI and the notebooks. */
    public static SftConfig quick() {
        return new SftConfig("preset:tiny-llama", "", "BeaverWorld-SFT/train",
                "BeaverWorld-Eval/benign:0.25,BeaverWorld-Eval/harmful:0.25", 96, 1, 16, 64, 1, 3e-3, "cosine", 0.03, 0.0,
                1.0, 42, "checkpoints/quick/sft", "epoch", 100, 0, "auto", 48);
    }

    /** A preset by name: {@code quick} or {@code full}. */
    public static SftConfig preset(String name) {
        return switch (name) {
            case "quick" -> quick();
            case "full" -> full();
            default -> throw new Configs.ConfigException("unknown preset '" + name + "' (quick, full)", null);
        };
    }
}
