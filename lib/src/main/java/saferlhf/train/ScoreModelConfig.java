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
 */
public record ScoreModelConfig(String scoreType, String modelNameOrPath, String tokenizer, String trainDatasets,
                               String evalDatasets, int maxLength, int epochs, int perDeviceTrainBatchSize,
                               int perDeviceEvalBatchSize, int gradientAccumulationSteps, double lr, String lrSchedulerType,
                               double lrWarmupRatio, double weightDecay, double maxGradNorm, long seed, String outputDir,
                               String evalStrategy, int evalInterval, int saveInterval, String device, String lossType,
                               double regularization, boolean normalizeScoreDuringTraining, String normalizerType,
                               double normalizerMomentum) implements TrainingArguments {

    @Override
    public void validate() {
        TrainingArguments.super.validate();
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
                100, 0, "auto", "sequence-wise", 0.001, false, "ExponentialMovingAverage", 0.9);
    }

    /** BeaverWorld, quick: seconds, from the quick SFT model. */
    public static ScoreModelConfig quick(String scoreType) {
        return new ScoreModelConfig(scoreType, "checkpoints/quick/sft/model", "", "BeaverWorld/train:0.1",
                "BeaverWorld/test:0.25", 96, 1, 16, 64, 1, 1e-3, "cosine", 0.03, 0.1, 1.0, 42,
                "checkpoints/quick/" + (scoreType.equals("cost") ? "cm" : "rm"), "epoch", 100, 0, "auto", "sequence-wise",
                0.001, false, "ExponentialMovingAverage", 0.9);
    }

    /** A preset by name: {@code quick} or {@code full}. */
    public static ScoreModelConfig preset(String name, String scoreType) {
        return switch (name) {
            case "quick" -> quick(scoreType);
            case "full" -> full(scoreType);
            default -> throw new Configs.ConfigException("unknown preset '" + name + "' (quick, full)", null);
        };
    }
}
