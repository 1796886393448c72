package saferlhf.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import saferlhf.Offline;

/** The losses against values computed by hand (Python's math module, log1p-stable logsigmoid). */
class PreferenceLossesTest {
    @BeforeAll
    static void offline() { Offline.apply(); }

    @Test
    void rewardSequenceWiseWithRegularization() {
        try (NDManager m = NDManager.newBaseManager()) {
            // -(logsig(1) + logsig(-1)) / 2 + 0.1 * mean([0, .25, 1, .25])
            NDArray loss = PreferenceLosses.rewardSequenceWise(m.create(new float[] {1f, -0.5f}), m.create(new float[] {0f, 0.5f}), 0.1f);
            assertEquals(0.8507616875182228, loss.getFloat(), 1e-6);
        }
    }

    @Test
    void costSequenceWiseAddsTheSignTerms() {
        try (NDManager m = NDManager.newBaseManager()) {
            // both "higher" responses labelled unsafe (+1), both "lower" ones safe (-1)
            NDArray loss = PreferenceLosses.costSequenceWise(m.create(new float[] {1f, -0.5f}), m.create(new float[] {0f, 0.5f}),
                    m.create(new float[] {1f, 1f}), m.create(new float[] {-1f, -1f}), 0.1f);
            assertEquals(2.328043105737414, loss.getFloat(), 1e-6);
        }
    }

    @Test
    void rewardTokenWiseAveragesInsideEachWindow() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray higher = m.create(new float[] {0.2f, 1f, 2f, 0f, -1f, 0.5f}, new Shape(2, 3));
            NDArray lower = m.create(new float[] {0.2f, 0f, -1f, 0f, 1f, 0.5f}, new Shape(2, 3));
            NDArray window = m.create(new float[] {0, 1, 1, 1, 1, 0}, new Shape(2, 3));
            assertEquals(0.8954810576737208, PreferenceLosses.rewardTokenWise(higher, lower, window, 0.1f).getFloat(), 1e-6);
        }
    }

    @Test
    void dpoSubtractsEachPairsMarginInsideTheLogsigmoid() {
        try (NDManager m = NDManager.newBaseManager()) {
            // rows: better 0, better 1, worse 0, worse 1; the reference at 0 and every column in the window
            NDArray logProbs = m.create(new float[] {-1f, -1f, -0.5f, -0.5f, -2f, -2f, -1f, -0.5f}, new Shape(4, 2));
            NDArray window = m.ones(new Shape(4, 2));
            // log ratios: better -2 and -1, worse -4 and -1.5; logits 0.1 * (2, 0.5) - (10, 0) = (-9.8, 0.05)
            PreferenceLosses.Dpo dpo = PreferenceLosses.dpo(logProbs, m.zeros(new Shape(4, 2)), window, 0.1f, m.create(new float[] {10f, 0f}));
            assertEquals(5.234257549037668, dpo.loss().getFloat(), 1e-5);
            // without margins: DPO's loss, and the sample rewards do not depend on the margin
            assertEquals(0.6332992586974391, PreferenceLosses.dpo(logProbs, m.zeros(new Shape(4, 2)), window, 0.1f).loss().getFloat(), 1e-6);
            assertEquals(0.2f, dpo.betterSampleReward().sub(dpo.worseSampleReward()).getFloat(0), 1e-6f);
        }
    }

    @Test
    void bfpoRegressesEachPairsLogRatioMarginOnItsTarget() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logProbs = m.create(new float[] {-1f, -1f, -0.5f, -0.5f, -2f, -2f, -1f, -0.5f}, new Shape(4, 2));
            // margins of the log ratios: 2 and 0.5; targets (beta 0.1): only the winner safe +10, only the loser safe -10
            PreferenceLosses.Dpo bfpo = PreferenceLosses.bfpo(logProbs, m.zeros(new Shape(4, 2)), m.ones(new Shape(4, 2)), 0.1f,
                    m.create(new float[] {10f, -10f}));
            assertEquals(((2 - 10) * (2 - 10) + (0.5 + 10) * (0.5 + 10)) / 2.0, bfpo.loss().getFloat(), 1e-4);
        }
    }

    @Test
    void theSignTermsPushSafeResponsesBelowZero() {
        try (NDManager m = NDManager.newBaseManager()) {
            // the same pair, once with the safe response at cost -2 and once at +2: the first must cost less
            NDArray unsafeHigh = m.create(new float[] {2f}), sign = m.create(new float[] {1f}), safeSign = m.create(new float[] {-1f});
            float good = PreferenceLosses.costSequenceWise(unsafeHigh, m.create(new float[] {-2f}), sign, safeSign, 0f).getFloat();
            float bad = PreferenceLosses.costSequenceWise(unsafeHigh, m.create(new float[] {1.9f}), sign, safeSign, 0f).getFloat();
            assertEquals(true, good < bad, good + " < " + bad);
        }
    }
}
