package saferlhf.train;

/**
 * Direct Preference Optimization (the reference's {@code algorithms/dpo}, {@code scripts/dpo.sh}): the policy is
 * trained directly on preference pairs against a frozen copy of the model it starts from. Keys are the reference's
 * argument names in snake_case. The same trainer runs the DPO-shaped constrained-alignment methods published since
 * Safe RLHF ({@code algorithm}): {@code safe-dpo} ({@link SafeDpo}), SACPO's safety step ({@code sacpo}: DPO on the
 * safety preference from the helpfulness-DPO policy; see {@link #preset(String, String)}), {@code bfpo} ({@link Bfpo})
 * {@code mocan} ({@link Mocan}: the dual solved first on the starting policy's samples, then DPO on the pairs
 * relabelled by r - lambda* c), {@code pecan} ({@link Pecan}: the same with two DPO policies for the models) and
 * {@code c-dpo} ({@link ConstrainedDpo}: DPO on the pairs ordered by r - lambda c, with dual steps on lambda between runs).
 *
 * <p>Deliberate difference, as for SFT and the score models: the reference fine-tunes a pretrained 7B policy with
 * lr 1e-6; BeaverWorld's presets start from the kit's tiny SFT model, which needs a larger learning rate to move: 5e-5,
 * fifty times the reference's (the factor of the score-model presets; also the PPO actor's rate). At 1e-6 the quick
 * preset's held-out loss stayed at 0.6925 (log 2 = 0.6931), against 0.667 at 5e-5. scale_coeff 0.1, weight decay 0.05,
 * 2 epochs, batch 16, cosine schedule, warmup 0.03 and the AdamW betas are the reference's script values.
 *
 * @param modelNameOrPath  the policy to start from, also the frozen reference model: the SFT model folder
 * @param tokenizer        a tokenizer.json (or folder); empty: the model's, else BeaverWorld's
 * @param trainDatasets    preference pairs; the better response is {@code better_response_id} (helpfulness), as the
 *                         reference's PreferenceDataset reads it
 * @param evalDatasets     preference pairs (give the DPO metrics on held-out pairs, {@code eval/reward_accuracy}, ...)
 *                         and prompts (give generation metrics judged by BeaverWorld's judge); empty for none
 * @param evalMaxNewTokens tokens generated per evaluation prompt
 * @param scaleCoeff       the DPO temperature beta: loss = -logsigmoid(scale_coeff * (better_log_ratio - worse_log_ratio))
 * @param loraRank         LoRA rank (0: full fine-tuning); with adapters the reference model is the policy with its
 *                         adapters switched off (no second copy) and {@code output_dir/model} is a PEFT adapter folder
 * @param frozenDtype      {@code float32} or {@code float16}: the frozen reference model's dtype; float16 halves its
 *                         memory, for a GPU (docs/gpu.md); the policy trains in fp32. Unused with adapters (no copy)
 * @param algorithm        {@code dpo} (the pairs as {@code preference} orders them), {@code safe-dpo} (SafeDPO: the
 *                         helpfulness order, reordered by safety, with {@code safety_margin}; {@link SafeDpo}),
 *                         {@code sacpo} (DPO on the safety order from the DPO policy), {@code bfpo} ({@link Bfpo}),
 *                         {@code mocan} ({@link Mocan}), {@code pecan} ({@link Pecan}) or {@code c-dpo} ({@link ConstrainedDpo})
 * @param preference       which label orders a pair for {@code dpo}: {@code helpfulness} ({@code better_response_id},
 *                         the reference's) or {@code safety} ({@code safer_response_id}: SACPO's safety step)
 * @param safetyMargin     SafeDPO's Delta >= 0, subtracted inside the logsigmoid of pairs whose losing response is unsafe
 * @param rewardModelNameOrPath MoCAN: the reward model that scores the dual's samples and relabels the pairs
 * @param costModelNameOrPath   MoCAN: the cost model, likewise
 * @param threshold        MoCAN: the cost limit d of E_pi[c] <= d, on the cost model's scale (PPO-Lagrangian's threshold)
 * @param dualDatasets     MoCAN and PeCAN: the prompts whose answers by the starting policy estimate the dual
 * @param dualSamples      MoCAN and PeCAN: answers sampled per dual prompt
 * @param helpfulnessModelNameOrPath PeCAN: the DPO policy on the helpfulness order, from the same starting model
 * @param safetyModelNameOrPath      PeCAN: the DPO policy on the safety order ({@code preference=safety}), likewise
 * @param safetyImprovement PeCAN: the margin b >= 0 by which the policy's implicit safety must exceed the starting
 *                         policy's ({@link Pecan})
 * @param referenceModelNameOrPath the frozen reference model; empty: {@code model_name_or_path} (the model it starts from)
 * @param lagrangeMultiplier C-DPO: the lambda of r - lambda c that orders the pairs (of the first iteration)
 * @param dualIterations   C-DPO: rounds of (DPO on the pairs ordered by r - lambda c, then lambda's dual step); 0: one run
 *                         at {@code lagrange_multiplier}, fixed
 * @param lambdaLr         C-DPO: the dual step lambda <- max(0, lambda + lambda_lr (E[c] - threshold))
 */
