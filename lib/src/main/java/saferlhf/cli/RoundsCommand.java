package saferlhf.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import saferlhf.rl.Rounds;

/** {@code saferlhf rounds --preset quick|full --rounds N}: multi-round Safe RLHF. */
@Command(name = "rounds", mixinStandardHelpOptions = true,
        description = "Multi-round Safe RLHF: PPO-Lagrangian, then per round: sample, annotate, continue RM/CM, PPO-Lagrangian again.")
public final class RoundsCommand implements Callable<Integer> {
    @Option(names = "--preset", description = "quick or full (default: ${DEFAULT-VALUE})")
    String preset = "full";

    @Option(names = "--rounds", description = "number of rounds (default: ${DEFAULT-VALUE}, as the paper)")
    int rounds = Rounds.DEFAULT_ROUNDS;

    @Option(names = "--pairs-per-round", description = "fresh labelled pairs per later round (default: 128 quick, 1000 full)")
    Integer pairs;

    @Option(names = "--later-lambda-update", description = "sgd or pid: how rounds 2 and later update lambda (default: ${DEFAULT-VALUE})")
    String laterLambdaUpdate = Rounds.LATER_ROUNDS_LAMBDA_UPDATE;

    @Option(names = "--later-threshold", description = "fixed (d in every round) or previous (a later round's threshold is "
            + "min(d, the previous policy's mean cost under the round's cost model)) (default: ${DEFAULT-VALUE})")
    String laterThreshold = Rounds.LATER_ROUNDS_THRESHOLD;

    @Option(names = "--out", description = "output folder (default: checkpoints/rounds, or checkpoints/quick/rounds)")
    String out;

    @Override
    public Integer call() throws Exception {
        String folder = out != null ? out : preset.equals("quick") ? "checkpoints/quick/rounds" : "checkpoints/rounds";
        Rounds.requireBeaverWorldPreset(preset);
        Rounds.Settings settings = Rounds.Settings.of(preset).withRounds(rounds).withLaterLambdaUpdate(laterLambdaUpdate)
                .withLaterThreshold(laterThreshold);
        if (pairs != null) settings = settings.withPairsPerRound(pairs);
        List<Rounds.Round> done = Rounds.run(preset, settings, folder);
        for (Rounds.Round r : done) System.out.printf("round %d: policy %s%n", r.round(), r.policy());
        return 0;
    }
}
