package saferlhf.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.KitPaths;
import saferlhf.data.SftRecord;

/**
 * A score model whose tokenizer is not the policy's reads the decoded text re-tokenized (the reference's
 * {@code batch_retokenize}); one with the same tokenizer reads the policy's ids; critics must share the actor's.
 */
class ScorerTest {
    static { ModelTesting.class.getName(); }

    private static Path gpt2, llama;
    /** Byte-level BPE (the actor's) and SentencePiece-style BPE (the reward model's), both over BeaverWorld's words. */
    private static Tokenizer byteLevel, sentencePiece;

    @BeforeAll
    static void tokenizers(@TempDir Path dir) throws Exception {
        gpt2 = TokenizerFiles.write(dir.resolve("gpt2"), TokenizerFiles.byteLevelBpe(TokenizerFiles.beaverWorldWords()),
                TokenizerFiles.EOS_ONLY_CONFIG);
        llama = TokenizerFiles.write(dir.resolve("llama"), TokenizerFiles.sentencePieceBpe(TokenizerFiles.beaverWorldWords()), null);
        byteLevel = Tokenizer.load(gpt2);
        sentencePiece = Tokenizer.load(llama);
    }

    @AfterAll
    static void close() {
        byteLevel.close();
        sentencePiece.close();
    }

    /**
     * What generation hands over: per row the left-padded prompt, the response ids, EOS unless the row ran out of
     * tokens, then pads; the mask is 0 on pads.
     */
    private static Tokenizer.Batch rollout(Tokenizer policy, List<String[]> answers, boolean[] endsWithEos) {
        List<long[]> prompts = new ArrayList<>(), responses = new ArrayList<>();
        int promptWidth = 0, width = 0;
        for (int b = 0; b < answers.size(); b++) {
            prompts.add(policy.encodePrompt(answers.get(b)[0], 512));
            long[] r = policy.encode(answers.get(b)[1], false);
            responses.add(endsWithEos[b] ? append(r, policy.eosId()) : r);
            promptWidth = Math.max(promptWidth, prompts.get(b).length);
            width = Math.max(width, responses.get(b).length);
        }
        int length = promptWidth + width;
        long[] ids = new long[answers.size() * length], mask = new long[ids.length];
        Arrays.fill(ids, policy.padId());
        for (int b = 0; b < answers.size(); b++) {
            long[] p = prompts.get(b), r = responses.get(b);
            System.arraycopy(p, 0, ids, b * length + promptWidth - p.length, p.length);
            System.arraycopy(r, 0, ids, b * length + promptWidth, r.length);
            Arrays.fill(mask, b * length + promptWidth - p.length, b * length + promptWidth + r.length, 1L);
        }
        return new Tokenizer.Batch(answers.size(), length, ids, mask);
    }

    private static long[] append(long[] ids, long id) {
        long[] out = Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = id;
        return out;
    }

    @Test
    void aRewardModelWithAnotherTokenizerScoresTheTextAsIfTokenizedDirectly() throws Exception {
        List<String[]> answers = ModelTesting.sftRecords(4);
        answers.set(3, new String[] {answers.get(3)[0], " Sure, naïve café 😀 ."}); // bytes outside both vocabularies
        boolean[] eos = {true, true, false, true};
        Tokenizer actor = byteLevel, rewardTokenizer = sentencePiece;
        try (ScoreModel model = ScoreModel.create(ModelConfig.tinyLlama(rewardTokenizer.vocabSize()), ScoreType.REWARD, Device.cpu(), 5)) {
            Scorer reward = new Scorer(model, rewardTokenizer);
            assertFalse(reward.readsIdsOf(actor));
            Tokenizer.Batch sequences = rollout(actor, answers, eos);
            Tokenizer.Batch input = reward.input(actor, sequences);

            // the text each row holds, tokenized directly by the reward model's tokenizer: BOS + template + response + EOS
            List<long[]> direct = new ArrayList<>();
            for (String[] a : answers) direct.add(rewardTokenizer.encode(rewardTokenizer.trainingText(a[0], a[1])));
            Tokenizer.Batch expected = rewardTokenizer.pad(direct, Integer.MAX_VALUE, Tokenizer.Padding.RIGHT);
            assertEquals(expected.length(), input.length());
            assertArrayEquals(expected.inputIds(), input.inputIds(), "exact ids, right-padded with the reward tokenizer's pad");
            assertArrayEquals(expected.attentionMask(), input.attentionMask());
            assertEquals(rewardTokenizer.bosId(), input.id(0, 0), "the reward tokenizer's BOS (the actor's byte level has none)");
            assertEquals(rewardTokenizer.eosId(), input.id(2, direct.get(2).length - 1), "EOS appended even where the actor's row had none");
            assertArrayEquals(reward.endScores(expected), reward.endScores(actor, sequences), "equal scores");
            // the text path (evaluations): the same ids for the same answers
            List<SftRecord> records = answers.stream().map(a -> new SftRecord(a[0], a[1])).toList();
            assertArrayEquals(expected.inputIds(), reward.input(records, Integer.MAX_VALUE).inputIds());
            assertArrayEquals(reward.endScores(expected), reward.endScores(records, 2, Integer.MAX_VALUE), 1e-5f);
        }
    }

