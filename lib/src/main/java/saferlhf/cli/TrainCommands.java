package saferlhf.cli;

import picocli.CommandLine.Command;
import saferlhf.pipeline.MemoryPlan;
import saferlhf.rl.PpoConfig;
import saferlhf.rl.PpoTrainer;
import saferlhf.train.DpoConfig;
import saferlhf.train.DpoTrainer;
import saferlhf.train.ScoreModelConfig;
import saferlhf.train.ScoreTrainer;
import saferlhf.train.SftConfig;
import saferlhf.train.SftTrainer;
import saferlhf.train.TrainingLoop;

/**
 * The training stages: {@code saferlhf sft}, {@code rm}, {@code cm}, {@code dpo}, {@code safe-dpo}, {@code sacpo}, {@code bfpo},
 * {@code ppo}, {@code ppo-lag}, {@code grpo-lag}, {@code repo}, {@code ppo-shaping}.
 */
final class TrainCommands {
    private TrainCommands() {}

    @Command(name = "sft", mixinStandardHelpOptions = true,
            description = "Supervised fine-tuning on demonstrations (prompt tokens masked). Model: output_dir/model.")
    static final class Sft extends StageCommand<SftConfig> {
        @Override
        SftConfig preset(String name) { return SftConfig.preset(name); }

        @Override
        String device(SftConfig config) { return config.device(); }

        @Override
        MemoryPlan.Plan plan(SftConfig config) throws Exception { return MemoryPlan.sft(config); }

        @Override
        TrainingLoop.Result train(SftConfig config) throws Exception { return SftTrainer.train(config); }
    }

    /** Reward and cost models share the trainer; the preset decides the score type. */
    abstract static class ScoreStage extends StageCommand<ScoreModelConfig> {
        @Override
        String device(ScoreModelConfig config) { return config.device(); }

        @Override
        MemoryPlan.Plan plan(ScoreModelConfig config) throws Exception { return MemoryPlan.scoreModel(config); }

        @Override
        TrainingLoop.Result train(ScoreModelConfig config) throws Exception { return ScoreTrainer.train(config); }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Train the reward model (helpfulness) on preference pairs: pairwise loss.")
    static final class RewardModel extends ScoreStage {
        @Override
        ScoreModelConfig preset(String name) { return ScoreModelConfig.preset(name, "reward"); }
    }

    @Command(name = "cm", mixinStandardHelpOptions = true,
            description = "Train the cost model (harmlessness) on preference pairs: pairwise + sign loss. Cost > 0 means unsafe.")
    static final class CostModel extends ScoreStage {
        @Override
        ScoreModelConfig preset(String name) { return ScoreModelConfig.preset(name, "cost"); }
    }

    /** DPO and the DPO-shaped constrained methods share the trainer; the preset decides the algorithm. */
    abstract static class DpoStage extends StageCommand<DpoConfig> {
        @Override
        String device(DpoConfig config) { return config.device(); }

        @Override
        MemoryPlan.Plan plan(DpoConfig config) throws Exception { return MemoryPlan.dpo(config); }

        @Override
        TrainingLoop.Result train(DpoConfig config) throws Exception { return DpoTrainer.train(config); }
    }

    @Command(name = "dpo", mixinStandardHelpOptions = true,
            description = "DPO on the helpfulness preferences (an RLHF baseline), from the SFT policy. Policy: output_dir/model.")
    static final class Dpo extends DpoStage {
        @Override
        DpoConfig preset(String name) { return DpoConfig.preset(name, "dpo"); }
    }

    @Command(name = "safe-dpo", mixinStandardHelpOptions = true,
            description = "SafeDPO (arXiv 2505.20065): DPO on the helpfulness pairs reordered by safety (the safe response "
                    + "wins, both-unsafe pairs dropped) with a safety margin, from the SFT policy. No reward or cost model.")
    static final class SafeDpo extends DpoStage {
        @Override
        DpoConfig preset(String name) { return DpoConfig.preset(name, "safe-dpo"); }
    }

    @Command(name = "bfpo", mixinStandardHelpOptions = true,
            description = "BFPO (arXiv 2408.15313): a squared loss on the helpfulness pairs whose target encodes the ranking "
                    + "safe-and-helpful > safe > unsafe, from the SFT policy. No reward or cost model.")
    static final class Bfpo extends DpoStage {
        @Override
        DpoConfig preset(String name) { return DpoConfig.preset(name, "bfpo"); }
    }

