package saferlhf.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import saferlhf.KitPaths;
import saferlhf.pipeline.Comparison;
import saferlhf.pipeline.Reproduction;
import saferlhf.pipeline.StageGraph;

/** {@code saferlhf compare}: constrained-alignment methods side by side over seeds, against the ground truth. */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Train the chosen methods beside the reproduction's (SFT, PPO, Safe RLHF's rounds, reward shaping, "
                + "DPO) from the same SFT, reward and cost models, one reproduction per seed, and compare them with the "
                + "ground-truth judge: 95% bootstrap intervals, the Pareto front, training time. report.md, summary.json, "
                + "plane.png. Finished stages are skipped, so it resumes.")
public final class CompareCommand implements Callable<Integer> {
    @Option(names = "--preset", description = "quick or full (default: ${DEFAULT-VALUE})")
    String preset = "full";

    @Option(names = "--methods", split = ",", paramLabel = "METHOD",
            description = "methods added to the reproduction's policies (default: all: safe-dpo, sacpo, p-sacpo, bfpo, grpo-lag, "
                    + "repo, mocan, pecan, c-dpo)")
    List<String> methods = new ArrayList<>(Reproduction.METHODS);

    @Option(names = "--seeds", split = ",", paramLabel = "N", description = "seeds (default: 42,43,44)")
    List<Long> seeds = new ArrayList<>(List.of(42L, 43L, 44L));

    @Option(names = "--out", description = "output folder (default: checkpoints/compare-PRESET)")
    String out;

    @Option(names = "--jobs", description = "stages at once, each in a child JVM (default: the cores, at most 4)")
    Integer jobs;

    @Option(names = "--threads-per-stage", description = "libtorch intra-op threads of each stage (default: cores / jobs)")
    Integer threadsPerStage;

    @Option(names = "--set", paramLabel = "KIND.key=value", description = "override a preset's value, as for reproduce; repeatable")
    List<String> settings = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        String folder = out != null ? out : "checkpoints/compare-" + preset;
        Comparison comparison = new Comparison(preset, folder, seeds, settings, methods); // refuses bad input first
        var summary = comparison.run(StageGraph.Schedule.of(jobs, threadsPerStage), System.out);
        System.out.println();
        System.out.println(Comparison.table(summary).printAll());
        System.out.println("report: " + KitPaths.shown(KitPaths.resolve(folder).resolve("report.md")));
        return 0;
    }
}