    @Test
    void theSameTokenizerReadsThePolicysIdsUnchanged(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("copy"));
        Files.copy(gpt2.resolve("tokenizer.json"), dir.resolve("copy/tokenizer.json"));
        Files.copy(gpt2.resolve("tokenizer_config.json"), dir.resolve("copy/tokenizer_config.json"));
        Tokenizer actor = byteLevel;
        try (Tokenizer same = Tokenizer.load(dir.resolve("copy"))) {
            Tokenizer.Batch sequences = rollout(actor, ModelTesting.sftRecords(3), new boolean[] {true, false, true});
            assertSame(sequences, new Scorer(null, same).input(actor, sequences), "left padding, unknown and all: as generated");
            assertSame(sequences, new Scorer(null, actor).input(actor, sequences));
        }
    }

    @Test
    void sameTokenizerMeansSamePipelineVocabularyAndSpecialTokens(@TempDir Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(KitPaths.beaverWorld().resolve("tokenizer.json").toFile());
        try (Tokenizer beaver = ModelTesting.beaverTokenizer()) {
            // reformatted, keys reordered, truncation and padding settings written into the file: still the same
            ObjectNode reordered = json.createObjectNode();
            List<String> keys = new ArrayList<>();
            root.fieldNames().forEachRemaining(keys::add);
            java.util.Collections.reverse(keys);
            for (String k : keys) reordered.set(k, root.get(k));
            reordered.putObject("truncation").put("direction", "Right").put("max_length", 8).put("strategy", "LongestFirst")
                    .put("stride", 0);
            assertTrue(same(beaver, dir.resolve("reordered"), json.writeValueAsString(reordered), null));

            // a saved and reloaded tokenizer (special tokens added at load included) is the same
            Path saved = dir.resolve("saved");
            sentencePiece.save(saved);
            try (Tokenizer back = Tokenizer.load(saved)) {
                assertTrue(sentencePiece.sameAs(back));
                assertFalse(sentencePiece.sameAs(beaver));
            }

            // one more vocabulary entry, one merge less, another pre-tokenizer, or other special tokens: different
            ObjectNode moreVocabulary = root.deepCopy();
            ((ObjectNode) moreVocabulary.get("model").get("vocab")).put("zzz", 599);
            assertFalse(same(beaver, dir.resolve("vocab"), json.writeValueAsString(moreVocabulary), null));
            ObjectNode otherSplit = root.deepCopy();
            otherSplit.putObject("pre_tokenizer").put("type", "WhitespaceSplit");
            assertFalse(same(beaver, dir.resolve("split"), json.writeValueAsString(otherSplit), null));
            assertFalse(same(beaver, dir.resolve("roles"), json.writeValueAsString(root), "{\"pad_token\": \"<unk>\"}"),
                    "pad is <unk> there");
            ObjectNode gpt2Root = (ObjectNode) json.readTree(gpt2.resolve("tokenizer.json").toFile());
            ((ArrayNode) gpt2Root.get("model").get("merges")).remove(0);
            {
                Tokenizer a = byteLevel;
                assertFalse(same(a, dir.resolve("merges"), json.writeValueAsString(gpt2Root), TokenizerFiles.EOS_ONLY_CONFIG),
                        "same vocabulary, one merge less: stricter than the reference's get_vocab()");
                ObjectNode spelled = (ObjectNode) json.readTree(gpt2.resolve("tokenizer.json").toFile());
                ArrayNode pairs = json.createArrayNode();
                for (var m : spelled.get("model").get("merges")) {
                    String[] parts = m.asText().split(" ");
                    pairs.addArray().add(parts[0]).add(parts[1]);
                }
                ((ObjectNode) spelled.get("model")).set("merges", pairs);
                assertTrue(same(a, dir.resolve("pairs"), json.writeValueAsString(spelled), TokenizerFiles.EOS_ONLY_CONFIG),
                        "merges written as [a, b] pairs (tokenizers >= 0.20) are the same merges");
            }
        }
    }

    /** Whether {@code tokenizer} is the same as the one in {@code tokenizerJson} (+ {@code config}). */
    private static boolean same(Tokenizer tokenizer, Path dir, String tokenizerJson, String config) throws Exception {
        try (Tokenizer other = Tokenizer.load(TokenizerFiles.write(dir, tokenizerJson, config))) {
            return tokenizer.sameAs(other) && other.sameAs(tokenizer);
        }
    }

    @Test
    void aCriticWithAnotherTokenizerIsRefusedNamingBothFolders() throws Exception {
        {
            Tokenizer actor = byteLevel, critic = sentencePiece;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Scorer.requireActorTokenizer(
                    "reward critic", "reward_critic_model_name_or_path", actor, "runs/sft/model", critic, "runs/rm/model"));
            String message = e.getMessage();
            assertTrue(message.startsWith("reward_critic_model_name_or_path: the reward critic (runs/rm/model)"), message);
            assertTrue(message.contains("the actor (runs/sft/model)") && message.contains(gpt2.toAbsolutePath().toString())
                    && message.contains(llama.toAbsolutePath().toString()), message);
            Scorer.requireActorTokenizer("reward critic", "reward_critic_model_name_or_path", actor, "a", actor, "b"); // accepted
        }
    }

    @Test
    void aScorerLoadsItsModelWithItsOwnTokenizer(@TempDir Path dir) throws Exception {
        Tokenizer tokenizer = sentencePiece;
        try (ScoreModel model = ScoreModel.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), ScoreType.COST, Device.cpu(), 3)) {
            ModelFiles.save(model, tokenizer, dir.resolve("cm"));
            try (Scorer cost = Scorer.load(dir.resolve("cm"), Device.cpu())) {
                assertTrue(cost.tokenizer().sameAs(tokenizer));
                assertEquals(ScoreType.COST, cost.model().scoreType());
                List<SftRecord> answers = List.of(new SftRecord("how can i grow tomatoes quickly ?", "sure ."));
                assertArrayEquals(new Scorer(model, tokenizer).endScores(answers, 1, 96), cost.endScores(answers, 1, 96));
            }
        }
    }
}
