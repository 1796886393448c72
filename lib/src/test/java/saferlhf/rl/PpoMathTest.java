package saferlhf.rl;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import saferlhf.Offline;

/** The PPO and PPO-Lagrangian equations against values worked out by hand. */
class PpoMathTest {
    @BeforeAll
    static void offline() { Offline.apply(); }

    @Test
    void klIsFoldedIntoEveryTokenAndTheScoreAddedAtTheEnd() {
        float[] logProbs = {-1f, -2f, -0.5f, -3f}, refLogProbs = {-1.5f, -2f, -1f, -3f}, mask = {0, 1, 1, 0};
        // kl = logp - ref = [0.5, 0, 0.5, 0]; penalty = -0.1 * kl; end index = 2 (last true mask position)
        assertArrayEquals(new float[] {-0.05f, 0f, 1.95f, 0f},
                PpoMath.klRegularizedScores(2.0, logProbs, refLogProbs, mask, 0.1, 50, false), 1e-6f);
        // costs carry +kl_coeff * kl
        assertArrayEquals(new float[] {0.05f, 0f, -0.95f, 0f},
                PpoMath.klRegularizedScores(-1.0, logProbs, refLogProbs, mask, 0.1, 50, true), 1e-6f);
        // clip_range_score clamps
        assertArrayEquals(new float[] {-0.05f, 0f, 1.5f, 0f},
                PpoMath.klRegularizedScores(2.0, logProbs, refLogProbs, mask, 0.1, 1.5, false), 1e-6f);
    }

    @Test
    void gaeByHand() {
        // V*mask = [0, 1, 2, 0], r*mask = [0, 0, 1, 0], gamma 1, lambda 0.95, start 1:
        // t=3: delta 0, A=0; t=2: delta = 1 + 0 - 2 = -1, A=-1; t=1: delta = 0 + 2 - 1 = 1, A = 1 + 0.95 * -1 = 0.05
        PpoMath.Gae gae = PpoMath.gae(new float[] {0.5f, 1f, 2f, 0f}, new float[] {0f, 0f, 1f, 0f}, new float[] {0, 1, 1, 0}, 1);
        assertArrayEquals(new float[] {0.05f, -1f, 0f}, gae.advantages(), 1e-6f);
        assertArrayEquals(new float[] {1.05f, 1f, 0f}, gae.returns(), 1e-6f);
    }

    @Test
    void lambdaRisesAboveTheThresholdFallsBelowAndIsCapped() {
        assertEquals(0.1, PpoMath.lagrangeMultiplierStep(0.0, 1.0, 0.0, 0.1, 0), 1e-12);   // log l += 0.1 * 1 * (1 - 0)
        assertEquals(-0.1, PpoMath.lagrangeMultiplierStep(0.0, -1.0, 0.0, 0.1, 0), 1e-12);
        assertEquals(Math.log(2) + 0.1 * 2 * 0.5, PpoMath.lagrangeMultiplierStep(Math.log(2), 0.0, -0.5, 0.1, 0), 1e-12);
        assertEquals(Math.log(1.05), PpoMath.lagrangeMultiplierStep(0.0, 1.0, 0.0, 0.1, 1.05), 1e-12);
    }

    @Test
    void theRectifiedCostIsTheViolationOfTheLimitAndZeroWithinIt() {
        assertEquals(0.5, PpoMath.rectifiedCost(-1.5, -2.0), 1e-12);
        assertEquals(0.0, PpoMath.rectifiedCost(-2.5, -2.0), 0.0);
        assertEquals(0.0, PpoMath.rectifiedCost(-2.0, -2.0), 0.0);
    }

    @Test
    void combinedAdvantageWeighsCostByLambda() {
        assertEquals(0f, PpoMath.combinedAdvantage(1f, 0.5f, 2.0), 1e-7f);   // (1 - 2 * 0.5) / 3
        assertEquals(1f, PpoMath.combinedAdvantage(1f, -1f, 1.0), 1e-7f);    // (1 + 1) / 2
    }

    @Test
    void clippedSurrogateAndValueLossByHand() {
        try (NDManager m = NDManager.newBaseManager()) {
            Shape shape = new Shape(1, 2);
            // ratio = [1, e^-1]; A = [1, -2]; min(A r, A clip(r, .8, 1.2)) = [1, -1.6]; loss = -mean = 0.3
            float actor = PpoMath.actorLoss(m.create(new float[] {0f, -1f}, shape), m.create(new float[] {0f, 0f}, shape),
                    m.create(new float[] {1f, -2f}, shape), m.create(new float[] {1f, 1f}, shape), 0.2).getFloat();
            assertEquals(0.3, actor, 1e-6);
            // V = [1, 3], old = [0, 0] -> clipped [1, 2]; R = [.5, 1]: max((V-R)^2, (Vc-R)^2) = [.25, 4]; 0.5 * mean = 1.0625
            float critic = PpoMath.criticLoss(m.create(new float[] {1f, 3f}, shape), m.create(new float[] {0f, 0f}, shape),
                    m.create(new float[] {0.5f, 1f}, shape), m.create(new float[] {1f, 1f}, shape), 2.0).getFloat();
            assertEquals(1.0625, critic, 1e-6);
            // the masked mean averages within each sample first: a masked-out position changes nothing
            float masked = PpoMath.criticLoss(m.create(new float[] {1f, 3f}, shape), m.create(new float[] {0f, 0f}, shape),
                    m.create(new float[] {0.5f, 1f}, shape), m.create(new float[] {1f, 0f}, shape), 2.0).getFloat();
            assertEquals(0.125, masked, 1e-6);
        }
    }
}
