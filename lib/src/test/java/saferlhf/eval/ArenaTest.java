package saferlhf.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The arena's bookkeeping on hand-made battles (generation and scoring are covered by the model tests). */
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
}
