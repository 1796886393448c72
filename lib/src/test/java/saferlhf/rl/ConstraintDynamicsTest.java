package saferlhf.rl;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConstraintDynamicsTest {
    private static List<Map<String, Double>> trace(double... episodeCosts) {
        List<Map<String, Double>> rows = new ArrayList<>();
        for (int i = 0; i < episodeCosts.length; i++) {
            rows.add(Map.of("step", i + 1.0, "train/episode_cost", episodeCosts[i]));
            rows.add(Map.of("step", i + 1.0, "eval/unsafe_rate_harmful", 0.5)); // rows without the cost are skipped
        }
        return rows;
    }

    @Test
    void overshootAndCrossingsCountOnlyAfterTheConstraintIsFirstMet() {
        // threshold -2: met at step 3 (-2.2); then errors -0.2, +0.2, -0.5, -0.1
        ConstraintDynamics d = ConstraintDynamics.of(trace(-1.0, -1.5, -2.2, -1.8, -2.5, -2.1), -2.0);
        assertTrue(d.met());
        assertEquals(6, d.steps());
        assertEquals(3, d.firstMetStep());
        assertEquals(0.2, d.peakOvershoot(), 1e-12);
        assertEquals(2, d.crossings());                       // up at step 4, down at step 5
        assertEquals((0.2 + 0.2 + 0.5 + 0.1) / 4, d.meanExcursion(), 1e-12);
        assertEquals(-2.1, d.finalEpisodeCost());

        ConstraintDynamics below = ConstraintDynamics.of(trace(-2.5, -2.4, -2.6), -2.0);
        assertEquals(1, below.firstMetStep());
        assertEquals(0.0, below.peakOvershoot());             // never rose above again
        assertEquals(0, below.crossings());
    }

    @Test
    void aConstraintNeverMetHasNoOvershootNumber() {
        ConstraintDynamics d = ConstraintDynamics.of(trace(-1.0, -1.5, -1.9), -2.0);
        assertFalse(d.met());
        assertEquals(-1, d.firstMetStep());
        assertTrue(Double.isNaN(d.peakOvershoot()) && Double.isNaN(d.meanExcursion()));
        assertEquals(-1.9, d.finalEpisodeCost());
        assertThrows(IllegalArgumentException.class, () -> ConstraintDynamics.of(List.of(Map.of("step", 1.0, "train/loss", 1.0)), 0));
    }
}
