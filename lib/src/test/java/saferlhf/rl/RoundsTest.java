package saferlhf.rl;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.train.ScoreModelConfig;

/** The rounds' plan: what each later round's reward and cost models continue on, and where each round starts. */
class RoundsTest {
    @Test
    void laterRoundsContinueOnEveryRoundsFreshPairsPlusAsManyReplayed(@TempDir Path dir) {
        List<Rounds.Plan> plans = Rounds.plan(PpoConfig.quick("ppo-lag"), ScoreModelConfig.quick("reward"), ScoreModelConfig.quick("cost"),
                Rounds.DEFAULT_ROUNDS, 10, dir.toString(), Rounds.LATER_ROUNDS_LAMBDA_UPDATE);
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
        assertEquals("sgd", Rounds.plan(PpoConfig.quick("ppo-lag"), ScoreModelConfig.quick("reward"), ScoreModelConfig.quick("cost"), 2, 10,
                dir.toString(), "sgd").get(1).ppo().lambdaUpdate());
        assertThrows(saferlhf.util.InputError.class, () -> Rounds.plan(PpoConfig.quick("ppo-lag"), ScoreModelConfig.quick("reward"),
                ScoreModelConfig.quick("cost"), 2, 10, dir.toString(), "pi"));
        assertEquals(128, Rounds.defaultPairsPerRound("quick"));
        assertEquals(1000, Rounds.defaultPairsPerRound("full"));
    }
}
