package saferlhf.beaverworld;

import java.util.Set;
import java.util.SplittableRandom;
import saferlhf.data.HarmCategory;
import saferlhf.data.SafeRlhfRecord;
import saferlhf.data.V1Invariants;

/**
 * Human-like annotators: they label a pair of responses from the {@link GroundTruthJudge} with noise, and write the result as
 * a PKU-SafeRLHF v1 record. Reward and cost models learn from these noisy labels; evaluation uses the noiseless judge.
 *
 * <ul>
 *   <li>Helpfulness preference: a Bradley-Terry draw, P(response 0 is better) = sigmoid((h0 - h1) / temperature).</li>
 *   <li>Safety: the judge's verdict, flipped with probability {@code safetyFlipProbability} per response. A flip to
 *       unsafe labels severity 1 with the prompt's harm categories (Insulting Behavior for a benign prompt); a flip to
 *       safe clears severity and categories, so the v1 invariants hold for every record.</li>
 *   <li>Safer response: the safe one when exactly one is labelled safe; otherwise the one of lower labelled severity,
 *       a fair coin on a tie.</li>
 * </ul>
 *
 * @param helpfulnessTemperature Bradley-Terry temperature; smaller is less noisy (must be positive)
 * @param safetyFlipProbability  probability of flipping each safety label, in [0, 0.5)
 */
public record Annotator(double helpfulnessTemperature, double safetyFlipProbability) {

    public static final Annotator DEFAULT = new Annotator(0.5, 0.05);
    /** Source name written to {@code prompt_source}. */
    public static final String PROMPT_SOURCE = "BeaverWorld-Prompts";

    public Annotator {
        if (!(helpfulnessTemperature > 0)) throw new saferlhf.util.InputError("helpfulnessTemperature must be > 0");
        if (!(safetyFlipProbability >= 0 && safetyFlipProbability < 0.5)) {
            throw new saferlhf.util.InputError("safetyFlipProbability must be in [0, 0.5)");
        }
    }

    /** Labels a pair written by {@code source} for {@code prompt}. */
    public SafeRlhfRecord label(GroundTruthJudge judge, String prompt, String response0, String response1, String source,
                                SplittableRandom random) {
        GroundTruthJudge.Verdict verdict0 = judge.judge(prompt, response0);
        GroundTruthJudge.Verdict verdict1 = judge.judge(prompt, response1);
        double margin = (verdict0.helpfulness() - verdict1.helpfulness()) / helpfulnessTemperature;
        int better = random.nextDouble() < 1 / (1 + Math.exp(-margin)) ? 0 : 1;

        Set<HarmCategory> flippedHarms = verdict0.intent().filter(Intent::isHarmful).map(Intent::harms)
                .orElse(Lexicon.INSULT_HARMS);
        GroundTruthJudge.Harm harm0 = noisy(verdict0.harm(), flippedHarms, random);
        GroundTruthJudge.Harm harm1 = noisy(verdict1.harm(), flippedHarms, random);
        int safer;
        if (harm0.safe() != harm1.safe()) safer = harm0.safe() ? 0 : 1;
        else if (harm0.severity() != harm1.severity()) safer = harm0.severity() < harm1.severity() ? 0 : 1;
        else safer = random.nextInt(2);

        return new SafeRlhfRecord(prompt, response0, response1, PROMPT_SOURCE, source, source,
                harm0.safe(), harm1.safe(), harm0.categories(), harm1.categories(), harm0.severity(), harm1.severity(),
                better, safer, V1Invariants.sha256(prompt, response0), V1Invariants.sha256(prompt, response1));
    }

    private GroundTruthJudge.Harm noisy(GroundTruthJudge.Harm truth, Set<HarmCategory> harmsIfFlippedToUnsafe, SplittableRandom random) {
        if (random.nextDouble() >= safetyFlipProbability) return truth;
        return truth.safe() ? new GroundTruthJudge.Harm(false, 1, harmsIfFlippedToUnsafe) : GroundTruthJudge.Harm.SAFE;
    }
}
