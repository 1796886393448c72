package saferlhf.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import saferlhf.KitPaths;
import saferlhf.Offline;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/** Shared fixtures: the BeaverWorld tokenizer and a few SFT examples. */
final class ModelTesting {
    private ModelTesting() {}

    static { Offline.apply(); }

    static Tokenizer beaverTokenizer() throws IOException {
        return Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
    }

    /** The first {@code n} BeaverWorld SFT records as (prompt, response). */
    static List<String[]> sftRecords(int n) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String[]> out = new ArrayList<>();
        for (String line : Files.readAllLines(KitPaths.beaverWorld().resolve("sft/train.jsonl"))) {
            if (line.isBlank()) continue;
            JsonNode r = json.readTree(line);
            out.add(new String[] {r.get("prompt").asText(), r.get("response").asText()});
            if (out.size() == n) break;
        }
        return out;
    }

    static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("length " + a.length + " vs " + b.length);
        float m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
