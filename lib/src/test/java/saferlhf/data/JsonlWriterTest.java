package saferlhf.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlWriterTest {
    @TempDir Path dir;

    @Test
    void escapesLikePythonJsonDumpsEnsureAsciiFalse() {
        // json.dumps("a\"b\\c\nd\re\tf\bg\fh\x01\x1f\x7f é — 😀", ensure_ascii=False)
        assertEquals("\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0001\\u001f\u007f \u00e9 \u2014 \uD83D\uDE00 /\"",
                JsonlWriter.quote("a\"b\\c\nd\re\tf\bg\fh\u0001\u001f\u007f \u00e9 \u2014 \uD83D\uDE00 /"));
        assertEquals("\"\\u001b[0m\"", JsonlWriter.quote("\u001b[0m"));
    }

    @Test
    void v1KeyOrderAndCategoryObjects() {
        String json = JsonlWriter.toJson(TestData.v1("p"));
        List<String> keys = new ArrayList<>();
        try {
            DataReader.JSON.readTree(json).fieldNames().forEachRemaining(keys::add);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        assertEquals(DataFormat.SAFE_RLHF_V1.fields(), keys);
        assertTrue(json.startsWith("{\"prompt\": \"p\", \"response_0\": "), json);
        assertTrue(json.contains("\"response_1_harm_category\": {\"Endangering National Security\": false, "
                + "\"Insulting Behavior\": false, \"Discriminatory Behavior\": false, \"Endangering Public Health\": false, "
                + "\"Copyright Issues\": false, \"Violence\": true, \"Drugs\": false, "), json);
        assertTrue(json.contains("\"Animal Abuse\": false}, \"response_0_severity_level\": 0, \"response_1_severity_level\": 2, "
                + "\"better_response_id\": 0, \"safer_response_id\": 0, \"response_0_sha256\": \""), json);
        String bt = JsonlWriter.toJson(new BeaverTailsRecord("q", "r", Set.of(BeaverTailsCategory.VIOLENCE_AIDING_AND_ABETTING_INCITEMENT), false));
        assertTrue(bt.startsWith("{\"prompt\": \"q\", \"response\": \"r\", \"category\": {\"animal_abuse\": false, \"child_abuse\": false, "
                + "\"controversial_topics,politics\": false,"), bt);
        assertTrue(bt.endsWith("\"violence,aiding_and_abetting,incitement\": true}, \"is_safe\": false}"), bt);
        assertEquals("{\"prompt\": \" x\", \"category\": \"self_harm\", \"category_id\": 10}",
                JsonlWriter.toJson(new BeaverTailsEvalPrompt(" x", BeaverTailsCategory.SELF_HARM)));
        assertEquals("{\"prompt\": \"x\"}", JsonlWriter.toJson(new PromptRecord("x")));
    }

    private static List<DataRecord> sample() {
        List<DataRecord> records = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            records.add(TestData.v1("prompt " + i + " caf\u00e9\n\t\"x\"", "r0 " + i, "r1 " + i, i % 2 == 0, false,
                    Set.of(), EnumSet.of(HarmCategory.values()[i % 19]), i % 2 == 0 ? 0 : 1, 1 + i % 3, i % 2, i % 2 == 0 ? 0 : 1));
        }
        return records;
    }

    @Test
    void roundTripIsByteExactInEveryCompression() throws IOException {
        List<DataRecord> records = sample();
        for (String ext : List.of(".jsonl", ".jsonl.gz", ".jsonl.xz")) {
            Path a = dir.resolve("a" + ext), b = dir.resolve("b" + ext), c = dir.resolve("c" + ext);
            assertEquals(300, JsonlWriter.write(a, records));
            assertEquals(300, JsonlWriter.write(b, records));
            assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), "deterministic " + ext);
            try (Stream<DataRecord> s = DataReader.read(a, ReadOptions.defaults())) {
                assertEquals(records, s.toList());
            }
            try (Stream<DataRecord> s = DataReader.read(a, ReadOptions.defaults())) {
                JsonlWriter.write(c, s::iterator);
            }
            assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(c), "re-written " + ext);
        }
        byte[] gz = Files.readAllBytes(dir.resolve("a.jsonl.gz"));
        assertEquals(0x1f, gz[0] & 0xff);
        assertEquals(0, gz[4] | gz[5] | gz[6] | gz[7], "gzip MTIME is 0");
        byte[] xz = Files.readAllBytes(dir.resolve("a.jsonl.xz"));
        assertEquals(0xfd, xz[0] & 0xff);
        assertTrue(xz.length < Files.size(dir.resolve("a.jsonl")) / 5);
    }

    @Test
    void writesAtomicallyAndDiscardsWithoutCommit() throws IOException {
        Path target = dir.resolve("out.jsonl");
        Files.writeString(target, "old\n");
        try (JsonlWriter w = JsonlWriter.open(target)) {
            w.write(new PromptRecord("new"));
            assertEquals("old\n", Files.readString(target), "target untouched until commit");
        }
        assertEquals("old\n", Files.readString(target), "close without commit discards");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(target), files.toList(), "no temporary file left");
        }
        JsonlWriter.write(target, List.of(new PromptRecord("new", "c")));
        assertEquals("{\"prompt\": \"new\", \"category\": \"c\"}\n", Files.readString(target));
    }
}
