package saferlhf.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.KitPaths;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class TokenizerTest {
    static { ModelTesting.class.getName(); }

    @Test
    void beaverWorldTemplateAndSpecialTokens() throws Exception {
        try (Tokenizer tok = ModelTesting.beaverTokenizer()) {
            assertEquals(0, tok.padId());
            assertEquals(1, tok.bosId());
            assertEquals(2, tok.eosId());
            assertEquals(3, tok.unkId());
            assertEquals(0, tok.addedTokens());
            assertEquals(599, tok.vocabSize());
            Tokenizer.Sft s = tok.encodeSft("how can i grow tomatoes quickly ?", "happy to help .", 96);
            assertEquals(1, s.ids()[0], "BOS first");
            assertEquals(2, s.ids()[s.ids().length - 1], "EOS last");
            long[] prompt = tok.encode(tok.promptText("how can i grow tomatoes quickly ?"));
            assertEquals(prompt.length, s.promptLength());
            assertArrayEquals(prompt, java.util.Arrays.copyOf(s.ids(), prompt.length), "prompt ids are a prefix");
            assertEquals("BEGINNING OF CONVERSATION: USER: how can i grow tomatoes quickly ? ASSISTANT:", tok.promptText("how can i grow tomatoes quickly ?"));
            for (long id : s.ids()) assertNotEquals(tok.unkId(), id, "template word missing from the vocabulary");
            String decoded = tok.decode(s.ids(), true);
            assertTrue(decoded.contains("tomatoes") && decoded.contains("happy") && !decoded.contains("</s>"), decoded);
            assertEquals(s.ids().length - 1, tok.encode(tok.trainingText("how can i grow tomatoes quickly ?", "happy to help ."), false).length);
        }
    }

    @Test
    void paddingSidesAndTruncation() throws Exception {
        try (Tokenizer tok = ModelTesting.beaverTokenizer()) {
            Tokenizer.Batch left = tok.encodeBatch(List.of("hello", "how can i help"), 96, Tokenizer.Padding.LEFT);
            Tokenizer.Batch right = tok.encodeBatch(List.of("hello", "how can i help"), 96, Tokenizer.Padding.RIGHT);
            assertEquals(5, left.length()); // BOS + 4 words
            assertArrayEquals(new long[] {0, 0, 0, 1, left.id(0, 4)}, left.row(0));
            assertArrayEquals(new long[] {0, 0, 0, 1, 1, 1, 1, 1, 1, 1}, left.attentionMask());
            assertArrayEquals(new long[] {1, right.id(0, 1), 0, 0, 0}, right.row(0));
            assertArrayEquals(new long[] {1, 1, 0, 0, 0, 1, 1, 1, 1, 1}, right.attentionMask());
            Tokenizer.Batch cut = tok.encodeBatch(List.of("hello", "how can i help"), 3, Tokenizer.Padding.RIGHT);
            assertEquals(3, cut.length());
            assertArrayEquals(java.util.Arrays.copyOf(right.row(1), 3), cut.row(1), "truncation keeps the first tokens");
            assertEquals(2, tok.encodeSft("a long prompt here", "and a response", 2).ids().length);
        }
    }

    @Test
    void missingPadTokenIsAdded(@TempDir Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(KitPaths.beaverWorld().resolve("tokenizer.json").toFile());
        ArrayNode added = (ArrayNode) root.get("added_tokens");
        for (int i = 0; i < added.size(); i++) if (added.get(i).get("content").asText().equals("<pad>")) added.remove(i);
        ObjectNode vocab = (ObjectNode) root.get("model").get("vocab");
        vocab.set("<reserved>", vocab.remove("<pad>")); // id 0 keeps a (non-special) entry: ids stay contiguous
        Path file = dir.resolve("tokenizer.json");
        json.writeValue(file.toFile(), root);
        try (Tokenizer tok = Tokenizer.load(dir)) {
            assertEquals(1, tok.addedTokens());
            assertEquals(599, tok.padId(), "new id after the last one");
            assertEquals(600, tok.vocabSize());
            assertEquals("<pad>", tok.padToken());
            assertArrayEquals(new long[] {1, 599}, tok.encode("<pad>"), "the added token is recognised in text");
            Tokenizer.Batch b = tok.encodeBatch(List.of("hello", "how can i"), 96, Tokenizer.Padding.LEFT);
            assertEquals(599, b.id(0, 0));
        }
    }
}
