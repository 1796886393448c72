package saferlhf.train;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import saferlhf.Offline;
import saferlhf.util.InputError;

/** MoCAN's dual, labels and soft-label loss against values worked out by hand. */
class MocanTest {
    @BeforeAll
    static void offline() { Offline.apply(); }

    // one prompt, two answers: a helpful unsafe one (r 1, c 1) and a safe one (r 0, c -1)
    private static final double[][] REWARDS = {{1, 0}}, COSTS = {{1, -1}};

    @Test
    void theTiltedCostReweighsEachPromptsAnswersBySoftmaxOfRMinusLambdaC() {
        // lambda 0, beta 1: weights softmax(1, 0) = (e, 1) / (e + 1), so E[c] = (e - 1) / (e + 1)
        assertEquals((Math.E - 1) / (Math.E + 1), Mocan.tiltedCost(REWARDS, COSTS, 0, 1), 1e-12);
        // lambda 0.5: logits (0.5, 0.5), equal weights, E[c] = 0; a larger lambda favours the safe answer
        assertEquals(0, Mocan.tiltedCost(REWARDS, COSTS, 0.5, 1), 1e-12);
        assertTrue(Mocan.tiltedCost(REWARDS, COSTS, 2, 1) < -0.9);
    }

    @Test
    void lambdaStarIsWhereTheTiltedCostMeetsTheLimitAndTheDualIsLowestThere() {
        Mocan.Dual dual = Mocan.solve(REWARDS, COSTS, 0, 1);
        assertEquals(0.5, dual.lambda(), 1e-8);
        assertEquals(0, dual.tiltedCost(), 1e-8);
        assertEquals(0, dual.referenceCost(), 1e-12, "the plain mean of the reference's answers' costs");
        // D(0.5) = log mean(e^0.5, e^0.5) = 0.5; D is higher on both sides; D' = d - E_lambda[c] (central difference)
        assertEquals(0.5, dual.value(), 1e-8);
        for (double other : new double[] {0, 0.3, 0.7, 2}) assertTrue(Mocan.dualValue(REWARDS, COSTS, other, 0, 1) > dual.value(), "" + other);
        double h = 1e-6, at = 0.2;
        double slope = (Mocan.dualValue(REWARDS, COSTS, at + h, 0, 1) - Mocan.dualValue(REWARDS, COSTS, at - h, 0, 1)) / (2 * h);
        assertEquals(0 - Mocan.tiltedCost(REWARDS, COSTS, at, 1), slope, 1e-6);
    }

    @Test
    void aLimitTheReferenceMeetsNeedsNoMultiplierAndOneNoAnswerMeetsIsRefused() {
        assertEquals(0, Mocan.solve(REWARDS, COSTS, 0.9, 1).lambda(), 0.0);
        InputError error = assertThrows(InputError.class, () -> Mocan.solve(REWARDS, COSTS, -1.5, 1));
        assertTrue(error.getMessage().contains("threshold"), error.getMessage());
    }

    @Test
    void aPairsLabelIsTheSigmoidOfItsMarginUnderRMinusLambdaC() {
        // w(better) = 1 - 0.5 * 1 = 0.5, w(worse) = 0 - 0.5 * -1 = 0.5: a coin flip; lambda 0: sigmoid(1)
        assertEquals(0.5f, Mocan.label(1, 1, 0, -1, 0.5), 1e-7f);
        assertEquals((float) (1 / (1 + Math.exp(-1))), Mocan.label(1, 1, 0, -1, 0), 1e-7f);
        assertTrue(Mocan.label(1, 1, 0, -1, 2) < 0.5f, "a large lambda prefers the safer, less helpful answer");
    }

    @Test
    void theSoftLabelLossWeighsBothOrdersByTheLabel() {
        try (NDManager m = NDManager.newBaseManager()) {
            // log ratios: better -2 and -1, worse -4 and -1.5 (as PreferenceLossesTest); z = 0.1 * (2, 0.5) = (0.2, 0.05)
            NDArray logProbs = m.create(new float[] {-1f, -1f, -0.5f, -0.5f, -2f, -2f, -1f, -0.5f}, new Shape(4, 2));
            NDArray zeros = m.zeros(new Shape(4, 2)), window = m.ones(new Shape(4, 2));
            float soft = PreferenceLosses.softDpo(logProbs, zeros, window, 0.1f, m.create(new float[] {0.75f, 0.5f})).loss().getFloat();
            double expected = (-(0.75 * logSigmoid(0.2) + 0.25 * logSigmoid(-0.2)) - (0.5 * logSigmoid(0.05) + 0.5 * logSigmoid(-0.05))) / 2;
            assertEquals(expected, soft, 1e-6);
            float hard = PreferenceLosses.softDpo(logProbs, zeros, window, 0.1f, m.create(new float[] {1f, 1f})).loss().getFloat();
            assertEquals(PreferenceLosses.dpo(logProbs, zeros, window, 0.1f).loss().getFloat(), hard, 1e-6f, "labels of 1: DPO");
        }
    }

    private static double logSigmoid(double z) { return -Math.log1p(Math.exp(-z)); }
}
