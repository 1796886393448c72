package saferlhf.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import saferlhf.pipeline.Reproduction;

/** {@code saferlhf reproduce [--preset quick|full] [--out DIR] [--seed N]}: the kit's main job. */
@Command(name = "reproduce", mixinStandardHelpOptions = true,
        description = "The whole Safe RLHF reproduction on BeaverWorld: SFT, RM, CM, PPO, PPO-Lagrangian (2 rounds), reward-shaping sweep, DPO, evaluation, report.md and summary.json. Finished stages are skipped.")
public final class ReproduceCommand implements Callable<Integer> {
    @Option(names = "--preset", description = "quick or full (default: ${DEFAULT-VALUE})")
    String preset = "full";

    @Option(names = "--out", description = "output folder (default: checkpoints/reproduce-PRESET-seedN)")
    String out;

    @Option(names = "--seed", description = "seed of every stage (default: ${DEFAULT-VALUE})")
    long seed = 42;

    @Override
    public Integer call() throws Exception {
        String folder = out != null ? out : "checkpoints/reproduce-" + preset + "-seed" + seed;
        var summary = new Reproduction(preset, folder, seed).run(); // refuses paper or an unknown preset first
        System.out.print(Reproduction.table(summary));
        System.out.println("report: " + saferlhf.KitPaths.resolve(folder).resolve("report.md"));
        return 0;
    }
}
