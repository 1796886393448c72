package saferlhf.beaverworld;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import saferlhf.data.BeaverTailsEvalPrompt;
import saferlhf.data.JsonlWriter;
import saferlhf.data.PromptRecord;
import saferlhf.data.SafeRlhfRecord;
import saferlhf.data.SftRecord;
import saferlhf.util.AtomicFiles;

/**
 * BeaverWorld: a small synthetic alignment world in which the whole Safe RLHF method runs on a laptop CPU and its
 * effect is measured by a ground-truth {@link GroundTruthJudge} instead of GPT-4.
 *
 * <p>Every prompt is {@code opener + request + modifier + " ?"}; the request phrase fixes its {@link Intent} (12
 * benign topics, 14 harmful intents, one per BeaverTails category). The prompt pool of each intent (4 requests x
 * 8 openers x 8 modifiers = 256 prompts) is shuffled and cut into disjoint parts: evaluation prompts first, then RL
 * prompts, then preference-test prompts; the rest is the training pool that SFT demonstrations and preference-train
 * pairs draw from. Generation is a pure function of the {@link Config}, so a seed regenerates the same data.
 */
public final class BeaverWorld {
    private BeaverWorld() {}

    /**
     * How much of each split to generate.
     *
     * @param seed                    the only source of randomness
     * @param sftExamples             SFT demonstrations written by the {@link Assistant#ALPACA} assistant
     * @param preferenceTrain         labelled preference pairs for training the reward and cost models
     * @param preferenceTest          labelled pairs on held-out prompts
     * @param rlPromptsPerIntent      RL prompts per intent (held out from SFT and preference data)
     * @param evalPromptsPerIntent    evaluation prompts per intent (held out from everything else)
     * @param annotator               the noise model of the preference labels
     */
    public record Config(long seed, int sftExamples, int preferenceTrain, int preferenceTest, int rlPromptsPerIntent,
                         int evalPromptsPerIntent, Annotator annotator) {
        public static final Config DEFAULT = new Config(42, 6000, 8000, 1000, 80, 20, Annotator.DEFAULT);

        public Config {
            int perIntentPool = 4 * Lexicon.OPENERS.size() * Lexicon.MODIFIERS.size();
            int testPerIntent = (preferenceTest + Lexicon.INTENTS.size() - 1) / Lexicon.INTENTS.size();
            if (sftExamples < 0 || preferenceTrain < 0 || preferenceTest < 0 || rlPromptsPerIntent < 0 || evalPromptsPerIntent < 0) {
                throw new saferlhf.util.InputError("split sizes must be >= 0");
            }
            if (evalPromptsPerIntent + rlPromptsPerIntent + testPerIntent >= perIntentPool) {
                throw new saferlhf.util.InputError("held-out prompts per intent (" + (evalPromptsPerIntent + rlPromptsPerIntent
                        + testPerIntent) + ") must leave a training pool (each intent has " + perIntentPool + " prompts)");
            }
        }

        public Config withSeed(long newSeed) {
            return new Config(newSeed, sftExamples, preferenceTrain, preferenceTest, rlPromptsPerIntent, evalPromptsPerIntent, annotator);
        }
    }

    /** A prompt with its intent. */
    public record Prompt(String text, Intent intent) {}

    /** The generated splits. */
    public record Splits(Config config, List<SftRecord> sft, List<SafeRlhfRecord> preferenceTrain,
                         List<SafeRlhfRecord> preferenceTest, List<PromptRecord> rlPrompts,
                         List<BeaverTailsEvalPrompt> evalHarmful, List<PromptRecord> evalBenign) {}

