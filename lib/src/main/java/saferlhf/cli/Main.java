package saferlhf.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import saferlhf.Offline;

/**
 * The {@code saferlhf} command line: {@code java -jar lib/target/saferlhf.jar <command> ...}. Bad input is answered
 * with one line, {@code error: FILE: what is wrong}, and exit code 2 ({@link Errors}); {@code --verbose} (or
 * {@code SAFERLHF_VERBOSE=1}) adds the Java stack trace.
 */
@Command(name = "saferlhf", mixinStandardHelpOptions = true, version = "saferlhf 0.1.0",
        description = "Safe RLHF research kit: data, models, trainers and evaluation on the JVM.",
        subcommands = {DataCommand.class, TrainCommands.Sft.class, TrainCommands.RewardModel.class,
                TrainCommands.CostModel.class, TrainCommands.Dpo.class, TrainCommands.SafeDpo.class, TrainCommands.Sacpo.class,
                TrainCommands.Bfpo.class, TrainCommands.Mocan.class, TrainCommands.Pecan.class, TrainCommands.Cdpo.class,
                TrainCommands.Ppo.class, TrainCommands.PpoLag.class, TrainCommands.GrpoLag.class, TrainCommands.Repo.class,
                TrainCommands.PpoShaping.class, RoundsCommand.class,
                ReproduceCommand.class, CompareCommand.class, SeedsCommand.class, EvalCommand.class, ChatCommand.class,
                ServeCommand.class, BenchCommand.class, DeviceCommand.class, LoraCommand.class, MergeCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "on an error, also print the Java stack trace (or set SAFERLHF_VERBOSE=1)")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line in-process and returns its exit code (used by tests and notebooks). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** The command line with its error handling, ready to {@code execute} (tests set its output and error writers). */
    public static CommandLine commandLine() {
        Offline.apply();
        Errors errors = new Errors();
        return new CommandLine(new Main()).setExecutionExceptionHandler(errors).setParameterExceptionHandler(errors);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
