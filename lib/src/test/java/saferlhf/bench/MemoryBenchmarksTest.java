package saferlhf.bench;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import saferlhf.Offline;

/** Smoke test of {@code saferlhf bench memory --quick --no-torch}: every part ran in its own JVM and reports a peak. No memory assertions. */
class MemoryBenchmarksTest {
    static { Offline.apply(); }

    @Test
    void quickRunMeasuresEveryPartInAFreshJvm() {
        MemoryBenchmarks.Options o = new MemoryBenchmarks.Options(MemoryBenchmarks.Sizes.QUICK, false, 1, Path.of("/usr/bin/python3"));
        ObjectNode r = MemoryBenchmarks.run(o, new PrintStream(new ByteArrayOutputStream()));
        for (String part : MemoryBenchmarks.PARTS) {
            JsonNode p = r.get("parts").get(part);
            JsonNode kit = p.get("kit");
            assertTrue(kit.get("fresh_jvm").asBoolean(), part);
            assertTrue(kit.get("peak_rss_mb").asDouble() >= kit.get("rss_mb_before_model").asDouble(), part);
            assertFalse(p.get("torch").get("available").asBoolean(), part);
            assertFalse(p.has("ratio_kit_over_torch"), part);
        }
        assertEquals(MemoryBenchmarks.Sizes.QUICK.promptLength() + MemoryBenchmarks.Sizes.QUICK.newTokens(),
                r.get("parts").get("generation").get("kit").get("length").asInt());
        String table = MemoryBenchmarks.table(r);
        assertTrue(table.contains("PyTorch not run: --no-torch"), table);
        assertTrue(r.get("parts").get("forward").get("plan_mb").asDouble() > 0);
    }
}