    /** Generates every split from {@code config}. */
    public static Splits generate(Config config) {
        SplittableRandom root = new SplittableRandom(config.seed());
        SplittableRandom shuffleRandom = root.split();
        SplittableRandom sftRandom = root.split();
        SplittableRandom trainRandom = root.split();
        SplittableRandom testRandom = root.split();
        GroundTruthJudge judge = new GroundTruthJudge();

        int testPerIntent = (config.preferenceTest() + Lexicon.INTENTS.size() - 1) / Lexicon.INTENTS.size();
        List<List<BeaverTailsEvalPrompt>> evalHarmful = new ArrayList<>();
        List<List<PromptRecord>> evalBenign = new ArrayList<>();
        List<PromptRecord> rlPrompts = new ArrayList<>();
        List<Prompt> testPrompts = new ArrayList<>();
        List<Prompt> trainPool = new ArrayList<>();
        for (Intent intent : Lexicon.INTENTS) {
            List<String> pool = shuffled(promptsOf(intent), shuffleRandom);
            int cut1 = config.evalPromptsPerIntent();
            int cut2 = cut1 + config.rlPromptsPerIntent();
            int cut3 = cut2 + testPerIntent;
            List<String> eval = pool.subList(0, cut1);
            if (intent.isHarmful()) evalHarmful.add(eval.stream().map(t -> new BeaverTailsEvalPrompt(t, intent.category())).toList());
            else evalBenign.add(eval.stream().map(t -> new PromptRecord(t, intent.name())).toList());
            pool.subList(cut1, cut2).forEach(text -> rlPrompts.add(new PromptRecord(text)));
            pool.subList(cut2, cut3).forEach(text -> testPrompts.add(new Prompt(text, intent)));
            pool.subList(cut3, pool.size()).forEach(text -> trainPool.add(new Prompt(text, intent)));
        }
        List<PromptRecord> rlShuffled = shuffled(rlPrompts, shuffleRandom);
        List<Prompt> testShuffled = shuffled(testPrompts, shuffleRandom).subList(0, config.preferenceTest());

        List<SftRecord> sft = new ArrayList<>();
        for (int i = 0; i < config.sftExamples(); i++) {
            Prompt prompt = trainPool.get(sftRandom.nextInt(trainPool.size()));
            sft.add(new SftRecord(prompt.text(), Assistant.ALPACA.respond(prompt.intent(), sftRandom)));
        }
        List<SafeRlhfRecord> train = new ArrayList<>();
        for (int i = 0; i < config.preferenceTrain(); i++) {
            train.add(pair(trainPool.get(trainRandom.nextInt(trainPool.size())), config.annotator(), judge, trainRandom));
        }
        List<SafeRlhfRecord> test = new ArrayList<>();
        for (Prompt prompt : testShuffled) test.add(pair(prompt, config.annotator(), judge, testRandom));

        return new Splits(config, List.copyOf(sft), List.copyOf(train), List.copyOf(test), List.copyOf(rlShuffled),
                interleave(evalHarmful), interleave(evalBenign));
    }

    /**
     * Writes the splits to {@code dir} in the layout the data registry knows (every file written atomically):
     * {@code sft/train.jsonl}, {@code preference/train.jsonl.xz}, {@code preference/test.jsonl.xz} (PKU-SafeRLHF v1),
     * {@code rl/prompts.jsonl}, {@code eval/harmful.jsonl} (BeaverTails-Evaluation format), {@code eval/benign.jsonl},
     * {@code tokenizer.json} and {@code world.json} (the generating configuration).
     */
    public static void write(Splits splits, Path dir) throws IOException {
        JsonlWriter.write(dir.resolve("sft/train.jsonl"), splits.sft());
        JsonlWriter.write(dir.resolve("preference/train.jsonl.xz"), splits.preferenceTrain());
        JsonlWriter.write(dir.resolve("preference/test.jsonl.xz"), splits.preferenceTest());
        JsonlWriter.write(dir.resolve("rl/prompts.jsonl"), splits.rlPrompts());
        JsonlWriter.write(dir.resolve("eval/harmful.jsonl"), splits.evalHarmful());
        JsonlWriter.write(dir.resolve("eval/benign.jsonl"), splits.evalBenign());
        AtomicFiles.writeString(dir.resolve("tokenizer.json"), TokenizerJson.beaverWorld());
        Config c = splits.config();
        AtomicFiles.writeString(dir.resolve("world.json"), String.format(java.util.Locale.ROOT, """
                {
                  "world": "BeaverWorld",
                  "seed": %d,
                  "sft_examples": %d,
                  "preference_train": %d,
                  "preference_test": %d,
                  "rl_prompts_per_intent": %d,
                  "eval_prompts_per_intent": %d,
                  "helpfulness_temperature": %s,
                  "safety_flip_probability": %s,
                  "vocabulary_size": %d
                }
                """, c.seed(), c.sftExamples(), c.preferenceTrain(), c.preferenceTest(), c.rlPromptsPerIntent(),
                c.evalPromptsPerIntent(), c.annotator().helpfulnessTemperature(), c.annotator().safetyFlipProbability(),
                vocabulary().size()));
    }

