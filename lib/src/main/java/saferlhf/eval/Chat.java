package saferlhf.eval;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import saferlhf.data.PromptTemplate;
import saferlhf.model.CausalLM;
import saferlhf.model.Generation;
import saferlhf.model.ModelFiles;
import saferlhf.model.Tokenizer;
import saferlhf.util.InputError;

/**
 * A conversation with one policy in the reference's template ({@code BEGINNING OF CONVERSATION: USER: ... ASSISTANT:
 * ...EOS USER: ... ASSISTANT:}), its answers streamed as they are sampled: what {@code saferlhf chat} and the web arena
 * run. The whole dialogue so far is the prompt; when it outgrows the prompt budget its oldest tokens are dropped, never
 * the closing {@code ASSISTANT:}. Answer n (from 0) is sampled with seed {@code sampling.seed() + n}, so a session is
 * reproducible and {@link #regenerate} draws a new answer.
 */
public final class Chat implements AutoCloseable {
    private final CausalLM policy;
    private final Tokenizer tokenizer;
    private final int context;
    private Generation.Config sampling;
    private int promptBudget;
    private final List<String> turns = new ArrayList<>(); // user, assistant, user, assistant, ...
    private int answersSampled;

    /**
     * @param sampling  how answers are drawn (its {@code maxNewTokens} caps an answer)
     * @param maxLength prompt and answer tokens together, cut to the model's context
     */
    public Chat(CausalLM policy, Tokenizer tokenizer, Generation.Config sampling, int maxLength) {
        this.policy = policy;
        this.tokenizer = tokenizer;
        this.context = Math.min(maxLength, policy.config().maxPositions());
        setSampling(sampling);
    }

    /** Answer tokens when none are asked for: 128, but at most half of the (cut) context, leaving the rest to the dialogue. */
    public static int defaultAnswerTokens(int context) { return Math.min(128, context / 2); }

    /** Prompt and answer tokens together: the max length, cut to the model's context. */
    public int context() { return context; }

    /** How later answers are drawn; the dialogue is kept. */
    public void setSampling(Generation.Config sampling) {
        if (context - sampling.maxNewTokens() < 2) {
            throw new InputError("an answer of up to " + sampling.maxNewTokens() + " tokens leaves no room for the prompt in "
                    + context + " tokens (the max length, cut to the model's context of " + policy.config().maxPositions() + ")");
        }
        this.sampling = sampling;
        this.promptBudget = context - sampling.maxNewTokens();
    }

    /** A chat with the policy in {@code folder} (a model or LoRA adapter folder), loaded on {@code device}. */
    public static Chat load(Path folder, ai.djl.Device device, Generation.Config sampling, int maxLength) throws IOException {
        Tokenizer tokenizer = Tokenizer.load(ModelFiles.tokenizerFolder(folder));
        CausalLM policy = null;
        try {
            policy = ModelFiles.loadCausalLM(folder, device);
            return new Chat(policy, tokenizer, sampling, maxLength);
        } catch (IOException | RuntimeException e) {
            if (policy != null) policy.close();
            tokenizer.close();
            throw e;
        }
    }

    /** The dialogue so far: user, assistant, user, assistant, ... */
    public List<String> turns() { return List.copyOf(turns); }

    /** The text the policy reads to answer {@code question} next: the dialogue so far, then the question's turn. */
    public String prompt(String question) {
        List<String> dialogue = new ArrayList<>(turns);
        dialogue.add(question);
        return PromptTemplate.format(dialogue, tokenizer.eosToken());
    }

    /** Answers {@code question}, passing each new piece of the answer's text to {@code onText} as it is sampled. */
    public String ask(String question, Consumer<String> onText) {
        if (question == null || question.isBlank()) throw new InputError("an empty question");
        String answer = answer(prompt(question), onText);
        turns.add(question);
        turns.add(answer);
        return answer;
    }

    /** Samples the last answer again (with the next seed), in place of the one given. */
    public String regenerate(Consumer<String> onText) {
        if (turns.isEmpty()) throw new InputError("nothing to regenerate: ask a question first");
        String question = turns.get(turns.size() - 2);
        turns.subList(turns.size() - 2, turns.size()).clear();
        return ask(question, onText);
    }

    /** Starts a new dialogue. */
    public void reset() { turns.clear(); }

    private String answer(String prompt, Consumer<String> onText) {
        return answer(policy, tokenizer, prompt, promptBudget, sampling.withSeed(sampling.seed() + answersSampled++), onText);
    }

    /**
     * One answer of {@code policy} to {@code prompt} (text in the template, cut to {@code promptBudget} ids from its oldest
     * end), each new piece of its text passed to {@code onText} as it is sampled: after each token the answer so far is
     * decoded again and what it adds is passed on (byte-level tokenizers can split a character over tokens; a piece is
     * held back until the decoded text extends what was passed on). An exception thrown by {@code onText} (a client gone)
     * stops the generation and propagates.
     */
    public static String answer(CausalLM policy, Tokenizer tokenizer, String prompt, int promptBudget, Generation.Config config,
                                Consumer<String> onText) {
        long[] ids = tokenizer.encodeKeepingEnd(prompt, promptBudget);
        Tokenizer.Batch batch = tokenizer.pad(List.of(ids), ids.length, Tokenizer.Padding.LEFT);
        Stream stream = new Stream(tokenizer, onText);
        Generation.generate(policy, batch, config, tokenizer.eosId(), tokenizer.padId(), tokenizer.unkId(), stream::step);
        return stream.finish();
    }

    /** Sampled ids in, text pieces out (see {@link #answer(CausalLM, Tokenizer, String, int, Generation.Config, Consumer)}). */
    private static final class Stream {
        private final Tokenizer tokenizer;
        private final Consumer<String> onText;
        private final List<Long> ids = new ArrayList<>();
        private String passedOn = "";
        private boolean ended;

        Stream(Tokenizer tokenizer, Consumer<String> onText) {
            this.tokenizer = tokenizer;
            this.onText = onText;
        }

        void step(long[] tokens) {
            if (ended || tokens[0] == tokenizer.padId()) return;
            if (tokens[0] == tokenizer.eosId()) {
                ended = true;
                return;
            }
            ids.add(tokens[0]);
            passOn(decoded());
        }

        String finish() {
            String text = decoded().strip();
            passOn(text);
            return text;
        }

        private String decoded() {
            return tokenizer.decode(ids.stream().mapToLong(Long::longValue).toArray(), true);
        }

        private void passOn(String text) {
            if (text.length() > passedOn.length() && text.startsWith(passedOn)) {
                if (onText != null) onText.accept(text.substring(passedOn.length()));
                passedOn = text;
            }
        }
    }

    @Override
    public void close() {
        policy.close();
        tokenizer.close();
    }
}
