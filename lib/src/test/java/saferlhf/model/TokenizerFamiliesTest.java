package saferlhf.model;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.data.PromptTemplate;
import saferlhf.data.SftRecord;

/**
 * The two families of real checkpoints' tokenizer.json, built by {@link TokenizerFiles}, through {@link Tokenizer}:
 * byte-level BPE (GPT-2, Qwen2) and SentencePiece-style BPE with byte fallback (LLaMA, Mistral). Special tokens (from
 * tokenizer_config.json or added), BOS from the post-processor, EOS where the reference appends it, padding sides, the
 * reference's prompt template, decoding, and what DJL's wrapper of the Rust library does or does not do on its own.
 */
class TokenizerFamiliesTest {
    static { ModelTesting.class.getName(); }

    private static final List<String> WORDS = List.of("BEGINNING", " OF", " CONVERSATION", " USER", " ASSISTANT", " how", " can",
            " i", " grow", " tomatoes", " quickly", " sure", " first", " add", " compost", " happy", " to", " help");
    private static final String PROMPT = "how can i grow tomatoes quickly ?";
    private static final String RESPONSE = "sure . first add compost .";

    private static Tokenizer byteLevel(Path dir, String config) throws Exception {
        return Tokenizer.load(TokenizerFiles.write(dir, TokenizerFiles.byteLevelBpe(WORDS), config));
    }

    private static Tokenizer sentencePiece(Path dir) throws Exception {
        return Tokenizer.load(TokenizerFiles.write(dir, TokenizerFiles.sentencePieceBpe(WORDS), null));
    }

    @Test
    void specialTokensComeFromTheConfigOrAreAddedAsTheReferenceAddsThem(@TempDir Path dir) throws Exception {
        try (Tokenizer llama = sentencePiece(dir.resolve("llama"))) {
            assertEquals(List.of(0, 1, 2), List.of(llama.unkId(), llama.bosId(), llama.eosId()), "<unk> <s> </s> of the vocabulary");
            assertEquals(1, llama.addedTokens(), "LLaMA has no pad token: <pad> is added");
            assertEquals("<pad>", llama.padToken());
            assertEquals(llama.vocabSize() - 1, llama.padId(), "after the last id");
            assertEquals(1, llama.encode("hello")[0], "the post-processor prepends <s>");
            assertNotEquals(1, llama.encode("hello", false)[0]);
        }
        try (Tokenizer gpt2 = byteLevel(dir.resolve("gpt2"), TokenizerFiles.GPT2_CONFIG)) {
            int endOfText = gpt2.vocabSize() - 2;
            assertEquals(List.of(endOfText, endOfText, endOfText), List.of(gpt2.bosId(), gpt2.eosId(), gpt2.unkId()),
                    "GPT-2: <|endoftext|> is BOS, EOS and UNK");
            assertEquals(1, gpt2.addedTokens());
            assertEquals(gpt2.vocabSize() - 1, gpt2.padId(), "<pad> added");
            long[] ids = gpt2.encode("hello");
            assertEquals(gpt2.encode("hello", false).length, ids.length, "the ByteLevel post-processor adds no BOS (as GPT-2 in Python)");
        }
        try (Tokenizer qwen = byteLevel(dir.resolve("qwen2"), TokenizerFiles.QWEN2_CONFIG)) {
            int endOfText = qwen.vocabSize() - 3;
            assertEquals(endOfText, qwen.eosId());
            assertEquals(endOfText, qwen.padId(), "Qwen2 pads with <|endoftext|>");
            assertEquals(2, qwen.addedTokens(), "no BOS and no UNK: <s> and <unk> are added");
            assertEquals(List.of("<s>", "<unk>"), List.of(qwen.bosToken(), qwen.unkToken()));
            assertEquals(List.of(endOfText + 1, endOfText + 2), List.of(qwen.bosId(), qwen.unkId()));
            assertNotEquals(qwen.bosId(), qwen.encode("hello")[0], "an added BOS is not prepended: the post-processor stays as written");
        }
        try (Tokenizer gpt2 = byteLevel(dir.resolve("gpt2-text"), TokenizerFiles.GPT2_CONFIG);
             Tokenizer llama = sentencePiece(dir.resolve("llama-text"))) {
            for (Tokenizer t : List.of(gpt2, llama)) { // special tokens written in text are single ids
                long[] ids = t.encode("a" + t.eosToken() + "b" + t.padToken() + "c", false);
                assertTrue(Arrays.stream(ids).anyMatch(id -> id == t.eosId()) && Arrays.stream(ids).anyMatch(id -> id == t.padId()),
                        Arrays.toString(ids));
            }
        }
    }

