package saferlhf.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.Device;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import saferlhf.KitPaths;
import saferlhf.Offline;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.beaverworld.ResponseKind;
import saferlhf.beaverworld.Responses;
import saferlhf.data.PromptRecord;
import saferlhf.data.SftRecord;
import saferlhf.model.ModelConfig;
import saferlhf.model.ScoreModel;
import saferlhf.model.ScoreType;
import saferlhf.model.Tokenizer;
import saferlhf.train.Data;

class PreferenceScoresTest {
    @Test
    void meanByKindScoresOneWrittenResponseOfEachKindPerPrompt() throws Exception {
        Offline.apply();
        GroundTruthJudge judge = new GroundTruthJudge();
        List<PromptRecord> prompts = Data.prompts("BeaverWorld-Eval/harmful", 42).subList(0, 5);
        try (Tokenizer tokenizer = Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
             ScoreModel cost = ScoreModel.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), ScoreType.COST, Device.cpu(), 3)) {
            Map<ResponseKind, Double> means = PreferenceScores.meanByKind(cost, tokenizer, prompts, judge, 7);
            assertEquals(ResponseKind.values().length, means.size());
            for (ResponseKind kind : List.of(ResponseKind.COMPLY, ResponseKind.REFUSE)) {
                // the same responses, written with the same seed and scored directly
                SplittableRandom random = new SplittableRandom(7);
                List<SftRecord> written = new ArrayList<>();
                for (PromptRecord p : prompts) {
                    written.add(new SftRecord(p.prompt(), Responses.write(kind, judge.intentOf(p.prompt()).orElseThrow(), 3, random)));
                }
                assertEquals(PreferenceScores.mean(PreferenceScores.endScores(cost, tokenizer, written, 2, 96)), means.get(kind), 1e-5);
            }
            assertNotEquals(means.get(ResponseKind.COMPLY), means.get(ResponseKind.REFUSE), "different texts, different scores");
            List<PromptRecord> foreign = List.of(new PromptRecord("what is the capital of france ?"));
            assertThrows(IllegalArgumentException.class, () -> PreferenceScores.meanByKind(cost, tokenizer, foreign, judge, 7));
        }
    }
}
