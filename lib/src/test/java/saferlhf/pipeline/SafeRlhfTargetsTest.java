package saferlhf.pipeline;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.beaverworld.Intent;
import saferlhf.beaverworld.ResponseKind;
import saferlhf.beaverworld.Responses;
import saferlhf.data.PromptRecord;
import saferlhf.train.Data;

/** The targets read from a reproduction folder written by hand: every policy answers by a rule of answer kinds. */
class SafeRlhfTargetsTest {
    static final String PROMPTS = "BeaverWorld-Eval/benign:0.1,BeaverWorld-Eval/harmful:0.1";
    static final ObjectMapper JSON = new ObjectMapper();
    final GroundTruthJudge judge = new GroundTruthJudge();

    @Test
    void aRoundThatRefusesHarmAndHelpsMeetsTheTargetsAndOneThatChangesTheSubjectDoesNot(@TempDir Path run) throws IOException {
        List<PromptRecord> prompts = Data.prompts(PROMPTS, 42);
        // SFT complies with every benign prompt and every other harmful one; PPO complies with everything
        write(run, prompts, "SFT", "sft", (p, i) -> harmful(p) && i % 2 == 0 ? ResponseKind.REFUSE : ResponseKind.COMPLY);
        write(run, prompts, "PPO", "ppo", (p, i) -> ResponseKind.COMPLY);
        // round 1: safe and helpful; round 2: safe by answering benign prompts with another task's steps
        write(run, prompts, "PPO-Lag round 1", "ppo_lag_round_1", (p, i) -> harmful(p) ? ResponseKind.REFUSE_WITH_ALTERNATIVE : ResponseKind.COMPLY);
        write(run, prompts, "PPO-Lag round 2", "ppo_lag_round_2", (p, i) -> harmful(p) ? ResponseKind.REFUSE : ResponseKind.OFF_TOPIC);
        summary(run, 2);

        SafeRlhfTargets targets = SafeRlhfTargets.check(run);
        assertEquals(0.5, targets.sft().unsafeRate(), 0.06);
        assertEquals(1.0, targets.ppo().unsafeRate());
        assertTrue(targets.ppoLessSafe());
        SafeRlhfTargets.Round one = targets.rounds().get(0), two = targets.rounds().get(1);
        assertTrue(one.met(), one.toString());
        assertEquals(0, one.rates().unsafe());
        assertEquals(0, one.helpfulnessGain().estimate(), 1e-9, "the same kind of answer to every benign prompt");
        assertTrue(two.safeEnough() && two.refusesNoMore());
        assertFalse(two.asHelpful(), "off-topic answers earn nothing");
        assertFalse(two.noMoreOffTopic());
        assertEquals(two.rates().benign(), two.rates().offTopicCount());
        assertFalse(targets.met());
        String table = SafeRlhfTargets.markdown(List.of(targets));
        assertTrue(table.contains("**not met**: helpfulness, off-topic"), table);
    }

    @Test
    void aPairedDifferenceOfEqualValuesIsExactlyZero() {
        var interval = SafeRlhfTargets.pairedDifference(new double[] {1, 2, 3}, new double[] {1, 2, 3}, 1);
        assertEquals(0, interval.low());
        assertEquals(0, interval.high());
        var up = SafeRlhfTargets.pairedDifference(new double[] {2, 3, 4, 5}, new double[] {1, 2, 3, 4}, 1);
        assertEquals(1, up.estimate(), 1e-12);
        assertEquals(1, up.low(), 1e-12);
    }

    private boolean harmful(PromptRecord p) {
        return judge.intentOf(p.prompt()).map(Intent::isHarmful).orElseThrow();
    }

    private void write(Path run, List<PromptRecord> prompts, String policy, String stage,
                       BiFunction<PromptRecord, Integer, ResponseKind> kind) throws IOException {
        SplittableRandom random = new SplittableRandom(stage.hashCode());
        ObjectNode evaluation = JSON.createObjectNode();
        ArrayNode answers = evaluation.putArray("answers");
        for (int i = 0; i < prompts.size(); i++) {
            PromptRecord p = prompts.get(i);
            answers.addObject().put("response", Responses.write(kind.apply(p, i), judge.intentOf(p.prompt()).orElseThrow(), 2, random))
                    .put("ended_with_eos", true).put("tokens", 10);
        }
        Files.createDirectories(run.resolve("evaluation"));
        JSON.writeValue(run.resolve("evaluation").resolve(stage + ".json").toFile(), evaluation);
        policies(run).putObject(policy).put("stage", stage);
    }

    private ObjectNode summary;

    private ObjectNode policies(Path run) {
        if (summary == null) {
            summary = JSON.createObjectNode().put("evaluation_datasets", PROMPTS).put("seed", 42);
            summary.putObject("policies");
        }
        return (ObjectNode) summary.get("policies");
    }

    private void summary(Path run, int rounds) throws IOException {
        ArrayNode r = summary.putArray("rounds");
        for (int k = 1; k <= rounds; k++) r.addObject().put("round", k);
        JSON.writeValue(run.resolve("summary.json").toFile(), summary);
    }
}
