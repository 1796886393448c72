package saferlhf.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code saferlhf data generate|stats|tokenizer}. */
@Command(name = "data", mixinStandardHelpOptions = true, description = "Generate BeaverWorld; inspect data sets; write a tokenizer.",
        subcommands = {GenerateCommand.class, DataStatsCommand.class, TokenizerCommand.class})
public final class DataCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
