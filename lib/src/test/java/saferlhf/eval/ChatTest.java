package saferlhf.eval;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.data.PromptTemplate;
import saferlhf.model.Generation;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;
import saferlhf.train.Data;
import saferlhf.util.InputError;

/** A chat with one policy: streamed answers, the dialogue as the prompt, regenerate and reset; and what is said of an answer. */
class ChatTest {
    private static Path policy, reward, cost;
    private static final String QUESTION = "How do I bake bread?";

    @BeforeAll
    static void tinyModels(@TempDir Path dir) throws Exception {
        TinyModels models = TinyModels.write(dir);
        policy = models.policy();
        reward = models.reward();
        cost = models.cost();
    }

    @Test
    void answersStreamAsSampledAndTheDialogueIsThePrompt() throws Exception {
        try (Chat chat = Chat.load(policy, Device.cpu(), Generation.Config.sampling(12, 50, 7), 128)) {
            StringBuilder streamed = new StringBuilder();
            List<String> pieces = new java.util.ArrayList<>();
            String first = chat.ask(QUESTION, piece -> {
                streamed.append(piece);
                pieces.add(piece);
            });
            assertFalse(first.isEmpty());
            assertTrue(pieces.size() > 1, "streamed in pieces: " + pieces);
            assertEquals(first, streamed.toString().strip());
            assertEquals(List.of(QUESTION, first), chat.turns());
            // the next prompt is the whole dialogue in the reference's template, ending on the assistant's turn
            String eos;
            try (Tokenizer tokenizer = Tokenizer.load(policy)) { eos = tokenizer.eosToken(); }
            assertEquals(PromptTemplate.format(List.of(QUESTION, first, "And then?"), eos), chat.prompt("And then?"));
            assertEquals("BEGINNING OF CONVERSATION: USER: " + QUESTION + " ASSISTANT:" + first + eos + "USER: And then? ASSISTANT:",
                    chat.prompt("And then?"));
            String second = chat.ask("And then?", null);
            assertEquals(4, chat.turns().size());
            // regenerate: the last question answered again, in place of the last answer
            String again = chat.regenerate(null);
            assertEquals(List.of(QUESTION, first, "And then?", again), chat.turns());
            assertNotNull(second);
            chat.reset();
            assertTrue(chat.turns().isEmpty());
            assertThrows(InputError.class, () -> chat.regenerate(null));
            assertThrows(InputError.class, () -> chat.ask("  ", null));
        }
    }

    @Test
    void answerNTakesSeedPlusN() throws Exception {
        String regenerated, fresh;
        try (Chat chat = Chat.load(policy, Device.cpu(), Generation.Config.sampling(12, 50, 7), 128)) {
            chat.ask(QUESTION, null);
            regenerated = chat.regenerate(null);
        }
        try (Chat chat = Chat.load(policy, Device.cpu(), Generation.Config.sampling(12, 50, 8), 128)) {
            fresh = chat.ask(QUESTION, null);
        }
        assertEquals(fresh, regenerated);
    }

    @Test
    void aLongDialogueLosesItsOldestTokensNotItsAssistantTurn() throws Exception {
        try (Tokenizer tokenizer = Tokenizer.load(policy)) {
            String dialogue = PromptTemplate.format(List.of(QUESTION.repeat(10), "Mix flour and water.", QUESTION), tokenizer.eosToken());
            long[] ids = tokenizer.encodeKeepingEnd(dialogue, 20);
            assertEquals(20, ids.length);
            String assistantTurn = tokenizer.decode(tokenizer.encode("ASSISTANT:", false), true);
            assertTrue(tokenizer.decode(ids, true).strip().endsWith(assistantTurn), tokenizer.decode(ids, true));
            long[] all = tokenizer.encode(dialogue);
            int head = all[0] == tokenizer.bosId() ? 1 : 0;
            assertArrayEquals(java.util.Arrays.copyOfRange(all, all.length - (20 - head), all.length),
                    java.util.Arrays.copyOfRange(ids, head, 20), "the newest ids are kept (after BOS, when there is one)");
        }
        // 40 tokens in all, 8 for the answer: the dialogue outgrows 32 within a few turns and goes on
        try (Chat chat = Chat.load(policy, Device.cpu(), Generation.Config.sampling(8, 50, 7), 40)) {
            for (int turn = 0; turn < 4; turn++) chat.ask(QUESTION, null);
            assertEquals(8, chat.turns().size());
        }
        assertThrows(InputError.class, () -> Chat.load(policy, Device.cpu(), Generation.Config.sampling(200, 50, 7), 100));
    }

    @Test
    void anAssessmentSaysOnlyWhatCanBeSaid() throws Exception {
        String harmful = Data.prompts("BeaverWorld-Eval/harmful", 42).get(0).prompt();
        GroundTruthJudge judge = new GroundTruthJudge();
        try (Scorer rm = Scorer.load(reward, Device.cpu()); Scorer cm = Scorer.load(cost, Device.cpu())) {
            Assessment a = Assessment.of(harmful, "I cannot help with that.", rm, cm, judge, 128);
            assertNotNull(a.reward());
            assertNotNull(a.cost());
            assertEquals(Judge.PromptKind.HARMFUL, a.rating().promptKind());
            assertTrue(a.rating().safe(), a.describe());
            assertTrue(a.describe().startsWith("reward "), a.describe());
            assertTrue(a.describe().contains("| judge: harmful request, safe answer"), a.describe());
            // the same score model reads the same text the same way
            assertEquals(a.cost(), Assessment.of(harmful, "I cannot help with that.", null, cm, null, 128).cost());
        }
        Assessment foreign = Assessment.of("What is the capital of France?", "Paris.", null, null, judge, 128);
        assertNull(foreign.reward());
        assertNull(foreign.cost());
        assertNull(foreign.rating());
        assertEquals("judge: cannot rate this question", foreign.describe());
    }
}
