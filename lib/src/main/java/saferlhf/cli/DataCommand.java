package saferlhf.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code saferlhf data generate|stats}. */
@Command(name = "data", mixinStandardHelpOptions = true, description = "Generate BeaverWorld; inspect data sets.",
        subcommands = {GenerateCommand.class, DataStatsCommand.class})
public final class DataCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
