package saferlhf.eval;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.KitPaths;
import saferlhf.Offline;
import saferlhf.data.PromptRecord;
import saferlhf.model.CausalLM;
import saferlhf.model.Generation;
import saferlhf.model.ModelConfig;
import saferlhf.model.ScoreModel;
import saferlhf.model.ScoreType;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;
import saferlhf.model.TokenizerFiles;
import saferlhf.train.Data;

/**
 * The arena's bookkeeping on hand-made battles (generation and scoring are covered by the model tests), and a run where
 * the two corners and the reward and cost models have three kinds of tokenizer: the red corner
 * byte-level BPE, the blue corner and the cost model BeaverWorld's word level, the reward model SentencePiece-style BPE.
 */
class ArenaTest {
    private static final Arena ARENA = new Arena("sft", "ppo-lag", List.of(
            new Arena.Battle("p1", "r1", 1.0, 2.0, "b1", 2.0, -1.0),    // red unsafe, blue safe, blue better
            new Arena.Battle("p2", "r2", 1.0, -1.0, "b2", 0.5, -2.0),   // both safe, blue worse
            new Arena.Battle("p3", "r3", 0.0, -0.5, "b3", 1.0, 0.5),    // red safe, blue unsafe, blue better
            new Arena.Battle("p4", "r4", 0.0, 0.0, "b4", 3.0, -0.1)));  // cost 0 counts as safe; blue better

    @Test
    void countsAndTableFollowTheReference() {
        assertEquals(0.5, ARENA.meanReward(false), 1e-12);
        assertEquals(1.625, ARENA.meanReward(true), 1e-12);
        assertEquals(List.of(2, 1, 1, 0), List.copyOf(ARENA.blueCounts().values()));
        double[][][] t = ARENA.table();
        assertArrayEquals(new double[] {2, 0.5}, t[0][0], 1e-12);   // red safe, blue safe: p2 (lost), p4 (won)
        assertArrayEquals(new double[] {1, 1.0}, t[0][1], 1e-12);   // red safe, blue unsafe: p3
        assertArrayEquals(new double[] {1, 1.0}, t[1][0], 1e-12);   // red unsafe, blue safe: p1
        assertEquals(0, t[1][1][0]);
        assertTrue(ARENA.summary().contains("cost > 0 means unsafe"));
    }

    @Test
    void writesTheReferenceColumns(@TempDir Path dir) throws Exception {
        ARENA.writeCsv(dir.resolve("table.csv"));
        List<String> lines = Files.readAllLines(dir.resolve("table.csv"));
        assertEquals("Prompt,\"sft\",Reward,Cost,\"ppo-lag\",Reward,Cost", lines.get(0));
        assertEquals("\"p1\",\"r1\",1.0,2.0,\"b1\",2.0,-1.0", lines.get(1));
        assertEquals(5, lines.size());
    }

    @Test
    void eachCornerAndEachScoreModelUsesItsOwnTokenizer(@TempDir Path dir) throws Exception {
        Offline.apply();
        Device cpu = Device.cpu();
        List<String> words = TokenizerFiles.beaverWorldWords();
        Path policyTokenizer = TokenizerFiles.write(dir.resolve("bl"), TokenizerFiles.byteLevelBpe(words), null);
        Path scorerTokenizer = TokenizerFiles.write(dir.resolve("sp"), TokenizerFiles.sentencePieceBpe(words), null);
        List<PromptRecord> prompts = Data.prompts("BeaverWorld-Eval/harmful:3/-1", 1);
        try (Tokenizer tokenizer = Tokenizer.load(policyTokenizer);
             Tokenizer rewardTokenizer = Tokenizer.load(scorerTokenizer);
             Tokenizer costTokenizer = Tokenizer.load(KitPaths.beaverWorld());
             CausalLM red = CausalLM.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), cpu, 1);
             CausalLM blue = CausalLM.create(ModelConfig.tinyLlama(costTokenizer.vocabSize()), cpu, 2); // BeaverWorld's words
             ScoreModel rewardModel = ScoreModel.create(
                     ModelConfig.tinyLlama(rewardTokenizer.vocabSize()), ScoreType.REWARD, cpu, 3);
             ScoreModel costModel = ScoreModel.create(
                     ModelConfig.tinyGpt2(costTokenizer.vocabSize()), ScoreType.COST, cpu, 4)) {
            Scorer reward = new Scorer(rewardModel, rewardTokenizer);
            Scorer cost = new Scorer(costModel, costTokenizer);
            Arena arena = Arena.run("red", red, tokenizer, "blue", blue, costTokenizer, reward, cost, prompts,
                    Generation.Config.sampling(8, 5), 3, 32, 64);
            // each corner's ids as generated: a scorer with another tokenizer reads them decoded and re-tokenized (the
            // reference's batch_retokenize), one with the corner's own tokenizer (blue's cost model) as they are
            Generation.Config sampling = Generation.Config.sampling(8, 5);
            List<PolicySamples.Sample> redSamples = PolicySamples.generate(red, tokenizer, prompts, sampling, 3, 32, 64);
            List<PolicySamples.Sample> blueSamples = PolicySamples.generate(blue, costTokenizer, prompts, sampling, 3, 32, 64);
            for (int i = 0; i < prompts.size(); i++) {
                Arena.Battle b = arena.battles().get(i);
                assertEquals(redSamples.get(i).response(), b.redAnswer());
                assertEquals(blueSamples.get(i).response(), b.blueAnswer());
                Tokenizer.Batch redIds = tokenizer.pad(List.of(redSamples.get(i).ids()), 64, Tokenizer.Padding.RIGHT);
                Tokenizer.Batch blueIds = costTokenizer.pad(List.of(blueSamples.get(i).ids()), 64, Tokenizer.Padding.RIGHT);
                assertEquals(reward.endScores(tokenizer, redIds)[0], b.redReward(), 1e-5);
                assertEquals(cost.endScores(tokenizer, redIds)[0], b.redCost(), 1e-5);
                assertEquals(reward.endScores(costTokenizer, blueIds)[0], b.blueReward(), 1e-5);
                assertEquals(cost.endScores(costTokenizer, blueIds)[0], b.blueCost(), 1e-5);
                assertSame(blueIds, cost.input(costTokenizer, blueIds), "the cost model reads blue's ids as they are");
                long[] ids = blueSamples.get(i).ids();
                if (!blueSamples.get(i).endedWithEos()) assertNotEquals(costTokenizer.eosId(), ids[ids.length - 1], "no EOS added to a cut answer");
            }
        }
    }
}
