package saferlhf.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import saferlhf.KitPaths;
import saferlhf.pipeline.MemoryPlan;
import saferlhf.train.Configs;
import saferlhf.train.TrainingLoop;

/**
 * A training stage on the command line: {@code saferlhf STAGE [--preset quick|full] [--config FILE] [key=value ...]}.
 * The preset gives every value, the JSON file overrides some, the {@code key=value} pairs override last; keys are the
 * reference's argument names in snake_case. The same config record runs from a notebook or a test.
 */
abstract class StageCommand<C extends Record> implements Callable<Integer> {
    @Option(names = "--preset", description = "quick or full (BeaverWorld, tiny models), or paper (the reference's "
            + "settings for real models; give the model paths: see docs/paper-presets.md) (default: ${DEFAULT-VALUE})")
    String preset = "full";

    @Option(names = "--config", paramLabel = "FILE", description = "a JSON config (snake_case keys); keys not given keep the preset's")
    Path config;

    @Option(names = "--print-config", description = "print the resolved config as JSON and exit")
    boolean printConfig;

    @Option(names = "--plan", arity = "0..1", fallbackValue = "", paramLabel = "MEMORY",
            description = "print the expected memory of this run, part by part (fp32, and with frozen_dtype=float16), "
                    + "and whether it fits in MEMORY (e.g. 24g, 80g; default: this machine's), then exit")
    String plan;

    @Parameters(paramLabel = "KEY=VALUE", description = "overrides, e.g. lr=1e-3 epochs=2")
    List<String> overrides = new ArrayList<>();

    /** The preset of this stage. */
    abstract C preset(String name);

    /** The stage's expected memory (see {@link MemoryPlan}). */
    abstract MemoryPlan.Plan plan(C config) throws Exception;

    /** Runs the stage. */
    abstract TrainingLoop.Result train(C config) throws Exception;

    /** The config's {@code device} key. */
    abstract String device(C config);

    private String commandName() {
        return getClass().getSimpleName().replace("Command", "").toLowerCase();
    }

    /** The resolved config: preset, then file, then overrides (validated once, at the end). */
    C resolve() {
        return Configs.resolve(preset(preset), config == null ? null : KitPaths.resolve(config.toString()), overrides);
    }

    /** Bad presets, config files, keys and values, bad data and model folders reach {@link Errors}: one line, exit code 2. */
    @Override
    public Integer call() throws Exception {
        C resolved = resolve();
        if (printConfig) {
            System.out.println(Configs.toJson(resolved));
            return 0;
        }
        if (plan != null) {
            System.out.print(plan(resolved).table(plan.isBlank() ? physicalMemoryMib() : MemoryPlan.parseMib(plan)));
            return 0;
        }
        System.out.println(commandName() + ": " + saferlhf.model.Device.describe(device(resolved)));
        TrainingLoop.Result result = train(resolved);
        System.out.printf("%s: %d/%d steps in %.0f s; model: %s%n", commandName(), result.steps(), result.totalSteps(),
                result.seconds(), result.modelFolder());
        result.lastEval().forEach((name, value) -> System.out.printf("  %-28s %.4f%n", name, value));
        return 0;
    }

    /** This machine's physical memory in MiB (0 when unknown). */
    static double physicalMemoryMib() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getTotalMemorySize() / 1048576.0 : 0;
    }
}
