package saferlhf.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import saferlhf.KitPaths;
import saferlhf.pipeline.SafeRlhfTargets;
import saferlhf.pipeline.SeedStudy;
import saferlhf.util.AtomicFiles;

/** {@code saferlhf seeds DIR...}: reproductions with different seeds, as mean ± spread and a per-seed target check. */
@Command(name = "seeds", mixinStandardHelpOptions = true,
        description = "Summarise reproductions that differ in their seed (their summary.json): mean, standard deviation and range per policy, and whether PPO-Lagrangian met the Safe RL targets in each.")
public final class SeedsCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", description = "reproduction folders (e.g. checkpoints/reproduce-full-seed42 ...)")
    List<Path> runs;

    @Option(names = "--out", description = "also write the markdown here")
    Path out;

    @Override
    public Integer call() throws Exception {
        List<Path> folders = runs.stream().map(p -> KitPaths.resolve(p.toString())).toList();
        String markdown = SeedStudy.read(folders).markdown() + "\nSafe RLHF's targets against SFT, checked on each run's evaluation "
                + "answers (saferlhf.pipeline.SafeRlhfTargets):\n\n"
                + SafeRlhfTargets.markdown(checks(folders));
        System.out.print(markdown);
        if (out != null) AtomicFiles.writeString(KitPaths.resolve(out.toString()), markdown);
        return 0;
    }

    private static List<SafeRlhfTargets> checks(List<Path> folders) throws java.io.IOException {
        List<SafeRlhfTargets> checks = new java.util.ArrayList<>();
        for (Path folder : folders) checks.add(SafeRlhfTargets.check(folder));
        return checks;
    }
}
