package saferlhf.bench;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import saferlhf.KitPaths;
import saferlhf.Offline;
import saferlhf.cli.Main;

/** Smoke test of {@code saferlhf bench models --quick --no-torch}: fields present, numbers positive. No timing assertions. */
class ModelBenchmarksTest {
    static { Offline.apply(); }

    @Test
    void quickRunHasEveryFieldWithPositiveNumbers() throws Exception {
        ObjectNode r = ModelBenchmarks.run(ModelBenchmarks.Options.quickNoTorch(), new PrintStream(new ByteArrayOutputStream()));
        JsonNode train = r.get("train_step");
        assertTrue(train.get("params").asLong() > 0);
        JsonNode kit = train.get("kit");
        assertEquals(1, kit.get("runs").size());
        for (String f : new String[] {"ms_per_step", "tokens_per_second", "peak_rss_mb"}) assertTrue(kit.get(f).asDouble() > 0, f);
        assertEquals(2, kit.get("runs").get(0).get("step_ms").size());
        assertTrue(Double.isFinite(kit.get("runs").get(0).get("loss_last").asDouble()));
        assertFalse(train.get("torch").get("available").asBoolean());
        assertTrue(train.get("torch").get("install").asText().contains("python3-torch"));
        assertFalse(train.has("ratio_kit_over_torch"));
        JsonNode gen = r.get("generation");
        for (String f : new String[] {"ratio_cached_over_uncached", "peak_rss_mb"}) assertTrue(gen.get(f).asDouble() > 0, f);
        assertTrue(gen.get("cached").get("tokens_per_second").asDouble() > 0);
        assertTrue(gen.get("uncached").get("tokens_per_second").asDouble() > 0);
        assertTrue(gen.get("tokens_match").asBoolean(), "cached and uncached greedy decoding chose different tokens");
        assertTrue(gen.has("meets_target"));
        assertFalse(gen.get("torch").get("available").asBoolean());
        assertFalse(gen.has("ratio_kit_over_torch"));
        double mfu = kit.get("mfu").asDouble();
        assertTrue(mfu > 0 && kit.get("matmul_peak_gflops").asDouble() > 0, "MFU " + mfu);
        assertTrue(r.has("load_average_before") && r.has("load_average_after"));
        String table = ModelBenchmarks.table(r);
        assertTrue(table.contains("ratio cached/uncached"), table);
        assertTrue(table.contains("install it with: apt-get install -y python3-torch"), table);
    }

    @Test
    void commandLinePrintsOneJsonObject() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(out));
        int rc = cli.execute("bench", "models", "--quick", "--no-torch", "--no-fork", "--json", "--steps", "1", "--warmup", "0");
        assertEquals(0, rc);
        JsonNode r = new ObjectMapper().readTree(out.toString());
        assertEquals(1, r.get("train_step").get("kit").get("runs").get(0).get("step_ms").size());
        assertTrue(r.get("generation").get("cached").get("tokens_per_second").asDouble() > 0);
    }

    @Test
    void defaultShapeIsThePythonScriptsConfig() throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode file = json.readTree(Files.readString(KitPaths.projectRoot().resolve(ModelBenchmarks.SCRIPT.replace(".py", ".config.json"))));
        JsonNode ours = ModelBenchmarks.Shape10M.DEFAULT.torchConfig(file.get("warmup_steps").asInt(), file.get("steps").asInt());
        assertEquals(file, json.readTree(ours.toString())); // re-read: same numeric node types
        assertEquals(9_902_208L, ModelBenchmarks.Shape10M.DEFAULT.modelConfig().parameterCount());
    }
}
