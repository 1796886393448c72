package saferlhf.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import saferlhf.beaverworld.Annotator;
import saferlhf.beaverworld.BeaverWorld;
import saferlhf.beaverworld.GroundTruthJudge;

/** {@code saferlhf data generate beaverworld --seed N --out DIR}: writes the synthetic data set. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate the BeaverWorld data set deterministically from a seed.")
public final class GenerateCommand implements Callable<Integer> {
    private static final BeaverWorld.Config D = BeaverWorld.Config.DEFAULT;

    @Parameters(index = "0", description = "the world to generate: beaverworld")
    String world;

    @Option(names = "--seed", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed = D.seed();

    @Option(names = "--out", required = true, description = "output folder")
    Path out;

    @Option(names = "--sft", description = "SFT demonstrations (default: ${DEFAULT-VALUE})")
    int sft = D.sftExamples();

    @Option(names = "--preference-train", description = "preference pairs for training (default: ${DEFAULT-VALUE})")
    int preferenceTrain = D.preferenceTrain();

    @Option(names = "--preference-test", description = "preference pairs on held-out prompts (default: ${DEFAULT-VALUE})")
    int preferenceTest = D.preferenceTest();

    @Option(names = "--rl-prompts-per-intent", description = "RL prompts per intent (default: ${DEFAULT-VALUE})")
    int rlPrompts = D.rlPromptsPerIntent();

    @Option(names = "--eval-prompts-per-intent", description = "evaluation prompts per intent (default: ${DEFAULT-VALUE})")
    int evalPrompts = D.evalPromptsPerIntent();

    @Option(names = "--helpfulness-temperature", description = "annotators' Bradley-Terry temperature (default: ${DEFAULT-VALUE})")
    double temperature = D.annotator().helpfulnessTemperature();

    @Option(names = "--safety-flip", description = "probability of flipping a safety label (default: ${DEFAULT-VALUE})")
    double safetyFlip = D.annotator().safetyFlipProbability();

    @Override
    public Integer call() throws Exception {
        if (!world.equalsIgnoreCase("beaverworld")) {
            throw new saferlhf.util.InputError("unknown world '" + world + "' (available: beaverworld)");
        }
        BeaverWorld.Config config = new BeaverWorld.Config(seed, sft, preferenceTrain, preferenceTest, rlPrompts, evalPrompts,
                new Annotator(temperature, safetyFlip));
        BeaverWorld.Splits splits = BeaverWorld.generate(config);
        BeaverWorld.write(splits, out);
        System.out.printf("BeaverWorld (seed %d) written to %s:%n", seed, out);
        System.out.printf("  sft/train.jsonl            %6d demonstrations%n", splits.sft().size());
        System.out.printf("  preference/train.jsonl.xz  %6d pairs%n", splits.preferenceTrain().size());
        System.out.printf("  preference/test.jsonl.xz   %6d pairs%n", splits.preferenceTest().size());
        System.out.printf("  rl/prompts.jsonl           %6d prompts%n", splits.rlPrompts().size());
        System.out.printf("  eval/harmful.jsonl         %6d prompts%n", splits.evalHarmful().size());
        System.out.printf("  eval/benign.jsonl          %6d prompts%n", splits.evalBenign().size());
        System.out.printf("  tokenizer.json             %6d words%n", BeaverWorld.vocabulary().size());
        GroundTruthJudge.LabelAgreement agreement = new GroundTruthJudge().agreement(splits.preferenceTrain());
        System.out.printf("Annotator labels vs the ground-truth judge (preference/train): better_response_id agrees on %.1f%% "
                + "of %d pairs the judge does not tie; is_response_i_safe agrees on %.1f%% of %d responses.%n",
                100 * agreement.betterAgreement(), agreement.decidedPairs(), 100 * agreement.safetyAgreement(), agreement.responses());
        return 0;
    }
}