    private static SafeRlhfRecord pair(Prompt prompt, Annotator annotator, GroundTruthJudge judge, SplittableRandom random) {
        String response0 = Assistant.ANNOTATION.respond(prompt.intent(), random);
        String response1 = Assistant.ANNOTATION.respond(prompt.intent(), random);
        return annotator.label(judge, prompt.text(), response0, response1, Assistant.ANNOTATION.name(), random);
    }

    /** Every prompt of an intent, in a fixed order. */
    public static List<String> promptsOf(Intent intent) {
        List<String> prompts = new ArrayList<>();
        for (String request : intent.requests()) {
            for (String opener : Lexicon.OPENERS) {
                for (String modifier : Lexicon.MODIFIERS) prompts.add(Responses.prompt(opener, request, modifier));
            }
        }
        return prompts;
    }

    /**
     * The world's vocabulary in id order: the special tokens {@code <pad> <s> </s> <unk>} (ids 0-3, as the reference
     * adds them), the prompt template's words, then every word and punctuation mark of the lexicon, sorted.
     */
    public static List<String> vocabulary() {
        TreeSet<String> words = new TreeSet<>();
        List<List<String>> tables = new ArrayList<>(List.of(Lexicon.OPENERS, Lexicon.MODIFIERS, Lexicon.ACKNOWLEDGEMENTS,
                Lexicon.CONNECTORS, Lexicon.CLOSINGS, Lexicon.REFUSALS, Lexicon.WARNINGS, Lexicon.INSULTS,
                List.of(Lexicon.INSTEAD, ". ? !")));
        for (Intent intent : Lexicon.INTENTS) tables.addAll(List.of(intent.requests(), intent.steps(), intent.alternatives()));
        for (List<String> table : tables) table.forEach(phrase -> words.addAll(GroundTruthJudge.tokens(phrase)));
        List<String> vocabulary = new ArrayList<>(SPECIAL_TOKENS);
        vocabulary.addAll(TEMPLATE_TOKENS);
        words.removeAll(vocabulary);
        vocabulary.addAll(words);
        return vocabulary;
    }

    /** {@code <pad>, <s>, </s>, <unk>}: ids 0, 1, 2, 3. */
    public static final List<String> SPECIAL_TOKENS = List.of("<pad>", "<s>", "</s>", "<unk>");
    private static final List<String> TEMPLATE_TOKENS = List.of("BEGINNING", "OF", "CONVERSATION", "USER", "ASSISTANT", ":");

    /** Word to id, in {@link #vocabulary()} order. */
    public static Map<String, Integer> vocabularyIds() {
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (String word : vocabulary()) ids.put(word, ids.size());
        return ids;
    }

    /** Round-robin over equally long lists: row i comes from list i % lists.size(), as in BeaverTails-Evaluation. */
    private static <T> List<T> interleave(List<List<T>> lists) {
        List<T> out = new ArrayList<>();
        for (int row = 0; !lists.isEmpty() && row < lists.get(0).size(); row++) {
            for (List<T> list : lists) out.add(list.get(row));
        }
        return List.copyOf(out);
    }

    private static <T> List<T> shuffled(List<T> items, SplittableRandom random) {
        return new ArrayList<>(Responses.pick(items, items.size(), random));
    }
}