    @Test
    void templateEosAndPaddingSidesInBothFamilies(@TempDir Path dir) throws Exception {
        try (Tokenizer gpt2 = byteLevel(dir.resolve("gpt2"), TokenizerFiles.GPT2_CONFIG); Tokenizer llama = sentencePiece(dir.resolve("llama"))) {
            for (Tokenizer t : List.of(gpt2, llama)) {
                String name = t.describe();
                long[] prompt = t.encodePrompt(PROMPT, 512);
                assertEquals(PromptTemplate.format(PROMPT), t.decode(prompt, true), name + ": the template, decoded");
                assertEquals("BEGINNING OF CONVERSATION: USER: " + PROMPT + " ASSISTANT:", t.decode(prompt, true));
                // a prompt over budget loses its oldest ids after BOS, never the assistant turn
                long[] cut = t.encodePrompt(PROMPT, prompt.length - 3);
                assertEquals(prompt.length - 3, cut.length);
                assertTrue(t.promptExceeds(PROMPT, prompt.length - 3) && !t.promptExceeds(PROMPT, prompt.length));
                assertArrayEquals(Arrays.copyOfRange(prompt, prompt.length - cut.length + (prompt[0] == t.bosId() ? 1 : 0), prompt.length),
                        Arrays.copyOfRange(cut, prompt[0] == t.bosId() ? 1 : 0, cut.length), name + ": the tail is kept");
                if (prompt[0] == t.bosId()) assertEquals(t.bosId(), cut[0], name + ": BOS kept");
                assertTrue(t.decode(cut, true).endsWith(" ASSISTANT:"), t.decode(cut, true));
                // SFT: prompt ids, then the response directly after "ASSISTANT:", then EOS; only response and EOS trained
                Tokenizer.Sft sft = t.encodeSft(PROMPT, RESPONSE, 512);
                assertArrayEquals(prompt, Arrays.copyOf(sft.ids(), prompt.length), name + ": prompt ids are a prefix");
                assertEquals(t.eosId(), sft.ids()[sft.ids().length - 1], name + ": EOS last");
                for (int i = 0; i < sft.ids().length; i++) assertEquals(i >= prompt.length, sft.trained()[i], name + " @" + i);
                assertEquals(PromptTemplate.format(PROMPT) + RESPONSE, t.decode(sft.ids(), true));
                assertEquals(PromptTemplate.format(PROMPT) + RESPONSE + t.eosToken(), t.trainingText(PROMPT, RESPONSE));

                // prompts and generation: LEFT padding; score models: RIGHT padding; pads are the pad id with mask 0
                List<String> texts = List.of("hello", PromptTemplate.format(PROMPT));
                Tokenizer.Batch left = t.encodeBatch(texts, 512, Tokenizer.Padding.LEFT);
                Tokenizer.Batch right = t.encodeBatch(texts, 512, Tokenizer.Padding.RIGHT);
                int shortLength = t.encode("hello").length, pads = left.length() - shortLength;
                assertTrue(pads > 0);
                for (int i = 0; i < left.length(); i++) {
                    assertEquals(i < pads ? t.padId() : t.encode("hello")[i - pads], left.id(0, i), name + " left @" + i);
                    assertEquals(i < shortLength ? t.encode("hello")[i] : t.padId(), right.id(0, i), name + " right @" + i);
                    assertEquals(i < pads ? 0 : 1, left.attentionMask()[i]);
                    assertEquals(i < shortLength ? 1 : 0, right.attentionMask()[i]);
                }

                // a score model reads BOS + template + response + EOS, right-padded (Scorer's text input)
                Tokenizer.Batch scored = new Scorer(null, t).input(List.of(new SftRecord(PROMPT, RESPONSE), new SftRecord(PROMPT, "ok")), 512);
                assertArrayEquals(sft.ids(), Arrays.copyOf(scored.row(0), sft.ids().length), name);
                long[] second = t.encode(t.trainingText(PROMPT, "ok"));
                assertEquals(t.eosId(), scored.id(1, second.length - 1));
                for (int i = second.length; i < scored.length(); i++) assertEquals(t.padId(), scored.id(1, i), name + " right padding");
            }
        }
    }

