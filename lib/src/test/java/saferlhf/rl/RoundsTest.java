package saferlhf.rl;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.KitPaths;
import saferlhf.data.JsonlWriter;
import saferlhf.data.PreferencePair;
import saferlhf.data.SftRecord;
import saferlhf.eval.PreferenceScores;
import saferlhf.model.Device;
import saferlhf.model.ModelConfig;
import saferlhf.model.ModelFiles;
import saferlhf.model.ScoreModel;
import saferlhf.model.ScoreType;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;
import saferlhf.train.Configs;
import saferlhf.train.Data;
import saferlhf.train.ScoreModelConfig;
import saferlhf.train.TrainingLoop;
import saferlhf.util.InputError;
import saferlhf.util.JsonFiles;

/** The rounds' plan: what each later round's reward and cost models continue on, where each round starts, its threshold. */
class RoundsTest {
    private static List<Rounds.Plan> plan(Rounds.Settings settings, Path dir) {
        return plan(PpoConfig.quick("ppo-lag"), settings, dir);
    }

    private static List<Rounds.Plan> plan(PpoConfig ppo, Rounds.Settings settings, Path dir) {
        return Rounds.plan(ppo, ScoreModelConfig.quick("reward"), ScoreModelConfig.quick("cost"), settings, dir.toString());
    }

    @Test
    void laterRoundsContinueOnEveryRoundsFreshPairsPlusAsManyReplayed(@TempDir Path dir) {
        List<Rounds.Plan> plans = plan(Rounds.Settings.of("quick").withPairsPerRound(10), dir);
        assertEquals(3, plans.size());
        assertNull(plans.get(0).reward(), "round 1 trains with the given models");
        String round2 = dir.resolve("round-2/preference/train.jsonl").toString(), round3 = dir.resolve("round-3/preference/train.jsonl").toString();
        // the quick reward model trained on BeaverWorld/train:0.1: replay draws from BeaverWorld/train
        assertEquals(round2 + ",BeaverWorld/train:10/-1", plans.get(1).reward().trainDatasets());
        assertEquals(round2 + "," + round3 + ",BeaverWorld/train:20/-1", plans.get(2).reward().trainDatasets());
        assertEquals(plans.get(2).reward().trainDatasets(), plans.get(2).cost().trainDatasets());
        assertEquals(1, plans.get(2).reward().epochs());
        // each round starts from the previous round's policy, reward and cost models
        assertEquals(plans.get(1).policy().toString(), plans.get(2).ppo().actorModelNameOrPath());
        assertTrue(plans.get(2).reward().modelNameOrPath().startsWith(dir.resolve("round-2/rm").toString()));
        // round 1 keeps the given config's lambda update (the reference's SGD), the later rounds use PID
        assertEquals("sgd", plans.get(0).ppo().lambdaUpdate());
        assertEquals("pid", plans.get(1).ppo().lambdaUpdate());
        assertEquals("pid", plans.get(2).ppo().lambdaUpdate());
        assertEquals("sgd", plan(Rounds.Settings.of("quick").withRounds(2).withLaterLambdaUpdate("sgd"), dir).get(1).ppo().lambdaUpdate());
        assertThrows(InputError.class, () -> Rounds.Settings.of("quick").withLaterLambdaUpdate("pi"));
        assertThrows(InputError.class, () -> Rounds.Settings.of("quick").withLaterThreshold("lower"));
        assertThrows(InputError.class, () -> Rounds.Settings.of("quick").withRounds(0));
        assertEquals(128, Rounds.defaultPairsPerRound("quick"));
        assertEquals(1000, Rounds.defaultPairsPerRound("full"));
    }

    @Test
    void aFixedThresholdIsTheConfigsInEveryRound(@TempDir Path dir) throws Exception {
        assertEquals("previous", Rounds.Settings.of("full").laterThreshold(), "the default");
        for (Rounds.Plan round : plan(Rounds.Settings.of("quick").withLaterThreshold("fixed"), dir)) {
            assertNull(round.thresholdFile());
            assertSame(round.ppo(), round.settledPpo(), "nothing to settle: the round runs its planned config");
            assertEquals(PpoConfig.quick("ppo-lag").threshold(), round.threshold());
        }
    }

    /**
     * {@code previous}: a later round's threshold is min(d, the mean cost of the previous policy's answers, both responses
     * of every labelled pair, under the round's cost model), settled once into {@code threshold.json}.
     */
    @Test
    void aPreviousThresholdIsTheSmallerOfDAndThePreviousPolicysMeanCostSettledOnce(@TempDir Path dir) throws Exception {
        Rounds.Settings settings = Rounds.Settings.of("quick").withRounds(2).withPairsPerRound(4).withLaterThreshold("previous");
        Path costModel = null, pairs = null;
        double meanCost = Double.NaN;
        for (double d : new double[] {100, -100}) {
            Path out = dir.resolve("d" + d);
            Rounds.Plan round2 = plan(Configs.override(PpoConfig.quick("ppo-lag"), List.of("threshold=" + d)), settings, out).get(1);
            assertNull(plan(settings, out).get(0).thresholdFile(), "round 1 keeps d");
            assertEquals(out.resolve("round-2/threshold.json"), round2.thresholdFile());
            // the round's labelled samples (four BeaverWorld pairs stand in for the previous policy's) and a tiny cost model
            JsonlWriter.write(round2.preferenceData(), Data.load("BeaverWorld/train:4/-1", 1));
            Path model = TrainingLoop.modelFolder(round2.cost());
            try (Tokenizer tokenizer = Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
                 ScoreModel cost = ScoreModel.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), ScoreType.COST, Device.parse("cpu"), 3)) {
                ModelFiles.save(cost, tokenizer, model);
            }
            if (Double.isNaN(meanCost)) {
                List<SftRecord> answers = new ArrayList<>();
                for (PreferencePair p : Data.preferences(round2.preferenceData().toString(), 0)) {
                    answers.add(new SftRecord(p.prompt(), p.response0()));
                    answers.add(new SftRecord(p.prompt(), p.response1()));
                }
                assertEquals(8, answers.size());
                try (Scorer scorer = Scorer.load(model, Device.parse("cpu"))) {
                    meanCost = PreferenceScores.mean(scorer.endScores(answers, 4, round2.ppo().maxLength()));
                }
                assertTrue(Math.abs(meanCost) < 100, "a tiny model's costs lie well inside (-100, 100): " + meanCost);
            }
            double settled = round2.settledPpo().threshold();
            assertEquals(Math.min(d, meanCost), settled, 1e-4);
            assertEquals(settled, round2.threshold(), 1e-12, "the summary reads the settled threshold");
            assertEquals(meanCost, JsonFiles.read(round2.thresholdFile()).get("previous_policy_mean_cost").asDouble(), 1e-4);
            // settled once: a resumed round reads the file instead of scoring again
            JsonFiles.write(round2.thresholdFile(), java.util.Map.of("threshold", -7.0));
            assertEquals(-7.0, round2.settledPpo().threshold());
        }
    }
}
