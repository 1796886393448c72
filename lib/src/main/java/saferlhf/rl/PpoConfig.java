package saferlhf.rl;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.util.List;
import saferlhf.model.Generation;
import saferlhf.model.LoraConfig;
import saferlhf.model.Precision;
import saferlhf.train.Configs;

/**
 * The RL stage: PPO (RLHF), PPO-Lagrangian (Safe RLHF), PPO with reward shaping and the group-relative PPO-Lagrangian,
 * one config under the reference's argument names (the {@code main.py} of {@code algorithms/ppo}, {@code ppo_lag} and
 * {@code ppo_reward_shaping}, and their scripts; {@code group_size} is the kit's).
 *
 * <p>Deliberate differences for BeaverWorld's presets, all documented in docs/differences.md: a tiny actor trained from
 * scratch uses larger learning rates (actor 5e-5, critics 1e-3) than the reference's 7B model (1e-5, 5e-6) and a
 * stronger KL penalty (0.05 for PPO-Lagrangian, 0.1 for PPO and reward shaping: the reference's 2:1 ratio, five times
 * its 0.01 / 0.02, since with the reference's values the tiny actor drifted into reward hacking); the generation budget
 * is {@code max_length} 96 tokens in all; two epochs over the 2,080 RL prompts; and the cost {@code threshold} is -2.0,
 * tuned for BeaverWorld's cost scale (the reference's default 0 is, per its maintainers, a placeholder to tune for
 * each data set and model; here, where safe answers cost about -2 to -3, 0 would allow most harmful prompts to be
 * answered unsafely).
 *
 * @param algorithm                 {@code ppo} (reward only), {@code ppo-lag} (Safe RLHF), {@code ppo-reward-shaping}
 *                                  (reward - lambda_init * cost, lambda fixed) or {@code grpo-lag} (PPO-Lagrangian with
 *                                  group-relative advantages and no critics: {@link GroupRelative}) or {@code repo}
 *                                  (RePO: PPO-Lagrangian on each answer's rectified cost max(0, c - threshold);
 *                                  {@link #rectified()})
 * @param actorModelNameOrPath      the SFT policy; the frozen reference model is a copy of it
 * @param rewardModelNameOrPath     the frozen reward model
 * @param costModelNameOrPath       the frozen cost model (unused by {@code ppo})
 * @param rewardCriticModelNameOrPath the reward critic's initial weights (a score model, or a causal LM that gets a fresh
 *                                    value head); empty: the reward model. Its tokenizer must be the actor's
 * @param costCriticModelNameOrPath   the cost critic's initial weights, likewise; empty: the cost model
 * @param trainDatasets             RL prompts
 * @param ptxDatasets               supervised data for the PTX term; empty for none
 * @param evalDatasets              evaluation prompts ({@code eval/reward}, {@code eval/cost} and the judge's metrics)
 * @param maxLength                 prompt + response tokens (the reference's generation max_length)
 * @param temperature               sampling temperature of rollouts and evaluation
 * @param topK                      rollouts and evaluation sample among the k most likely tokens; 0: the whole
 *                                  vocabulary. 50, as the reference: its GenerationConfig leaves top_k unset, so
 *                                  Hugging Face's default of 50 applies
 * @param topP                      nucleus sampling; 1: off
 * @param lambdaMax                 upper bound of lambda; 0 or less for none
 * @param evalInterval              rl steps between evaluations
 * @param saveInterval              rl steps between resumable checkpoints; 0 at the end of each epoch only
 * @param actorLoraRank             LoRA rank of the actor (0: full fine-tuning); with adapters the frozen reference
 *                                  policy is the actor with its adapters switched off, not a copy (docs/lora.md)
 * @param criticLoraRank            LoRA rank of both critics (0: full fine-tuning); their score heads always train
 * @param frozenDtype               {@code float32} or {@code float16}: the dtype of the frozen models (the reference
 *                                  policy, the reward and cost models); float16 halves their memory, for a GPU
 *                                  (docs/gpu.md). The actor and critics train in fp32; with actor adapters there is no
 *                                  separate reference policy, so it applies to the reward and cost models only
 * @param lambdaUpdate              PPO-Lagrangian's multiplier: {@code sgd} (the reference's SGD step on log lambda with
 *                                  {@code lambda_lr}) or {@code pid} ({@link PidLagrangian}: Stooke et al. 2020)
 * @param pidKp                     PID: proportional gain (defaults of the PID gains and smoothing: OmniSafe's CPPOPID,
 *                                  tuned for a cost limit of 25, not for BeaverWorld)
 * @param pidKi                     PID: integral gain
 * @param pidKd                     PID: derivative gain
 * @param pidDerivativeDelay        PID: the derivative compares the smoothed cost with its value this many updates ago
 * @param pidProportionalEmaAlpha   PID: EMA factor of the error in the proportional term (0: none)
 * @param pidDerivativeEmaAlpha     PID: EMA factor of the cost in the derivative term (0: none)
 * @param groupSize                 answers sampled per prompt: {@code grpo-lag}'s group (>= 2); 1 for the other algorithms
 */
