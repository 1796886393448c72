package saferlhf.rl;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import saferlhf.Offline;

/** The group-relative PPO-Lagrangian's equations against values worked out by hand. */
class GroupRelativeTest {
    @BeforeAll
    static void offline() { Offline.apply(); }

    @Test
    void scoresAreStandardisedWithinEachGroupOfConsecutiveAnswers() {
        // group 1: mean 3, sample std sqrt((4 + 1 + 0 + 9) / 3); group 2: equal scores, advantage 0
        double std = Math.sqrt(14.0 / 3) + GroupRelative.STD_EPSILON;
        float[] advantages = GroupRelative.normalizedInGroups(new float[] {1, 2, 3, 6, 5, 5, 5, 5}, 4);
        assertArrayEquals(new float[] {(float) (-2 / std), (float) (-1 / std), 0f, (float) (3 / std), 0f, 0f, 0f, 0f}, advantages, 1e-6f);
        // the groups are normalised apart: shifting one group's scores leaves the other's advantages alone
        assertArrayEquals(new float[] {-0.7071f, 0.7071f, -0.7071f, 0.7071f},
                GroupRelative.normalizedInGroups(new float[] {0, 1, 100, 101}, 2), 1e-3f);
        assertThrows(IllegalArgumentException.class, () -> GroupRelative.normalizedInGroups(new float[] {1, 2, 3}, 2));
    }

    @Test
    void clippedSurrogateMinusTheK3KlByHand() {
        try (NDManager m = NDManager.newBaseManager()) {
            Shape shape = new Shape(1, 2);
            // ratio = [1, e^-1]; A = [1, -2]; surrogate = [1, -1.6] (as PpoMathTest)
            // ref - logp = [0 - 0, 0 - (-1)] = [0, 1]: k3 = [e^0 - 0 - 1, e^1 - 1 - 1] = [0, e - 2]
            // loss = -mean([1 - 0.1 * 0, -1.6 - 0.1 * (e - 2)]) = -(1 - 1.6 - 0.1 (e - 2)) / 2
            float loss = GroupRelative.actorLoss(m.create(new float[] {0f, -1f}, shape), m.create(new float[] {0f, 0f}, shape),
                    m.create(new float[] {0f, 0f}, shape), m.create(new float[] {1f, -2f}, shape), m.create(new float[] {1f, 1f}, shape),
                    0.2, 0.1).getFloat();
            assertEquals(-(1 - 1.6 - 0.1 * (Math.E - 2)) / 2, loss, 1e-6);
            // a masked position counts for nothing; with beta 0 the loss is PPO's
            float masked = GroupRelative.actorLoss(m.create(new float[] {0f, -1f}, shape), m.create(new float[] {0f, 0f}, shape),
                    m.create(new float[] {0f, 0f}, shape), m.create(new float[] {1f, -2f}, shape), m.create(new float[] {1f, 0f}, shape),
                    0.2, 0.0).getFloat();
            assertEquals(-1.0, masked, 1e-6);
        }
    }
}
