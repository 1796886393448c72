package saferlhf.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EloTest {
    @Test
    void oneBattleByHand() {
        // equal ratings: expected 0.5, the winner gains K/2 = 16, the loser loses 16
        Map<String, Double> r = Elo.sequential(List.of(new Elo.Battle("red", "blue", 1.0)));
        assertEquals(1016.0, r.get("red"), 1e-9);
        assertEquals(984.0, r.get("blue"), 1e-9);
        // a second win against the weaker player earns less: E = 1 / (1 + 10^(-32/400)) = 0.5460
        Map<String, Double> r2 = Elo.sequential(List.of(new Elo.Battle("red", "blue", 1.0), new Elo.Battle("red", "blue", 1.0)));
        assertEquals(1016.0 + 32 * (1 - 1 / (1 + Math.pow(10, -32 / 400.0))), r2.get("red"), 1e-9);
    }

    @Test
    void theBetterPlayerRanksFirstAndRatingsAreZeroSum() {
        List<Elo.Battle> battles = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            battles.add(new Elo.Battle("strong", "weak", i % 5 == 0 ? 0.0 : 1.0));   // strong wins 80%
            battles.add(new Elo.Battle("weak", "middle", i % 2 == 0 ? 0.5 : 0.0));
        }
        Map<String, Double> r = Elo.ratings(battles, 20, 7);
        assertTrue(r.get("strong") > r.get("middle") && r.get("middle") > r.get("weak"), r.toString());
        assertEquals(3 * Elo.INITIAL, r.values().stream().mapToDouble(Double::doubleValue).sum(), 1e-6);
        assertEquals(r, Elo.ratings(battles, 20, 7), "seeded");
    }
}
