package saferlhf.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ScoreModelTest {
    static { ModelTesting.class.getName(); }

    @Test
    void endScoresAreAtTheLastNonPadPosition() {
        try (CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(599), Device.cpu(), 5);
             ScoreModel rm = ScoreModel.fromCausalLM(lm, ScoreType.REWARD, 1);
             NDManager m = rm.manager().newSubManager()) {
            assertEquals(0f, rm.namedParameters().get("score_head.bias").getFloat(0));
            assertEquals(0f, ModelTesting.maxAbsDiff(lm.namedParameters().get("model.norm.weight").toFloatArray(),
                    rm.namedParameters().get("model.norm.weight").toFloatArray()));
            assertFalse(rm.namedParameters().containsKey("lm_head.weight"));
            Tokenizer.Batch batch = Tokenizer.pad(List.of(new long[] {1, 10, 11, 12, 13, 2}, new long[] {1, 20, 21, 2}, new long[] {1, 30}),
                    96, Tokenizer.Padding.RIGHT, 0);
            ScoreModel.Scores s = rm.scores(batch.ids(m), batch.mask(m), false);
            assertEquals(new Shape(3, 6), s.scores().getShape());
            assertEquals(new Shape(3), s.endScores().getShape());
            assertArrayEquals(new long[] {5, 3, 1}, s.endIndex().toLongArray());
            float[] per = s.scores().toFloatArray();
            float[] end = s.endScores().toFloatArray();
            assertEquals(per[5], end[0]);
            assertEquals(per[6 + 3], end[1]);
            assertEquals(per[12 + 1], end[2]);
            assertNotEquals(per[6 + 5], end[1], "end score taken at the last column instead of the last real token");
        }
    }

    @Test
    void normalizersFollowTheReference() {
        float[] batch = {1f, 3f, 5f, 7f}; // mean 4, unbiased var 20/3
        Normalizer ema = Normalizer.ema(ScoreType.REWARD);
        ema.update(batch);
        assertEquals(0.1 * 4, ema.mean(), 1e-9);
        assertEquals(0.9 * 1 + 0.1 * 20.0 / 3, ema.var(), 1e-9);
        assertEquals(4, ema.count());
        Normalizer rms = new Normalizer(Normalizer.Type.RUNNING_MEAN_STD, ScoreType.REWARD, 0.9);
        rms.update(new float[] {1f, 3f});
        rms.update(new float[] {5f, 7f});
        assertEquals(4.0, rms.mean(), 1e-9); // merged mean of both batches
        // parallel merge of unbiased per-batch variances: (2*2 + 2*2 + 4*4*(2*2/4)) / 4 = 6
        assertEquals(6.0, rms.var(), 1e-9);
        rms.setStatistics(2.0, 4.0, 10);
        assertEquals((6.0 - 2.0) / (2.0 + 1e-8), rms.normalize(6.0), 1e-9);           // affine for reward
        Normalizer cost = new Normalizer(Normalizer.Type.RUNNING_MEAN_STD, ScoreType.COST, 0.9);
        cost.setStatistics(5.0, 4.0, 10);                                               // a large positive mean
        assertTrue(cost.normalize(-1.0) < 0, "cost normalization must keep the sign (safe stays <= 0)");
        assertTrue(cost.normalize(1.0) > 0, "cost normalization must keep the sign (unsafe stays > 0)");
        assertEquals(1.0 / 2.0, cost.normalize(1.0), 1e-6);
        Normalizer critic = new Normalizer(Normalizer.Type.IDENTITY, ScoreType.CRITIC, 0.9);
        critic.update(batch);
        assertEquals(0, critic.count());
        assertEquals(3.5, critic.normalize(3.5));
    }

    @Test
    void normalizedScoresOnArraysMatchScalarFunction() {
        try (ScoreModel cm = ScoreModel.create(ModelConfig.tinyGpt2(599), ScoreType.COST, Device.cpu(), 3);
             NDManager m = cm.manager().newSubManager()) {
            cm.normalizer().setStatistics(3.0, 9.0, 100);
            Tokenizer.Batch batch = Tokenizer.pad(List.of(new long[] {1, 10, 11, 2}, new long[] {1, 20}), 96, Tokenizer.Padding.RIGHT, 0);
            float[] raw = cm.scores(batch.ids(m), batch.mask(m), false).endScores().toFloatArray();
            cm.setNormalize(true);
            float[] norm = cm.scores(batch.ids(m), batch.mask(m), false).endScores().toFloatArray();
            for (int i = 0; i < raw.length; i++) assertEquals(raw[i] / 3.0, norm[i], 1e-5);
            assertEquals(100, cm.normalizer().count());
            cm.scores(batch.ids(m), batch.mask(m), true); // training mode: statistics update (before normalizing, as the reference)
            assertEquals(102, cm.normalizer().count());
            assertNotEquals(3.0, cm.normalizer().mean());
            try (ScoreModel critic = cm.copyAs(ScoreType.CRITIC)) {
                assertEquals(Normalizer.Type.IDENTITY, critic.normalizer().type());
                assertEquals(0f, ModelTesting.maxAbsDiff(cm.namedParameters().get("score_head.weight").toFloatArray(),
                        critic.namedParameters().get("score_head.weight").toFloatArray()));
            }
        }
    }
}
