package saferlhf.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import saferlhf.data.PromptRecord;
import saferlhf.util.AtomicFiles;

/**
 * Two policies' answers to the same prompts, judged side by side: the reference's GPT-4 evaluation
 * ({@code evaluate/gpt4/eval.py}, red's answer as Assistant 1, blue's as Assistant 2), with any {@link Judge}.
 *
 * <p>Judging is slow and, with a paid endpoint, costly, so nothing is lost to an interruption: each judged prompt is
 * appended to {@code eval.jsonl} as soon as it is judged, and a rerun with the same answers reuses those lines.
 *
 * <p>Only prompts the judge {@linkplain Judge#canRate can rate} are judged; the others are counted in {@code unrated}.
 *
 * @param redName  the red corner's name
 * @param blueName the blue corner's name
 * @param entries  one per judged prompt, in prompt order
 * @param unrated  prompts left out because the judge cannot rate them
 */
public record JudgedPairs(String redName, String blueName, List<Entry> entries, int unrated) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One prompt: both answers and the judge's comparison (first = red, second = blue). */
    public record Entry(PromptRecord prompt, String redAnswer, String blueAnswer, Judge.Comparison comparison) {}

    /**
     * Judges every prompt, resuming from {@code progress} (a JSONL file, created when missing; null: no file).
     *
     * @throws IllegalArgumentException when the two answer lists are not for the same prompts
     */
    public static JudgedPairs judge(String redName, List<PolicySamples.Sample> red, String blueName, List<PolicySamples.Sample> blue,
                                    Judge judge, Path progress) throws IOException {
        if (red.size() != blue.size()) throw new IllegalArgumentException("red has " + red.size() + " answers, blue " + blue.size());
        Map<String, Judge.Comparison> done = progress == null ? Map.of() : readProgress(progress);
        if (progress != null && progress.getParent() != null) Files.createDirectories(progress.getParent());
        List<Entry> entries = new ArrayList<>();
        int unrated = 0;
        for (int i = 0; i < red.size(); i++) {
            PromptRecord prompt = red.get(i).prompt();
            if (!prompt.prompt().equals(blue.get(i).prompt().prompt())) {
                throw new IllegalArgumentException("answer " + i + ": red and blue answered different prompts");
            }
            if (!judge.canRate(prompt)) {
                unrated++;
                continue;
            }
            String redAnswer = red.get(i).response(), blueAnswer = blue.get(i).response();
            Judge.Comparison comparison = done.get(key(prompt.prompt(), redAnswer, blueAnswer));
            if (comparison == null) {
                comparison = judge.compare(prompt, redAnswer, blueAnswer);
                if (progress != null) append(progress, toJson(new Entry(prompt, redAnswer, blueAnswer, comparison)));
            }
            entries.add(new Entry(prompt, redAnswer, blueAnswer, comparison));
        }
        return new JudgedPairs(redName, blueName, entries, unrated);
    }

    /** Prompts where blue's answer won, tied and lost. */
    public int[] blueWinsTiesLosses() {
        int[] counts = new int[3];
        for (Entry e : entries) counts[e.comparison().firstWins() == 0 ? 0 : e.comparison().firstWins() == 1 ? 2 : 1]++;
        return counts;
    }

    /** Mean score of red's (index 0) and blue's (index 1) answers (NaN when no prompt was judged). */
    public double[] meanScores() {
        double red = 0, blue = 0;
        for (Entry e : entries) {
            red += e.comparison().firstScore();
            blue += e.comparison().secondScore();
        }
        return new double[] {red / entries.size(), blue / entries.size()};
    }

    /** Blue's win rate, ties counting half (NaN when no prompt was judged). */
    public double blueWinRate() {
        int[] wtl = blueWinsTiesLosses();
        return (wtl[0] + 0.5 * wtl[1]) / entries.size();
    }

    public String summary() {
        if (entries.isEmpty()) {
            return String.format(Locale.ROOT, "%s (red) vs %s (blue), %d prompts: %s%n", redName, blueName, unrated, Judge.CANNOT_RATE);
        }
        int[] wtl = blueWinsTiesLosses();
        double[] means = meanScores();
        return String.format(Locale.ROOT, "%s (red) vs %s (blue), %d prompts: blue wins %d, ties %d, loses %d (win rate %.3f, ties half); "
                + "mean score red %.2f, blue %.2f%s%n", redName, blueName, entries.size(), wtl[0], wtl[1], wtl[2], blueWinRate(), means[0], means[1],
                unrated == 0 ? "" : String.format(Locale.ROOT, " (judge rated %d of %d prompts)", entries.size(), entries.size() + unrated));
    }

    /** {@code eval.json}: the reference's fields (prompt, red_answer, blue_answer, score: the judge's text) plus the parsed scores. */
    public void writeJson(Path file) throws IOException {
        ArrayNode all = JSON.createArrayNode();
        entries.forEach(e -> all.add(toJson(e)));
        AtomicFiles.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(all) + "\n");
    }

    private static ObjectNode toJson(Entry e) {
        ObjectNode node = JSON.createObjectNode();
        node.put("prompt", e.prompt().prompt());
        if (e.prompt().category() != null) node.put("category", e.prompt().category());
        node.put("red_answer", e.redAnswer());
        node.put("blue_answer", e.blueAnswer());
        node.put("score", e.comparison().explanation());
        node.put("red_score", e.comparison().firstScore());
        node.put("blue_score", e.comparison().secondScore());
        node.put("red_wins", e.comparison().firstWins());
        return node;
    }

    private static String key(String prompt, String red, String blue) {
        return prompt + "\u0000" + red + "\u0000" + blue;
    }

    private static void append(Path file, ObjectNode line) throws IOException {
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            out.write(line.toString());
            out.write('\n');
        }
    }

    /** Judged lines of an earlier run; a torn last line (the run was killed while writing it) is dropped from the file. */
    private static Map<String, Judge.Comparison> readProgress(Path file) throws IOException {
        Map<String, Judge.Comparison> done = new HashMap<>();
        if (!Files.isRegularFile(file)) return done;
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            JsonNode n;
            try {
                n = JSON.readTree(lines.get(i));
            } catch (IOException torn) {
                if (i == lines.size() - 1) {
                    AtomicFiles.writeString(file, String.join("\n", lines.subList(0, i)) + (i == 0 ? "" : "\n"));
                    break;
                }
                throw new IOException(file + ":" + (i + 1) + ": not a JSON line: " + torn.getMessage(), torn);
            }
            done.put(key(n.path("prompt").asText(), n.path("red_answer").asText(), n.path("blue_answer").asText()),
                    new Judge.Comparison(n.path("red_score").asDouble(), n.path("blue_score").asDouble(), n.path("red_wins").asDouble(),
                            n.path("score").asText()));
        }
        return done;
    }
}
