package saferlhf.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import saferlhf.KitPaths;
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

    @Parameters(paramLabel = "KEY=VALUE", description = "overrides, e.g. lr=1e-3 epochs=2")
    List<String> overrides = new ArrayList<>();

    /** The preset of this stage. */
    abstract C preset(String name);

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
        System.out.println(commandName() + ": " + saferlhf.model.Device.describe(device(resolved)));
        TrainingLoop.Result result = train(resolved);
        System.out.printf("%s: %d/%d steps in %.0f s; model: %s%n", commandName(), result.steps(), result.totalSteps(),
                result.seconds(), result.modelFolder());
        result.lastEval().forEach((name, value) -> System.out.printf("  %-28s %.4f%n", name, value));
        return 0;
    }
}