public record DpoConfig(String modelNameOrPath, String tokenizer, String trainDatasets, String evalDatasets, int maxLength,
                        int epochs, int perDeviceTrainBatchSize, int perDeviceEvalBatchSize, int gradientAccumulationSteps,
                        double lr, String lrSchedulerType, double lrWarmupRatio, double weightDecay, double maxGradNorm,
                        long seed, String outputDir, String evalStrategy, int evalInterval, int saveInterval, String device,
                        int evalMaxNewTokens, double scaleCoeff, int loraRank, double loraAlpha, double loraDropout,
                        String loraTargetModules, String frozenDtype, String algorithm, String preference,
                        double safetyMargin, String rewardModelNameOrPath, String costModelNameOrPath, double threshold,
                        String dualDatasets, int dualSamples, String helpfulnessModelNameOrPath,
                        String safetyModelNameOrPath, double safetyImprovement, String referenceModelNameOrPath,
                        double lagrangeMultiplier, int dualIterations, double lambdaLr) implements TrainingArguments {

    /** The algorithms this trainer runs. */
    public static final java.util.List<String> ALGORITHMS = java.util.List.of("dpo", "safe-dpo", "sacpo", "bfpo", "mocan", "pecan", "c-dpo");

    @Override
    public void validate() {
        TrainingArguments.super.validate();
        Configs.requireModel("model_name_or_path", modelNameOrPath);
        if (evalMaxNewTokens < 1) throw new IllegalArgumentException("eval_max_new_tokens must be >= 1");
        if (!(scaleCoeff > 0)) throw new IllegalArgumentException("scale_coeff must be > 0");
        saferlhf.model.Precision.frozenDtype("frozen_dtype", frozenDtype);
        if (!ALGORITHMS.contains(algorithm)) throw new IllegalArgumentException("algorithm must be one of " + ALGORITHMS + ", got '" + algorithm + "'");
        if (!preference.equals("helpfulness") && !preference.equals("safety")) {
            throw new IllegalArgumentException("preference must be helpfulness or safety, got '" + preference + "'");
        }
        if ((algorithm.equals("safe-dpo") || algorithm.equals("bfpo")) && !preference.equals("helpfulness")) {
            throw new IllegalArgumentException(algorithm + " starts from the helpfulness order: preference must be helpfulness");
        }
        if (!(safetyMargin >= 0)) throw new IllegalArgumentException("safety_margin must be >= 0");
        if (!referenceModelNameOrPath.isBlank() && loraRank > 0) {
            throw new IllegalArgumentException("reference_model_name_or_path with lora_rank > 0: with adapters the reference is the "
                    + "model with its adapters off; leave reference_model_name_or_path empty");
        }
        if (algorithm.equals("c-dpo")) {
            Configs.requireModel("reward_model_name_or_path", rewardModelNameOrPath);
            Configs.requireModel("cost_model_name_or_path", costModelNameOrPath);
            if (!(lagrangeMultiplier >= 0)) throw new IllegalArgumentException("lagrange_multiplier must be >= 0");
            if (dualIterations < 0) throw new IllegalArgumentException("dual_iterations must be >= 0 (0: lagrange_multiplier fixed)");
            if (!(lambdaLr >= 0)) throw new IllegalArgumentException("lambda_lr must be >= 0");
            if (dualIterations > 0 && dualDatasets.isBlank()) {
                throw new IllegalArgumentException("dual_datasets must be given: the prompts whose answers estimate each iteration's cost");
            }
        }
        if (algorithm.equals("mocan") || algorithm.equals("pecan")) {
            if (!preference.equals("helpfulness")) {
                throw new IllegalArgumentException(algorithm + " relabels the pairs itself: preference must be helpfulness");
            }
            if (algorithm.equals("mocan")) {
                Configs.requireModel("reward_model_name_or_path", rewardModelNameOrPath);
                Configs.requireModel("cost_model_name_or_path", costModelNameOrPath);
            } else {
                Configs.requireModel("helpfulness_model_name_or_path", helpfulnessModelNameOrPath);
                Configs.requireModel("safety_model_name_or_path", safetyModelNameOrPath);
                if (!(safetyImprovement >= 0)) throw new IllegalArgumentException("safety_improvement must be >= 0");
            }
            if (dualDatasets.isBlank()) throw new IllegalArgumentException("dual_datasets must be given: the prompts MoCAN's dual samples answers to");
            if (dualSamples < 2) throw new IllegalArgumentException("dual_samples must be >= 2 (answers per prompt for the dual)");
            if (!Double.isFinite(threshold)) throw new IllegalArgumentException("threshold must be a number");
        }
    }



    /** BeaverWorld, full: from the full SFT model, 2 epochs over the 8,000 training pairs. */
    public static DpoConfig full() {
        return new DpoConfig("checkpoints/sft/model", "", "BeaverWorld/train",
                "BeaverWorld/test,BeaverWorld-Eval/benign,BeaverWorld-Eval/harmful", 96, 2, 16, 64, 1, 5e-5, "cosine", 0.03,
                0.05, 1.0, 42, "checkpoints/dpo", "epoch", 100, 0, "auto", 48, 0.1, 0, 8, 0.0, "", "float32", "dpo", "helpfulness",
                SafeDpo.DEFAULT_MARGIN, "checkpoints/rm/model", "checkpoints/cm/model", -2.0, "BeaverWorld-RL/train:0.25", 8,
                "checkpoints/dpo/model", "checkpoints/dpo-safety/model", Pecan.DEFAULT_IMPROVEMENT, "", 1.0, 3, 1.0);
    }

    /**
     * BeaverWorld, quick: one epoch over a tenth of the pairs, from the shipped SFT model with the shipped reward and cost
     * models ({@link ShippedModels}; the full preset's threshold -2 on their cost scale).
     */
    public static DpoConfig quick() {
        String shipped = ShippedModels.FOLDER;
        return new DpoConfig(shipped + "/sft/model", "", "BeaverWorld/train:0.1",
                "BeaverWorld/test:0.25,BeaverWorld-Eval/benign:0.25,BeaverWorld-Eval/harmful:0.25", 96, 1, 16, 64, 1, 5e-5,
                "cosine", 0.03, 0.05, 1.0, 42, "checkpoints/quick/dpo", "epoch", 100, 0, "auto", 48, 0.1, 0, 8, 0.0, "", "float32",
                "dpo", "helpfulness", SafeDpo.DEFAULT_MARGIN, shipped + "/rm/model", shipped + "/cm/model", -2.0,
                "BeaverWorld-RL/train:0.0625", 8, "checkpoints/quick/dpo/model", "checkpoints/quick/dpo-safety/model",
                Pecan.QUICK_IMPROVEMENT, "", 1.0, 3, 1.0);
    }

    /**
     * The reference's {@code scripts/dpo.sh} for real models (docs/paper-presets.md gives each value's source line):
     * PKU-SafeRLHF/train, evaluated on PKU-SafeRLHF/test at the end of each epoch, max_length 512, 2 epochs, per-device
     * batch 16 pairs (train and eval), no accumulation, lr 1e-6, cosine schedule, warm-up ratio 0.03, weight decay
     * 0.05, gradient clipping 1.0, scale_coeff 0.1 (the script's; {@code dpo/main.py}'s default is 0.02), seed 42.
     * The user gives {@code model_name_or_path}: the SFT policy (the script's {@code PKU-Alignment/alpaca-7b-reproduced}),
     * also the frozen reference model; without it the config is refused naming the key.
     *
     * <p>What the kit does instead: fp32 training and an fp32 reference model (the script: bf16 and tf32 under DeepSpeed
     * ZeRO-3; on a GPU, set {@code frozen_dtype=float16} for a half-precision reference model, half its fp32 memory), on one device with no gradient checkpointing, so an update sees 16 pairs (the reference ran on 8 GPUs:
     * 128); the log-probability sums
     * differ slightly at the sequence ends (see docs/differences.md).
     */
    public static DpoConfig paper() {
        return new DpoConfig("", "", "PKU-SafeRLHF/train", "PKU-SafeRLHF/test", 512, 2, 16, 16, 1, 1e-6, "cosine", 0.03, 0.05,
                1.0, 42, "checkpoints/paper/dpo", "epoch", 1_000_000, 0, "auto", 128, 0.1, 0, 8, 0.0, "", "float32", "dpo",
                "helpfulness", SafeDpo.DEFAULT_MARGIN, "", "", 0.0, "PKU-SafeRLHF/train:1000/-1", 128, "", "", Pecan.DEFAULT_IMPROVEMENT, "", 1.0, 3, 1.0);
    }

    /**
     * A preset by name for one of the {@link #ALGORITHMS}: DPO's preset with its own output folder ({@code dpo} ->
     * {@code safe-dpo}, {@code sacpo} or {@code bfpo}) and
     * <ul>
     *   <li>{@code safe-dpo}: the helpfulness pairs reordered by safety, Delta {@value SafeDpo#DEFAULT_MARGIN};</li>
     *   <li>{@code sacpo}: SACPO's second step (Wachi et al. 2024, arXiv 2404.11049; the official code's
     *       {@code safety_dpo.py}): DPO on the safety preference ({@code safer_response_id}), starting from the
     *       helpfulness-DPO policy (this preset's {@code dpo} run; the frozen reference is that policy too), with
     *       scale_coeff beta / lambda = 0.05 (beta 0.1, lambda 2; the official scripts sweep 0.1, 0.05, 0.025 and 0.01);</li>
     *   <li>{@code bfpo}: BFPO's squared loss with the official code's B1 3 and alpha 0.5, beta = scale_coeff 0.1;</li>
     *   <li>{@code mocan}: the dual on 8 answers to each of a quarter of the RL prompts (520; quick: 130), the cost limit
     *       PPO-Lagrangian's threshold (-2 in the full and the quick preset), beta = scale_coeff 0.1 in the dual and the loss (the
     *       official code's). The paper preset samples 128 answers to each of 1,000 PKU-SafeRLHF prompts (the official
     *       code's) and needs the reward and cost models and a threshold from the user;</li>
     *   <li>{@code pecan}: the same dual prompts and answers, the helpfulness policy this preset's {@code dpo} run and the
     *       safety policy a DPO run on the safety order from the same SFT model ({@code dpo-safety}), the safety
     *       improvement b {@value Pecan#DEFAULT_IMPROVEMENT} (the official notebook's example margin; quick:
     *       {@value Pecan#QUICK_IMPROVEMENT}, see {@link Pecan#QUICK_IMPROVEMENT});</li>
     *   <li>{@code c-dpo}: three iterations of one epoch each from lambda 1, dual step 1, each iteration's cost on two answers
     *       to each dual prompt, the cost limit MoCAN's (the kit's choices: the paper's values could not be read).</li>
     * </ul>
     */
    public static DpoConfig preset(String name, String algorithm) {
        DpoConfig dpo = preset(name);
        if (!ALGORITHMS.contains(algorithm)) throw new Configs.ConfigException("unknown algorithm '" + algorithm + "' " + ALGORITHMS, null);
        if (algorithm.equals("dpo")) return dpo;
        String out = dpo.outputDir().substring(0, dpo.outputDir().length() - "dpo".length()) + algorithm;
        java.util.List<String> changes = new java.util.ArrayList<>(java.util.List.of("algorithm=" + algorithm, "output_dir=" + out));
        if (algorithm.equals("sacpo")) {
            changes.addAll(java.util.List.of("preference=safety", "scale_coeff=0.05",
                    "model_name_or_path=" + dpo.outputDir() + "/model"));
        }
        if (algorithm.equals("c-dpo")) changes.addAll(java.util.List.of("epochs=1", "dual_samples=2"));
        return Configs.override(dpo, changes);
    }

    /** A preset by name: {@code quick}, {@code full} or {@code paper}. */
    public static DpoConfig preset(String name) {
        return switch (name) {
            case "quick" -> quick();
            case "full" -> full();
            case "paper" -> paper();
            default -> throw new Configs.ConfigException("unknown preset '" + name + "' (quick, full, paper)", null);
        };
    }
}