    @Test
    void decodingGivesTheTextBackIncludingCharactersOutsideTheVocabulary(@TempDir Path dir) throws Exception {
        List<String> texts = List.of("how can i grow tomatoes quickly ?", "Sure, here: naïve café, 日本語 and 😀!",
                "two  spaces\tand a tab", "tomatoes\nnew line", PromptTemplate.format("ÄÖÜ ß") + "ok .");
        try (Tokenizer gpt2 = byteLevel(dir.resolve("gpt2"), TokenizerFiles.GPT2_CONFIG); Tokenizer llama = sentencePiece(dir.resolve("llama"))) {
            for (Tokenizer t : List.of(gpt2, llama)) {
                for (String text : texts) assertEquals(text, t.decode(t.encode(text), true), t.describe());
                for (String text : texts) assertNotEquals(t.unkId(), Arrays.stream(t.encode(text, false)).filter(id -> id == t.unkId())
                        .findFirst().orElse(-1L), t.describe() + ": nothing is unknown: " + text);
            }
            assertEquals("  spaces at both ends  ", gpt2.decode(gpt2.encode("  spaces at both ends  "), true),
                    "byte level keeps every space");
            // SentencePiece-style: a character outside the vocabulary becomes its UTF-8 bytes E6 97 A5, the pieces <0xE6>
            // <0x97> <0xA5> (ids 3 + byte), which the ByteFallback decoder fuses back
            long[] sun = llama.encode("日", false);
            long[] bytes = Arrays.copyOfRange(sun, sun.length - 3, sun.length);
            assertArrayEquals(new long[] {3 + 0xE6, 3 + 0x97, 3 + 0xA5}, bytes, Arrays.toString(sun));
            assertEquals("日", llama.decode(bytes, true));
        }
    }

    @Test
    void theLibraryNeitherTruncatesNorPadsOnItsOwn(@TempDir Path dir) throws Exception {
        String longText = " how".repeat(700);
        // truncation to 8 and padding to 64 written into the file (as Hugging Face saves them when they were on)
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode root =
                (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(TokenizerFiles.sentencePieceBpe(WORDS));
        root.putObject("truncation").put("direction", "Right").put("max_length", 8).put("strategy", "LongestFirst").put("stride", 0);
        com.fasterxml.jackson.databind.node.ObjectNode padding = root.putObject("padding");
        padding.putObject("strategy").put("Fixed", 64);
        padding.put("direction", "Left").putNull("pad_to_multiple_of");
        padding.put("pad_id", 2).put("pad_type_id", 0).put("pad_token", "</s>");
        try (Tokenizer gpt2 = byteLevel(dir.resolve("gpt2"), TokenizerFiles.GPT2_CONFIG); Tokenizer llama = sentencePiece(dir.resolve("llama"));
             Tokenizer configured = Tokenizer.load(TokenizerFiles.write(dir.resolve("configured"), json.writeValueAsString(root), null))) {
            for (Tokenizer t : List.of(gpt2, llama, configured)) {
                assertTrue(t.encode(longText, false).length >= 700, "neither DJL's default model_max_length of 512 nor the file's 8");
                for (long id : t.encode("hi")) assertNotEquals(t.padId(), id, "no padding of a single text");
            }
            assertArrayEquals(llama.encode(longText), configured.encode(longText));
            assertArrayEquals(llama.encode("hi"), configured.encode("hi"), "not left-padded to 64 with </s>");
            assertTrue(llama.sameAs(configured), "the file's truncation and padding settings do not make another tokenizer");
        }
    }
}
