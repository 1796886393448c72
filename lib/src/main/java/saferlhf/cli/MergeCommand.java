package saferlhf.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import saferlhf.KitPaths;
import saferlhf.model.ModelMerge;

/** {@code saferlhf merge --model A --model B --weight Q --out DIR}: P-SACPO's linear weight merge. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge two models of one architecture linearly, (1 - q) * A + q * B (P-SACPO: A the helpfulness-DPO "
                + "policy, B the SACPO policy; the paper's q: 0.25, 0.5, 0.75), and write a model folder.")
public final class MergeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, arity = "2", paramLabel = "DIR", description = "the two model folders, A then B")
    Path[] models;

    @Option(names = "--weight", required = true, paramLabel = "Q", description = "q in [0, 1], B's share")
    double weight;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output model folder")
    Path out;

    @Override
    public Integer call() throws Exception {
        Path a = KitPaths.resolve(models[0].toString()), b = KitPaths.resolve(models[1].toString());
        Path outDir = KitPaths.resolve(out.toString());
        ModelMerge.linear(a, b, weight, outDir);
        System.out.printf("merged %.2f x %s + %.2f x %s into %s%n", 1 - weight, KitPaths.shown(a), weight, KitPaths.shown(b),
                KitPaths.shown(outDir));
        return 0;
    }
}