    @Command(name = "sacpo", mixinStandardHelpOptions = true,
            description = "SACPO's safety step (arXiv 2404.11049): DPO on the safety preference from the helpfulness-DPO "
                    + "policy (run `saferlhf dpo` first), KL coefficient beta/lambda. P-SACPO: `saferlhf merge`.")
    static final class Sacpo extends DpoStage {
        @Override
        DpoConfig preset(String name) { return DpoConfig.preset(name, "sacpo"); }
    }

    @Command(name = "mocan", mixinStandardHelpOptions = true,
            description = "MoCAN (arXiv 2405.19544): lambda* from the dual on the SFT policy's answers scored by the reward "
                    + "and cost models (output_dir/dual.json), then DPO on the pairs soft-labelled by r - lambda* c.")
    static final class Mocan extends DpoStage {
        @Override
        DpoConfig preset(String name) { return DpoConfig.preset(name, "mocan"); }
    }

    @Command(name = "pecan", mixinStandardHelpOptions = true,
            description = "PeCAN (arXiv 2405.19544): MoCAN with two DPO policies from the same SFT model for the reward and "
                    + "cost models, helpfulness_model_name_or_path (`saferlhf dpo`) and safety_model_name_or_path (`saferlhf dpo "
                    + "--set preference=safety --set output_dir=checkpoints/dpo-safety`).")
    static final class Pecan extends DpoStage {
        @Override
        DpoConfig preset(String name) { return DpoConfig.preset(name, "pecan"); }
    }

    @Command(name = "c-dpo", mixinStandardHelpOptions = true,
            description = "C-DPO (arXiv 2403.02475, as the kit reads it: docs/methods.md): dual_iterations DPO runs on the pairs "
                    + "ordered by r - lambda c, lambda <- max(0, lambda + lambda_lr (E[c] - threshold)) between them.")
    static final class Cdpo extends DpoStage {
        @Override
        DpoConfig preset(String name) { return DpoConfig.preset(name, "c-dpo"); }
    }

    /** PPO, PPO-Lagrangian and reward shaping share the trainer; the preset decides the algorithm. */
    abstract static class PpoStage extends StageCommand<PpoConfig> {
        @Override
        String device(PpoConfig config) { return config.device(); }

        @Override
        MemoryPlan.Plan plan(PpoConfig config) throws Exception { return MemoryPlan.ppo(config); }

        @Override
        TrainingLoop.Result train(PpoConfig config) throws Exception { return PpoTrainer.train(config); }
    }

    @Command(name = "ppo", mixinStandardHelpOptions = true,
            description = "PPO on the reward alone (the RLHF baseline), from the SFT policy. Actor: output_dir/model.")
    static final class Ppo extends PpoStage {
        @Override
        PpoConfig preset(String name) { return PpoConfig.preset(name, "ppo"); }
    }

    @Command(name = "ppo-lag", mixinStandardHelpOptions = true,
            description = "PPO-Lagrangian (Safe RLHF): maximise reward subject to expected cost <= threshold, lambda learned.")
    static final class PpoLag extends PpoStage {
        @Override
        PpoConfig preset(String name) { return PpoConfig.preset(name, "ppo-lag"); }
    }

    @Command(name = "grpo-lag", mixinStandardHelpOptions = true,
            description = "Group-relative PPO-Lagrangian: group_size answers per prompt, reward and cost advantages "
                    + "standardised within each group, no critics, lambda learned as in PPO-Lagrangian.")
    static final class GrpoLag extends PpoStage {
        @Override
        PpoConfig preset(String name) { return PpoConfig.preset(name, "grpo-lag"); }
    }

    @Command(name = "repo", mixinStandardHelpOptions = true,
            description = "RePO (arXiv 2410.19933, as the kit reads it: docs/methods.md): PPO-Lagrangian on each answer's "
                    + "rectified cost max(0, cost - threshold), so that only answers over the limit are penalised.")
    static final class Repo extends PpoStage {
        @Override
        PpoConfig preset(String name) { return PpoConfig.preset(name, "repo"); }
    }

    @Command(name = "ppo-shaping", mixinStandardHelpOptions = true,
            description = "PPO with reward shaping: reward - lambda_init * cost, lambda fixed (the baseline).")
    static final class PpoShaping extends PpoStage {
        @Override
        PpoConfig preset(String name) { return PpoConfig.preset(name, "ppo-reward-shaping"); }
    }
}
