package saferlhf.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import saferlhf.data.PreferencePair;

/** SafeDPO's transformation T and BFPO's targets in the four safety cases, and the configs of the DPO-shaped methods. */
class SafeDpoTest {
    /** A pair with only what T reads: each response's safety and the more helpful one. */
    record Labels(boolean isResponse0Safe, boolean isResponse1Safe, int betterResponseId) implements PreferencePair {
        public String prompt() { return "p"; }
        public String response0() { return "a"; }
        public String response1() { return "b"; }
        public int saferResponseId() { return isResponse0Safe ? 0 : 1; }
    }

    @Test
    void theSafeResponseWinsAndTheMarginAppliesWhereTheLoserIsUnsafe() {
        // both safe: DPO's order, no margin
        assertEquals(Optional.of(new SafeDpo.Ordered(1, 0.0)), SafeDpo.order(new Labels(true, true, 1), 10));
        // the more helpful one safe, the other unsafe: kept, margin Delta
        assertEquals(Optional.of(new SafeDpo.Ordered(0, 10.0)), SafeDpo.order(new Labels(true, false, 0), 10));
        // the more helpful one unsafe, the other safe: swapped, margin Delta (the loser is now the unsafe one)
        assertEquals(Optional.of(new SafeDpo.Ordered(0, 10.0)), SafeDpo.order(new Labels(true, false, 1), 10));
        assertEquals(Optional.of(new SafeDpo.Ordered(1, 2.5)), SafeDpo.order(new Labels(false, true, 0), 2.5));
        // both unsafe: dropped
        assertTrue(SafeDpo.order(new Labels(false, false, 0), 10).isEmpty());
    }

    @Test
    void bfposTargetsFollowTheGlobalRanking() {
        // (1/beta) (B1 B3 s_w - B3 s_l - alpha) with B1 3, B3 0.5, alpha 0.5, beta 0.1; y_w the more helpful one
        assertEquals(10.0, Bfpo.target(new Labels(true, false, 0), 0.1), 1e-12);   // only the winner safe
        assertEquals(5.0, Bfpo.target(new Labels(true, true, 1), 0.1), 1e-12);     // both safe
        assertEquals(-5.0, Bfpo.target(new Labels(false, false, 0), 0.1), 1e-12);  // both unsafe
        assertEquals(-10.0, Bfpo.target(new Labels(true, false, 1), 0.1), 1e-12);  // only the loser safe
    }

    @Test
    void thePresetsOfTheDpoShapedMethods() {
        DpoConfig safe = DpoConfig.preset("quick", "safe-dpo");
        assertEquals("safe-dpo", safe.algorithm());
        assertEquals("checkpoints/quick/safe-dpo", safe.outputDir());
        assertEquals(SafeDpo.DEFAULT_MARGIN, safe.safetyMargin());
        assertEquals(DpoConfig.quick().modelNameOrPath(), safe.modelNameOrPath(), "SafeDPO starts from the SFT model");

        DpoConfig sacpo = DpoConfig.preset("full", "sacpo");
        assertEquals("checkpoints/dpo/model", sacpo.modelNameOrPath(), "SACPO's safety step starts from the helpfulness DPO policy");
        assertEquals("safety", sacpo.preference());
        assertEquals(0.05, sacpo.scaleCoeff());
        assertEquals("checkpoints/sacpo", sacpo.outputDir());

        for (List<String> bad : List.of(List.of("algorithm=safe-dpo", "preference=safety"), List.of("algorithm=kto"),
                List.of("safety_margin=-1"), List.of("preference=harmlessness"))) {
            Configs.ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(Configs.ConfigException.class,
                    () -> Configs.override(DpoConfig.quick(), bad));
            assertTrue(e.getMessage().contains(bad.get(bad.size() - 1).split("=")[0].replace("algorithm", "algorithm")),
                    bad + ": " + e.getMessage());
        }
    }
}