public record PpoConfig(String algorithm, String actorModelNameOrPath, String rewardModelNameOrPath,
                        String costModelNameOrPath, String rewardCriticModelNameOrPath, String costCriticModelNameOrPath,
                        String trainDatasets, String ptxDatasets, String evalDatasets, int maxLength, double temperature,
                        int topK, double topP, double repetitionPenalty, int epochs, int updateIters, int perDevicePromptBatchSize,
                        int perDeviceTrainBatchSize, int perDeviceEvalBatchSize, double actorLr, double actorWeightDecay,
                        String actorLrSchedulerType, double actorLrWarmupRatio, double criticLr, double criticWeightDecay,
                        String criticLrSchedulerType, double criticLrWarmupRatio, boolean normalizeReward,
                        boolean normalizeCost, long seed, double klCoeff, double clipRangeRatio, double clipRangeScore,
                        double clipRangeValue, double ptxCoeff, double threshold, double lambdaInit, double lambdaLr,
                        double lambdaMax, int lambdaUpdateDelaySteps, int episodeCostWindowSize, double maxGradNorm,
                        String outputDir, int evalInterval, int saveInterval, String device, int actorLoraRank,
                        double actorLoraAlpha, double actorLoraDropout, String actorLoraTargetModules, int criticLoraRank,
                        double criticLoraAlpha, double criticLoraDropout, String criticLoraTargetModules,
                        String frozenDtype, String lambdaUpdate, double pidKp, double pidKi, double pidKd, int pidDerivativeDelay,
                        double pidProportionalEmaAlpha, double pidDerivativeEmaAlpha, int groupSize)
        implements Configs.Validated {

    public static final List<String> ALGORITHMS = List.of("ppo", "ppo-lag", "ppo-reward-shaping", "grpo-lag", "repo");
    /** How PPO-Lagrangian updates its multiplier. */
    public static final List<String> LAMBDA_UPDATES = List.of("sgd", "pid");
    /** lambda_update and the PID settings of every preset: the reference's SGD; OmniSafe's CPPOPID values for PID. */
    private static final String SGD = "sgd";

    @Override
    public void validate() {
        require(ALGORITHMS.contains(algorithm), "algorithm must be one of " + ALGORITHMS);
        require(maxLength >= 16, "max_length must be >= 16");
        require(temperature > 0, "temperature must be > 0");
        require(topK >= 0, "top_k must be >= 0 (0: the whole vocabulary)");
        require(topP > 0 && topP <= 1, "top_p must be in (0, 1]");
        require(repetitionPenalty > 0, "repetition_penalty must be > 0");
        require(epochs >= 1 && updateIters >= 1, "epochs and update_iters must be >= 1");
        require(perDevicePromptBatchSize >= 1 && perDeviceTrainBatchSize >= 1 && perDeviceEvalBatchSize >= 1, "batch sizes must be >= 1");
        require(groupRelative() ? groupSize >= 2 : groupSize == 1,
                groupRelative() ? "group_size must be >= 2 (grpo-lag normalises scores within each prompt's answers)"
                        : "group_size must be 1 for " + algorithm + " (answers per prompt: grpo-lag only)");
        require(perDevicePromptBatchSize * groupSize % perDeviceTrainBatchSize == 0,
                "per_device_prompt_batch_size * group_size must be a multiple of per_device_train_batch_size");
        require(actorLr > 0 && criticLr > 0, "actor_lr and critic_lr must be > 0");
        require(LAMBDA_UPDATES.contains(lambdaUpdate), "lambda_update must be one of " + LAMBDA_UPDATES);
        require(pidKp >= 0 && pidKi >= 0 && pidKd >= 0, "pid_kp, pid_ki and pid_kd must be >= 0");
        require(pidDerivativeDelay >= 1, "pid_derivative_delay must be >= 1");
        require(pidProportionalEmaAlpha >= 0 && pidProportionalEmaAlpha < 1 && pidDerivativeEmaAlpha >= 0 && pidDerivativeEmaAlpha < 1,
                "pid_proportional_ema_alpha and pid_derivative_ema_alpha must be in [0, 1)");
        List<String> schedules = java.util.Arrays.stream(saferlhf.model.LrSchedule.Type.values())
                .map(t -> t.name().toLowerCase(java.util.Locale.ROOT)).toList();
        require(schedules.contains(actorLrSchedulerType), "actor_lr_scheduler_type must be one of " + schedules);
        require(schedules.contains(criticLrSchedulerType), "critic_lr_scheduler_type must be one of " + schedules);
        require(actorLrWarmupRatio >= 0 && actorLrWarmupRatio < 1, "actor_lr_warmup_ratio must be in [0, 1)");
        require(criticLrWarmupRatio >= 0 && criticLrWarmupRatio < 1, "critic_lr_warmup_ratio must be in [0, 1)");
        require(klCoeff >= 0, "kl_coeff must be >= 0");
        require(clipRangeRatio > 0 && clipRangeScore > 0 && clipRangeValue > 0, "clip ranges must be > 0");
        require(ptxCoeff >= 0, "ptx_coeff must be >= 0");
        require(lambdaInit > 0, "lambda_init must be > 0 (lambda is learned in log space)");
        require(lambdaLr >= 0, "lambda_lr must be >= 0");
        require(lambdaMax <= 0 || lambdaMax >= lambdaInit, "lambda_max must be >= lambda_init (or <= 0 for none)");
        require(episodeCostWindowSize >= 1, "episode_cost_window_size must be >= 1");
        require(lambdaUpdateDelaySteps >= 0 && evalInterval >= 1 && saveInterval >= 0, "intervals must be >= 0");
        require(maxGradNorm > 0, "max_grad_norm must be > 0");
        require(!trainDatasets.isBlank() && !outputDir.isBlank(), "train_datasets and output_dir must be given");
        Configs.requireModel("actor_model_name_or_path", actorModelNameOrPath);
        Configs.requireModel("reward_model_name_or_path", rewardModelNameOrPath);
        if (usesCost()) Configs.requireModel("cost_model_name_or_path", costModelNameOrPath);
        require(ptxCoeff == 0 || !ptxDatasets.isBlank(), "ptx_coeff " + ptxCoeff + " needs ptx_datasets: supervised data "
                + "(the reference's is Stanford Alpaca: give its alpaca_data.json), or set ptx_coeff=0 to train without PTX");
        LoraConfig.check("actor_lora_", actorLoraRank, actorLoraAlpha, actorLoraDropout);
        LoraConfig.check("critic_lora_", criticLoraRank, criticLoraAlpha, criticLoraDropout);
        Precision.frozenDtype("frozen_dtype", frozenDtype);
    }

    private static void require(boolean condition, String message) {
        if (!condition) throw new IllegalArgumentException(message);
    }

    /** Whether the run uses the cost model (and, for PPO-Lagrangian, a cost critic). */
    @JsonIgnore
    public boolean usesCost() { return !algorithm.equals("ppo"); }

    /** The actor's adapters, or null when {@code actor_lora_rank} is 0 (full fine-tuning). */
    @JsonIgnore
    public LoraConfig actorLora() {
        return LoraConfig.of(actorLoraRank, actorLoraAlpha, actorLoraDropout, actorLoraTargetModules);
    }

    /** The critics' adapters, or null when {@code critic_lora_rank} is 0. */
    @JsonIgnore
    public LoraConfig criticLora() {
        return LoraConfig.of(criticLoraRank, criticLoraAlpha, criticLoraDropout, criticLoraTargetModules);
    }

    /** Whether lambda is learned (PPO-Lagrangian, group-relative or not) rather than fixed (reward shaping) or absent (PPO). */
    @JsonIgnore
    public boolean learnsLambda() { return algorithm.equals("ppo-lag") || groupRelative() || rectified(); }

    /**
     * Whether the constraint is RePO's per-answer one ({@code repo}): the cost critic, the cost advantage and lambda see
     * the rectified cost max(0, c - threshold) of each answer, whose target is 0.
     */
    @JsonIgnore
    public boolean rectified() { return algorithm.equals("repo"); }

    /** Whether advantages are group-relative ({@link GroupRelative}: {@code grpo-lag}, no critics) rather than GAE over critics. */
    @JsonIgnore
    public boolean groupRelative() { return algorithm.equals("grpo-lag"); }

    /** Responses sampled per rollout: {@code per_device_prompt_batch_size * group_size}. */
    @JsonIgnore
    public int rolloutSize() { return perDevicePromptBatchSize * groupSize; }

    /** How rollouts and evaluation sample: this config's temperature, top_k, top_p and repetition penalty. */
    public Generation.Config generation(int maxNewTokens, long seed) {
        return new Generation.Config(maxNewTokens, true, temperature, topK, topP, repetitionPenalty, seed);
    }

    /** The same config with another algorithm, output folder and KL coefficient. */
    public PpoConfig as(String newAlgorithm, String newOutputDir, double newKlCoeff, double newLambdaInit) {
        return Configs.override(this, List.of("algorithm=" + newAlgorithm, "output_dir=" + newOutputDir,
                "kl_coeff=" + newKlCoeff, "lambda_init=" + newLambdaInit));
    }

    /**
     * BeaverWorld, full: PPO-Lagrangian from the full SFT, reward and cost models, one epoch over the RL prompts.
     * The reference's values except as noted in the class comment.
     */
    public static PpoConfig full(String algorithm) {
        if (algorithm.equals("grpo-lag")) return groupRelative(full("ppo-lag"), "BeaverWorld-RL/train:0.5", "checkpoints/grpo-lag");
        if (algorithm.equals("repo")) return Configs.override(full("ppo-lag"), List.of("algorithm=repo", "output_dir=checkpoints/repo"));
        String out = switch (algorithm) {
            case "ppo" -> "checkpoints/ppo";
            case "ppo-reward-shaping" -> "checkpoints/ppo-reward-shaping";
            default -> "checkpoints/ppo-lag";
        };
        return new PpoConfig(algorithm, "checkpoints/sft/model", "checkpoints/rm/model", "checkpoints/cm/model", "", "",
                "BeaverWorld-RL/train", "", "BeaverWorld-Eval/benign,BeaverWorld-Eval/harmful", 96, 1.0, 50, 1.0, 1.0, 2, 1,
                16, 16, 64, 5e-5, 0.01, "cosine", 0.03, 1e-3, 0.0, "constant", 0.03, false, false, 42,
                algorithm.equals("ppo-lag") ? 0.05 : 0.1, 0.2, 50.0, 5.0, 0.0, -2.0, 1.0, 0.1, 5.0, 0, 128, 1.0, out, 40, 0, "auto",
                0, 8, 0.0, "", 0, 8, 0.0, "", "float32", SGD, 0.1, 0.01, 0.01, 10, 0.95, 0.95, 1);
    }

    /**
     * BeaverWorld, quick: 65 rl steps from the shipped models ({@link saferlhf.train.ShippedModels}: the full preset's SFT,
     * reward and cost models of seed 42), one epoch over half the RL prompts, for CI and the notebooks. It evaluates once,
     * at the end, on all 520 evaluation prompts, as the full preset. The threshold is the full preset's -2 (the same cost
     * model, so the same scale). Where it differs from the full preset, and why (docs/differences.md):
     * <ul>
     *   <li>{@code actor_lr} 2e-4 (four times the full preset's) for a quarter of the steps: at 5e-5 the policy's cost
     *       hardly moved in 65 steps;</li>
     *   <li>{@code lambda_lr} 0.03, not 0.1: measured 2026-12-07 on round 1 from the shipped models (seed 42), at 0.1
     *       lambda reached its cap of 5 within 20 steps and the round ended 11.8% unsafe but refusing 25.0% of benign
     *       prompts, with helpfulness 1.38 against SFT's 1.56; at 0.03: 25.7% unsafe, helpfulness 1.62, 14.2% refusals;</li>
     *   <li>{@code pid_ki} 0.04 (the PID Lagrangian of rounds 2 and 3), four times the full preset's 0.01 for a quarter of
     *       its steps: at 0.01 a round that started inside its constraint kept lambda near lambda_init 1 for all 65
     *       steps (0.70 at the end), drove its cost far below the threshold and refused 20.8% of benign prompts (seed 42,
     *       round 2); at 0.04 lambda fell to 0.03 by the end of round 2, which refused 16.3%, and round 3 5.0%.</li>
     * </ul>
     */
    public static PpoConfig quick(String algorithm) {
        if (algorithm.equals("grpo-lag")) {
            return groupRelative(quick("ppo-lag"), "BeaverWorld-RL/train:0.125", "checkpoints/quick/grpo-lag");
        }
        if (algorithm.equals("repo")) return Configs.override(quick("ppo-lag"), List.of("algorithm=repo", "output_dir=checkpoints/quick/repo"));
        String shipped = saferlhf.train.ShippedModels.FOLDER;
        return Configs.override(full(algorithm), List.of("actor_model_name_or_path=" + shipped + "/sft/model",
                "reward_model_name_or_path=" + shipped + "/rm/model", "cost_model_name_or_path=" + shipped + "/cm/model",
                "train_datasets=BeaverWorld-RL/train:0.5", "epochs=1", "actor_lr=2e-4", "lambda_lr=0.03", "pid_ki=0.04",
                "eval_interval=1000000",
                "output_dir=checkpoints/quick/" + (algorithm.equals("ppo-lag") ? "ppo-lag" : algorithm)));
    }

    /**
     * The reference's {@code scripts/ppo.sh}, {@code ppo-lag.sh} and {@code ppo-reward-shaping.sh} for real models
     * (docs/paper-presets.md gives each value's source line): prompts from PKU-SafeRLHF/train, PTX on with coefficient
     * 16, max_length 512 (prompt included), temperature 1, top_k 50, top_p 1, repetition penalty 1, 1 epoch, update_iters 1,
     * 16 prompts a rollout and 16 sequences a micro-batch (16 for evaluation), actor lr 1e-5 (cosine, warm-up 0.03,
     * weight decay 0.01), critic lr 5e-6 (constant after warm-up 0.03, no weight decay), no reward or cost
     * normalization, KL coefficient 0.01 for PPO-Lagrangian and 0.02 for PPO and reward shaping, clip ranges 0.2 (ratio),
     * 50 (score), 5 (value), gradient clipping 1.0, seed 42; PPO-Lagrangian: threshold 0, lambda_init 1, lambda_lr
     * 0.1, lambda_max 5, no update delay, episode-cost window 128 (reward shaping: lambda_init 1, fixed). No evaluation
     * during training (the scripts do not pass {@code --need_eval}).
     *
     * <p>The user gives {@code actor_model_name_or_path} (the SFT policy; the scripts'
     * {@code PKU-Alignment/alpaca-7b-reproduced}), {@code reward_model_name_or_path} and, except for PPO,
     * {@code cost_model_name_or_path} (the scripts' {@code output/rm} and {@code output/cm}), and {@code ptx_datasets}
     * (the scripts' {@code alpaca}: Stanford Alpaca's {@code alpaca_data.json}, or {@code ptx_coeff=0} for none);
     * without them the config is refused naming the key. The critics start from the reward and cost models, as in the
     * scripts. The prompts resolve to a PKU-SafeRLHF hub snapshot in {@code datasets/PKU-SafeRLHF/}.
     *
     * <p>What the kit does instead: fp32 actor, critics and frozen models (the scripts: bf16 and tf32 under DeepSpeed
     * ZeRO-3; on a GPU, set {@code frozen_dtype=float16} to hold the reference policy and the reward and cost models in
     * half precision, half their fp32 memory), one device, no gradient checkpointing; so an update sees 16 sequences (the reference ran on 8 GPUs:
     * 128). With PTX the reference doubles the actor's accumulation and the kit halves the RL and PTX losses and
     * accumulates them into one update, the same thing on one device.
     */
    public static PpoConfig paper(String algorithm) {
        if (algorithm.equals("grpo-lag")) return groupRelative(paper("ppo-lag"), "PKU-SafeRLHF/train", "checkpoints/paper/grpo-lag");
        if (algorithm.equals("repo")) return Configs.override(paper("ppo-lag"), List.of("algorithm=repo", "output_dir=checkpoints/paper/repo"));
        String out = switch (algorithm) {
            case "ppo" -> "checkpoints/paper/ppo";
            case "ppo-reward-shaping" -> "checkpoints/paper/ppo-reward-shaping";
            default -> "checkpoints/paper/ppo-lag";
        };
        return new PpoConfig(algorithm, "", "", "", "", "", "PKU-SafeRLHF/train", "", "", 512, 1.0, 50, 1.0, 1.0, 1, 1, 16, 16, 16,
                1e-5, 0.01, "cosine", 0.03, 5e-6, 0.0, "constant", 0.03, false, false, 42,
                algorithm.equals("ppo-lag") ? 0.01 : 0.02, 0.2, 50.0, 5.0, 16.0, 0.0, 1.0, 0.1, 5.0, 0, 128, 1.0, out,
                1_000_000, 0, "auto", 0, 8, 0.0, "", 0, 8, 0.0, "", "float32", SGD, 0.1, 0.01, 0.01, 10, 0.95, 0.95, 1);
    }

    /**
     * The group-relative PPO-Lagrangian beside a PPO-Lagrangian preset, with the same sampling budget and the same
     * number of rl steps of the same size: four answers to each of 4 prompts a rollout (16 responses, as PPO-Lagrangian's
     * 16 prompts), one epoch over {@code prompts} (a quarter of the responses' prompts, where PPO-Lagrangian answers each
     * of its prompts once per epoch: the full preset's two epochs over 2,080 prompts sample 4,160 responses, as one
     * epoch of four answers to 1,040). Everything else (learning rate, KL coefficient, threshold, lambda's update) is
     * PPO-Lagrangian's; the KL coefficient weighs GRPO's KL term in the loss instead of a per-token reward penalty. The
     * paper preset keeps PPO-Lagrangian's epochs over all of PKU-SafeRLHF's prompts (four times its samples).
     */
    private static PpoConfig groupRelative(PpoConfig lagrangian, String prompts, String outputDir) {
        List<String> overrides = new java.util.ArrayList<>(List.of("algorithm=grpo-lag", "group_size=4",
                "per_device_prompt_batch_size=4", "train_datasets=" + prompts, "output_dir=" + outputDir));
        if (!prompts.startsWith("PKU")) overrides.add("epochs=1");
        return Configs.override(lagrangian, overrides);
    }

    /** A preset by name: {@code quick}, {@code full} or {@code paper}. */
    public static PpoConfig preset(String name, String algorithm) {
        return switch (name) {
            case "quick" -> quick(algorithm);
            case "full" -> full(algorithm);
            case "paper" -> paper(algorithm);
            default -> throw new saferlhf.train.Configs.ConfigException("unknown preset '" + name + "' (quick, full, paper)", null);
        };
    }
}
