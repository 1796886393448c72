package saferlhf.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import saferlhf.bench.MemoryBenchmarks;
import saferlhf.bench.ModelBenchmarks;

/** {@code saferlhf bench models}: speed and memory of the models package as ratios against references. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks that print ratios against a reference run on this machine.",
        subcommands = {BenchCommand.Models.class, BenchCommand.Memory.class, BenchCommand.Leak.class})
public final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** The options every benchmark takes, and how it prints its result. */
    static final class Common {
        @Option(names = "--quick", description = "tiny sizes (a smoke test; the ratios mean little)")
        boolean quick;

        @Option(names = "--no-torch", description = "skip the PyTorch reference")
        boolean noTorch;

        @Option(names = "--python", description = "Python with torch (default: ${DEFAULT-VALUE})")
        Path python = Path.of("/usr/bin/python3");

        @Option(names = "--json", description = "print one JSON object instead of the table")
        boolean json;

        @Option(names = "--json-out", paramLabel = "FILE", description = "also write the JSON object to FILE")
        Path jsonOut;

        /** Writes {@code --json-out}, then prints the JSON or the table. */
        int print(CommandSpec spec, ObjectNode result, java.util.function.Function<ObjectNode, String> table) throws java.io.IOException {
            if (jsonOut != null) java.nio.file.Files.writeString(jsonOut, result.toPrettyString() + "\n");
            PrintWriter out = spec.commandLine().getOut();
            out.print(json ? result.toString() + "\n" : table.apply(result));
            out.flush();
            return 0;
        }
    }

    /** See {@link ModelBenchmarks}. */
    @Command(name = "models", mixinStandardHelpOptions = true,
            description = {"Training-step tokens/s of the ~10M-parameter LLaMA-style model vs PyTorch (kit, PyTorch, kit),",
                    "generation tokens/s with vs without the KV cache, and peak resident memory; progress on stderr."})
    public static final class Models implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--steps", description = "timed training steps per run (default: 10; --quick: 2)")
        Integer steps;

        @Option(names = "--warmup", description = "untimed warm-up training steps per run (default: 3; --quick: 1)")
        Integer warmup;

        @Mixin
        Common common;

        @Option(names = "--no-fork", description = "run every kit part in this JVM (peak RSS is then this process's peak so far)")
        boolean noFork;

        @Option(names = "--torch-script", description = "bench_torch_train_step.py (default: <project root>/" + ModelBenchmarks.SCRIPT + ")")
        Path script;

        @Option(names = "--kit-threads", split = ",", paramLabel = "N", description = "intra-op thread counts the kit's training step tries, each in a fresh JVM (default: 1 and the number of cores)")
        java.util.List<Integer> kitThreads;

        @Option(names = "--part", hidden = true, description = "run one part in this JVM and print its JSON (train-step, generation)")
        String part;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            boolean quick = common.quick;
            ModelBenchmarks.Options d = quick ? ModelBenchmarks.Options.quickNoTorch() : ModelBenchmarks.Options.defaults();
            ModelBenchmarks.Options o = new ModelBenchmarks.Options(quick, warmup != null ? warmup : d.warmup(),
                    steps != null ? steps : d.steps(), !common.noTorch, !noFork, d.genBatch(), d.promptLength(), d.newTokens(),
                    d.cachedReps(), common.python, script, kitThreads != null ? kitThreads : d.kitThreads());
            if (part != null) {
                out.println(ModelBenchmarks.runPart(part, o).toString());
                out.flush();
                return 0;
            }
            return common.print(spec, ModelBenchmarks.run(o, System.err), ModelBenchmarks::table);
        }
    }

    /** See {@link saferlhf.bench.MemoryBenchmarks}. */
    @Command(name = "memory", mixinStandardHelpOptions = true,
            description = {"Peak resident memory of a 114.8M-parameter LLaMA (GPT-2-small size) vs PyTorch on the same shapes, each",
                    "part in a fresh process: a no-grad forward of 16 x 256 tokens, KV-cache generation of 64 new tokens for",
                    "16 prompts, two training steps with AdamW on 4 x 256 tokens (target: kit / PyTorch <= 1.3); progress on stderr."})
    public static final class Memory implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Common common;

        @Option(names = "--threads", description = "intra-op threads of both sides (default: the number of cores)")
        Integer threads;

        @Option(names = "--part", hidden = true, description = "run one part in this JVM and print its JSON")
        String part;

        @Option(names = "--sizes", hidden = true, description = "the sizes as JSON (with --part)")
        String sizes;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            MemoryBenchmarks.Sizes s = sizes != null ? MemoryBenchmarks.Sizes.fromJson(sizes)
                    : common.quick ? MemoryBenchmarks.Sizes.QUICK : MemoryBenchmarks.Sizes.DEFAULT;
            if (part != null) {
                out.println(MemoryBenchmarks.runPart(part, s).toString());
                out.flush();
                return 0;
            }
            MemoryBenchmarks.Options o = new MemoryBenchmarks.Options(s, !common.noTorch,
                    threads != null ? threads : Runtime.getRuntime().availableProcessors(), common.python);
            return common.print(spec, MemoryBenchmarks.run(o, System.err), MemoryBenchmarks::table);
        }
    }

    /** See {@link saferlhf.bench.MemoryCheck}. */
    @Command(name = "leak", mixinStandardHelpOptions = true,
            description = "Trains the tiny SFT model N steps and reports the growth of resident memory from step N/10 to N (target < 5%).")
    public static final class Leak implements Callable<Integer> {
        @Option(names = "--steps", description = "optimizer steps (default: ${DEFAULT-VALUE})")
        int steps = 1000;

        @Override
        public Integer call() throws Exception {
            saferlhf.bench.MemoryCheck check = saferlhf.bench.MemoryCheck.run(steps);
            System.out.println(check);
            return check.meetsTarget() ? 0 : 1;
        }
    }
}
