package saferlhf.train;

import java.util.List;

/**
 * Reward-model and cost-model training (the reference's {@code values/reward} and {@code values/cost},
 * {@code scripts/reward-model.sh} and {@code cost-model.sh}). Keys are the reference's argument names in snake_case.
 *
 * <p>Deliberate difference, as for SFT: BeaverWorld's presets use a larger learning rate (1e-3) than the reference's
 * 2e-5 for its 7B models, and a tiny model; loss type, regularization 0.001, normalizer (EMA, momentum 0.9, not
 * normalizing during training), cosine schedule, warmup 0.03 and weight decay 0.1 are the reference's.
 *
 * @param scoreType                     {@code reward} (helpfulness) or {@code cost} (harmlessness: cost &gt; 0 unsafe)
 * @param modelNameOrPath               the model to start from: the SFT model folder (the reference initialises
 *                                      score models from the SFT policy), or a preset
 * @param lossType                      {@code sequence-wise} (default) or {@code token-wise}
 * @param regularization                weight of the L2 term on the end scores (0.001 in the reference's scripts)
 * @param normalizeScoreDuringTraining  normalize scores by the running statistics while training
 * @param normalizerType                {@code RunningMeanStd}, {@code ExponentialMovingAverage} or {@code None}
 * @param loraRank                      LoRA rank on the body (0: full fine-tuning); the score head always trains, and
 *                                      {@code output_dir/model} is then a PEFT adapter folder holding adapters and head
 */
public record ScoreModelConfig(String scoreType, String modelNameOrPath, String tokenizer, String trainDatasets,
                               String evalDatasets, int maxLength, int epochs, int perDeviceTrainBatchSize,
                               int perDeviceEvalBatchSize, int gradientAccumulationSteps, double lr, String lrSchedulerType,
                               double lrWarmupRatio, double weightDecay, double maxGradNorm, long seed, String outputDir,
                               String evalStrategy, int evalInterval, int saveInterval, String device, String lossType,
                               double regularization, boolean normalizeScoreDuringTraining, String normalizerType,
                               double normalizerMomentum, int loraRank, double loraAlpha, double loraDropout,
                               String loraTargetModules) implements TrainingArguments {

    @Override
    public void validate() {
        TrainingArguments.super.validate();
        Configs.requireModel("model_name_or_path", modelNameOrPath);
        if (!List.of("reward", "cost").contains(scoreType)) throw new IllegalArgumentException("score_type must be reward or cost");
        if (!List.of("sequence-wise", "token-wise").contains(lossType)) {
            throw new IllegalArgumentException("loss_type must be sequence-wise or token-wise");
        }
        if (regularization < 0) throw new IllegalArgumentException("regularization must be >= 0");
        if (!List.of("RunningMeanStd", "ExponentialMovingAverage", "None").contains(normalizerType)) {
            throw new IllegalArgumentException("normalizer_type must be RunningMeanStd, ExponentialMovingAverage or None");
        }
        if (!(normalizerMomentum > 0 && normalizerMomentum < 1)) throw new IllegalArgumentException("normalizer_momentum must be in (0, 1)");
    }

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isCost() { return scoreType.equals("cost"); }

    /** BeaverWorld, full: from the full SFT model, 2 epochs over the 8,000 training pairs. */
    public static ScoreModelConfig full(String scoreType) {
        return new ScoreModelConfig(scoreType, "checkpoints/sft/model", "", "BeaverWorld/train", "BeaverWorld/test", 96, 2, 16,
                64, 1, 1e-3, "cosine", 0.03, 0.1, 1.0, 42, "checkpoints/" + (scoreType.equals("cost") ? "cm" : "rm"), "epoch",
                100, 0, "auto", "sequence-wise", 0.001, false, "ExponentialMovingAverage", 0.9, 0, 8, 0.0, "");
    }

    /** BeaverWorld, quick: seconds, from the quick SFT model. */
    public static ScoreModelConfig quick(String scoreType) {
        return new ScoreModelConfig(scoreType, "checkpoints/quick/sft/model", "", "BeaverWorld/train:0.1",
                "BeaverWorld/test:0.25", 96, 1, 16, 64, 1, 1e-3, "cosine", 0.03, 0.1, 1.0, 42,
                "checkpoints/quick/" + (scoreType.equals("cost") ? "cm" : "rm"), "epoch", 100, 0, "auto", "sequence-wise",
                0.001, false, "ExponentialMovingAverage", 0.9, 0, 8, 0.0, "");
    }

    /**
     * The reference's {@code scripts/reward-model.sh} and {@code cost-model.sh} for real models (the two scripts hold the
     * same values; docs/paper-presets.md gives each value's source line): PKU-SafeRLHF/train, evaluated on
     * PKU-SafeRLHF/test at the end of each epoch, max_length 512, 2 epochs, per-device batch 16 pairs (train and
     * eval), no accumulation, lr 2e-5, cosine schedule, warm-up ratio 0.03, weight decay 0.1, gradient clipping 1.0,
     * sequence-wise loss, regularization 0.001, EMA normalizer (momentum 0.9) not normalizing during training, seed 42.
     * The user gives {@code model_name_or_path}: the SFT model to start from (the scripts'
     * {@code PKU-Alignment/alpaca-7b-reproduced}); without it the config is refused naming the key. The data sets
     * resolve to a PKU-SafeRLHF hub snapshot in {@code datasets/PKU-SafeRLHF/} (or give {@code train_datasets} and
     * {@code eval_datasets}).
     *
     * <p>What the kit does instead: fp32 training (the scripts: bf16 and tf32 under DeepSpeed ZeRO-3), on one device
     * with no gradient checkpointing, so an update sees 16 pairs (the reference ran on 8 GPUs: 128); a resumable
     * checkpoint at each epoch's end.
     */
    public static ScoreModelConfig paper(String scoreType) {
        return new ScoreModelConfig(scoreType, "", "", "PKU-SafeRLHF/train", "PKU-SafeRLHF/test", 512, 2, 16, 16, 1, 2e-5,
                "cosine", 0.03, 0.1, 1.0, 42, "checkpoints/paper/" + (scoreType.equals("cost") ? "cm" : "rm"), "epoch",
                1_000_000, 0, "auto", "sequence-wise", 0.001, false, "ExponentialMovingAverage", 0.9, 0, 8, 0.0, "");
    }

    /** A preset by name: {@code quick}, {@code full} or {@code paper}. */
    public static ScoreModelConfig preset(String name, String scoreType) {
        return switch (name) {
            case "quick" -> quick(scoreType);
            case "full" -> full(scoreType);
            case "paper" -> paper(scoreType);
            default -> throw new Configs.ConfigException("unknown preset '" + name + "' (quick, full, paper)", null);
        };
    }
}
