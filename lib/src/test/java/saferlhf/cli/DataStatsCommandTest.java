package saferlhf.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import saferlhf.data.DataRecord;
import saferlhf.data.HarmCategory;
import saferlhf.data.JsonlWriter;
import saferlhf.data.PromptRecord;
import saferlhf.data.SafeRlhfRecord;
import saferlhf.data.V1Invariants;

class DataStatsCommandTest {
    @TempDir Path dir;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cli = new CommandLine(new DataStatsCommand());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        return cli.execute(args);
    }

    private static SafeRlhfRecord v1(String p, boolean safe0, boolean safe1, int better, int safer) {
        Set<HarmCategory> h0 = safe0 ? Set.of() : EnumSet.of(HarmCategory.DRUGS);
        Set<HarmCategory> h1 = safe1 ? Set.of() : EnumSet.of(HarmCategory.DRUGS, HarmCategory.VIOLENCE);
        return new SafeRlhfRecord(p, "a", "b", "Beavertails", "Alpaca-7B", "Alpaca-7B", safe0, safe1, h0, h1,
                safe0 ? 0 : 1, safe1 ? 0 : 3, better, safer, V1Invariants.sha256(p, "a"), V1Invariants.sha256(p, "b"));
    }

    @Test
    void preferenceStatsAsJson() throws IOException {
        List<DataRecord> records = new ArrayList<>(List.of(v1("p1", true, false, 0, 0), v1("p2", false, false, 1, 0),
                v1("p3", true, true, 1, 1)));
        Path folder = dir.resolve("snap");
        JsonlWriter.write(folder.resolve("data/Alpaca-7B/train.jsonl"), records);
        JsonlWriter.write(folder.resolve("data/Alpaca-7B/test.jsonl"), List.of(v1("t", true, true, 0, 0)));
        assertEquals(0, run("--json", "--split", "train", folder.toString()), err.toString());
        JsonNode json = new ObjectMapper().readTree(out.toString());
        assertEquals("SAFE_RLHF_V1", json.get("format").asText());
        assertEquals(3, json.get("records").asInt());
        assertEquals(0, json.get("invalid").asInt());
        assertEquals(6, json.get("responses").asInt());
        assertEquals(3, json.get("responses_safe").asInt());
        assertEquals(2, json.get("better_equals_safer").asInt());
        assertEquals(1, json.get("both_unsafe").asInt());
        assertEquals(1, json.get("both_safe").asInt());
        assertEquals(3, json.get("category_counts").get("Drugs").asInt());
        assertEquals(2, json.get("category_counts").get("Violence").asInt());
        assertEquals(19, json.get("category_counts").size());
        assertEquals(3, json.get("severity_counts").get("0").asInt());
        assertEquals(1, json.get("severity_counts").get("1").asInt());
        assertEquals(2, json.get("severity_counts").get("3").asInt());
        assertEquals(3, json.get("prompt_source_counts").get("Beavertails").asInt());
        assertEquals(0, json.get("invariants").get("violations").asInt());
        List<String> keys = new ArrayList<>();
        json.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("format", "records", "invalid", "files"), keys.subList(0, 4), "stable key order");
    }

    @Test
    void promptSetsAsTextWithCategoryCounts() throws IOException {
        Path p = dir.resolve("prompts.jsonl");
        JsonlWriter.write(p, List.of(new PromptRecord("a", "Insult"), new PromptRecord("b", "Insult"), new PromptRecord("c", "Crime")));
        assertEquals(0, run(p.toString()));
        String text = out.toString();
        assertTrue(text.contains("format: PROMPTS"), text);
        assertTrue(text.contains("records: 3"), text);
        assertTrue(text.contains("  Insult: 2"), text);
        assertTrue(text.contains("  Crime: 1"), text);
    }

    @Test
    void badDataPrintsOneErrorLineAndExits2() throws IOException {
        Path p = dir.resolve("bad.jsonl");
        String good = JsonlWriter.toJson(v1("p", true, false, 0, 0));
        Files.writeString(p, good + "\n" + good.replace("\"better_response_id\": 0", "\"better_response_id\": 2") + "\n");
        assertEquals(2, run(p.toString()));
        assertEquals("error: " + p + ":2: field 'better_response_id': expected 0 or 1, got 2", err.toString().strip());
        assertFalse(err.toString().contains("Exception"));

        assertEquals(0, run("--json", "--skip-invalid", p.toString()));
        JsonNode json = new ObjectMapper().readTree(out.toString());
        assertEquals(1, json.get("records").asInt());
        assertEquals(1, json.get("invalid").asInt());
        assertTrue(json.get("invalid_samples").get(0).asText().endsWith(":2: field 'better_response_id': expected 0 or 1, got 2"));

        assertEquals(2, run(dir.resolve("missing").toString()));
    }
}
