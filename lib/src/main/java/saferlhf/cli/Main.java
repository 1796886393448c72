package saferlhf.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import saferlhf.Offline;

/** The {@code saferlhf} command line: {@code java -jar lib/target/saferlhf.jar <command> ...}. */
@Command(name = "saferlhf", mixinStandardHelpOptions = true, version = "saferlhf 0.1.0",
        description = "Safe RLHF research kit: data, models, trainers and evaluation on the JVM.",
        subcommands = {DataCommand.class, TrainCommands.Sft.class, TrainCommands.RewardModel.class,
                TrainCommands.CostModel.class, TrainCommands.Dpo.class, TrainCommands.Ppo.class, TrainCommands.PpoLag.class,
                TrainCommands.PpoShaping.class, RoundsCommand.class, ReproduceCommand.class, SeedsCommand.class, EvalCommand.class,
                BenchCommand.class, DeviceCommand.class, LoraCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line in-process and returns its exit code (used by tests and notebooks). */
    public static int run(String... args) {
        Offline.apply();
        return new CommandLine(new Main()).execute(args);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
