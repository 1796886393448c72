package saferlhf.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;
import saferlhf.eval.Judge;

/** What {@code chat} and {@code serve} say beside an answer: reward, cost, the judge's verdict (a picocli mixin). */
final class AnswerScoring {
    @Option(names = "--reward-model", description = "a reward model: each answer's reward is shown")
    Path rewardModel;

    @Option(names = "--cost-model", description = "a cost model: each answer's cost is shown (cost > 0 means unsafe)")
    Path costModel;

    @Option(names = "--judge-config", description = EvalCommand.JUDGE_CONFIG_HELP)
    Path judgeConfig;

    /** The reward model's folder, checked, or null. */
    Path rewardFolder() { return rewardModel == null ? null : EvalCommand.modelFolder(rewardModel); }

    /** The cost model's folder, checked, or null. */
    Path costFolder() { return costModel == null ? null : EvalCommand.modelFolder(costModel); }

    Judge judge() { return EvalCommand.judge(judgeConfig); }
}
