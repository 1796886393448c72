package saferlhf.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class BootstrapTest {
    private static double[] rate(int ones, int n) {
        double[] v = new double[n];
        for (int i = 0; i < ones; i++) v[i] = 1;
        return v;
    }

    @Test
    void theEstimateIsTheMeanOfTheSeedsMeansAndTheIntervalHoldsIt() {
        Bootstrap.Interval i = Bootstrap.meanOfSeeds(List.of(rate(20, 100), rate(40, 200)), 0.95, 2000, 1);
        assertEquals(0.2, i.estimate(), 1e-12, "each seed weighs the same, whatever its prompts");
        assertTrue(i.low() < 0.2 && 0.2 < i.high(), i.toString());
        assertEquals(i, Bootstrap.meanOfSeeds(List.of(rate(20, 100), rate(40, 200)), 0.95, 2000, 1), "deterministic per seed");
    }

    @Test
    void oneSeedResamplesPromptsOnlyAndMorePromptsNarrowTheInterval() {
        Bootstrap.Interval few = Bootstrap.meanOfSeeds(List.of(rate(30, 100)), 0.95, 2000, 2);
        Bootstrap.Interval many = Bootstrap.meanOfSeeds(List.of(rate(300, 1000)), 0.95, 2000, 2);
        // the binomial standard error: 0.046 at 100 prompts, 0.0145 at 1000; a 95% interval is about 4 of them wide
        assertEquals(4 * 0.0458, few.high() - few.low(), 0.04, few.toString());
        assertEquals(4 * 0.0145, many.high() - many.low(), 0.015, many.toString());
        Bootstrap.Interval constant = Bootstrap.meanOfSeeds(List.of(rate(50, 50)), 0.95, 500, 2);
        assertEquals(1.0, constant.low(), 0.0);
        assertEquals(1.0, constant.high(), 0.0);
    }

    @Test
    void seedsThatDisagreeWidenTheInterval() {
        Bootstrap.Interval agree = Bootstrap.meanOfSeeds(List.of(rate(30, 200), rate(30, 200), rate(30, 200)), 0.95, 2000, 3);
        Bootstrap.Interval disagree = Bootstrap.meanOfSeeds(List.of(rate(10, 200), rate(30, 200), rate(50, 200)), 0.95, 2000, 3);
        assertEquals(agree.estimate(), disagree.estimate(), 1e-12);
        assertTrue(disagree.high() - disagree.low() > 1.5 * (agree.high() - agree.low()), agree + " vs " + disagree);
        assertThrows(IllegalArgumentException.class, () -> Bootstrap.meanOfSeeds(List.of(), 0.95, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> Bootstrap.meanOfSeeds(List.of(new double[0]), 0.95, 10, 1));
    }
}
