package saferlhf.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import saferlhf.pipeline.Reproduction;
import saferlhf.pipeline.StageGraph;

/** {@code saferlhf reproduce [--preset quick|full] [--out DIR] [--seed N] [--jobs N] [--set KIND.key=value]}: the kit's main job. */
@Command(name = "reproduce", mixinStandardHelpOptions = true,
        description = "The whole Safe RLHF reproduction on BeaverWorld: SFT, RM, CM, PPO, PPO-Lagrangian (3 rounds), reward-shaping sweep, DPO, evaluation, report.md and summary.json. Independent stages run at the same time, each in a JVM of its own; finished stages are skipped.")
public final class ReproduceCommand implements Callable<Integer> {
    @Option(names = "--preset", description = "quick or full (default: ${DEFAULT-VALUE})")
    String preset = "full";

    @Option(names = "--out", description = "output folder (default: checkpoints/reproduce-PRESET-seedN)")
    String out;

    @Option(names = "--seed", description = "seed of every stage (default: ${DEFAULT-VALUE})")
    long seed = 42;

    @Option(names = "--jobs", description = "stages at once, each in a child JVM; 1 runs them one after another in this JVM "
            + "(default: the cores, at most 4); the results do not depend on it")
    Integer jobs;

    @Option(names = "--threads-per-stage", description = "libtorch intra-op threads of each stage (default: cores / min(cores, 4)); "
            + "the results depend on it (reductions split their sums by it)")
    Integer threadsPerStage;

    @Option(names = "--set", paramLabel = "KIND.key=value", description = "override a preset's value, KIND one of sft, rm, cm, "
            + "dpo, rl (PPO, PPO-Lagrangian, reward shaping), rounds (rounds.rounds, rounds.pairs_per_round); repeatable")
    List<String> settings = new ArrayList<>();

    @Option(names = "--methods", split = ",", paramLabel = "METHOD",
            description = "further methods beside the reproduction's: safe-dpo, sacpo, p-sacpo, bfpo, grpo-lag, repo, mocan, "
                    + "pecan, c-dpo (docs/methods.md)")
    List<String> methods = new ArrayList<>();

    @Option(names = "--stage", hidden = true, description = "run only this stage, in this JVM (a child of a parallel run)")
    String stage;

    @Override
    public Integer call() throws Exception {
        String folder = out != null ? out : "checkpoints/reproduce-" + preset + "-seed" + seed;
        Reproduction reproduction = new Reproduction(preset, folder, seed, settings, methods); // refuses paper or an unknown preset first
        StageGraph.Schedule schedule = StageGraph.Schedule.of(jobs, threadsPerStage);
        if (stage != null) {
            reproduction.runStage(stage, schedule.threads());
            return 0;
        }
        var summary = reproduction.run(schedule, System.out);
        System.out.print(Reproduction.table(summary));
        System.out.println("report: " + saferlhf.KitPaths.shown(saferlhf.KitPaths.resolve(folder).resolve("report.md")));
        return 0;
    }
}
