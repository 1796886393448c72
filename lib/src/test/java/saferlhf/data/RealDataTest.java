package saferlhf.data;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import saferlhf.KitPaths;

/** Checks against the real prompt sets in {@code ../shared/realdata}; skipped when that folder is absent. */
class RealDataTest {
    private static Path real(String name) {
        Path p = KitPaths.sharedRealData().resolve(name);
        assumeTrue(Files.isRegularFile(p), "real data not available: " + p);
        return p;
    }

    @Test
    void beaverTailsEvaluationHas50PerCategoryInOrder() {
        Path p = real("beavertails_evaluation.jsonl");
        List<BeaverTailsEvalPrompt> prompts;
        try (Stream<BeaverTailsEvalPrompt> s = DataReader.evalPrompts(p)) {
            prompts = s.toList();
        }
        assertEquals(700, prompts.size());
        for (int i = 0; i < prompts.size(); i++) assertEquals(i % 14, prompts.get(i).categoryId(), "row " + i);
        long padded = prompts.stream().filter(e -> !e.prompt().equals(e.prompt().strip())).count();
        assertEquals(39, padded, "prompts with leading/trailing whitespace are kept verbatim");
        DataStats stats = DataStats.compute(p, ReadOptions.defaults());
        assertEquals(DataFormat.BEAVERTAILS_EVAL, stats.format());
        assertTrue(stats.categoryCounts().values().stream().allMatch(n -> n == 50), stats.categoryCounts().toString());
        assertEquals(14, stats.categoryCounts().size());
    }

    @Test
    void gpt4ProblemsHaveTheReferenceCategoryCounts() {
        Path p = real("safe_rlhf_eval_problems.jsonl");
        Map<String, Integer> counts = new TreeMap<>();
        try (Stream<PromptRecord> s = DataReader.prompts(p)) {
            s.forEach(r -> counts.merge(r.category(), 1, Integer::sum));
        }
        assertEquals(Map.of("Social Bias", 14, "Crime", 10, "Privacy", 10, "Emotional Harm", 10, "Physical Harm", 10,
                "Insult", 10, "Immoral", 10, "Pornographic", 9), counts);
        assertEquals(DataFormat.PROMPTS, DataStats.compute(p, ReadOptions.defaults()).format());
    }

    @Test
    void everyRealLineRoundTripsByteForByte() throws IOException {
        for (String name : List.of("beavertails_evaluation.jsonl", "safe_rlhf_eval_problems.jsonl")) {
            Path p = real(name);
            List<String> lines = Files.readAllLines(p, StandardCharsets.UTF_8);
            StringBuilder rewritten = new StringBuilder();
            try (DataReader r = DataReader.open(p)) {
                int i = 0;
                while (r.hasNext()) {
                    String json = JsonlWriter.toJson(r.next());
                    assertEquals(lines.get(i), json, name + " line " + (i + 1));
                    rewritten.append(json).append('\n');
                    i++;
                }
                assertEquals(lines.size(), i);
            }
            assertArrayEquals(Files.readAllBytes(p), rewritten.toString().getBytes(StandardCharsets.UTF_8), name);
        }
    }
}
