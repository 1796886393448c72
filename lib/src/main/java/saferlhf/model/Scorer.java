package saferlhf.model;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import saferlhf.data.SftRecord;
import saferlhf.util.AtomicFiles;
import saferlhf.util.InputError;

/**
 * A reward or cost model with its own tokenizer (the reference's {@code reward_model} + {@code reward_tokenizer}), and
 * the one way every stage turns what a policy wrote into the ids this model reads:
 *
 * <ul>
 *   <li>token ids of the policy ({@link #input(Tokenizer, Tokenizer.Batch)}, rollouts): the same batch when the two
 *       tokenizers are the same ({@link Tokenizer#sameAs}); otherwise the reference's {@code batch_retokenize}
 *       ({@code safe_rlhf/utils.py}, called in {@code post_rollout} and {@code eval_step} of its RL trainers): each row
 *       decoded by the policy's tokenizer with special tokens skipped (the tokens flagged special and the policy's BOS,
 *       EOS, pad and UNK, as {@code skip_special_tokens} does in Python), this model's EOS appended to the text, the text
 *       encoded by this model's tokenizer (whose post-processor adds its BOS, if it has one), right-padded with its pad
 *       token, not truncated;</li>
 *   <li>answers already decoded to text ({@link #input(List, int)}, evaluations): the reference's template, the
 *       response and this model's EOS, encoded by this model's tokenizer and right-padded: how the model was trained.</li>
 * </ul>
 *
 * <p>Critics are different: they are trained on the actor's ids in the rollout, so they must share the actor's tokenizer
 * ({@link #requireActorTokenizer}).
 *
 * <p>{@link #close()} closes both the model and the tokenizer; a Scorer built around a model and tokenizer owned
 * elsewhere is simply not closed.
 *
 * @param model     a reward or cost model (cost &gt; 0 means unsafe)
 * @param tokenizer the tokenizer the model was trained with
 */
public record Scorer(ScoreModel model, Tokenizer tokenizer) implements AutoCloseable {

    /** The score model in {@code folder} with the tokenizer it was trained with ({@link #tokenizer(String, Path)}). */
    public static Scorer load(Path folder, ai.djl.Device device) throws IOException {
        return load(null, folder, device);
    }

    /** As {@link #load(Path, ai.djl.Device)}, with the config key that named the folder (for errors; null: none). */
    public static Scorer load(String key, Path folder, ai.djl.Device device) throws IOException {
        Tokenizer tokenizer = tokenizer(key, folder);
        try {
            return new Scorer(ModelFiles.loadScoreModel(folder, device), tokenizer);
        } catch (IOException | RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    /**
     * The tokenizer a score model folder brings: its {@code tokenizer.json} (an adapter folder without one: its base's,
     * {@link ModelFiles#tokenizerFolder}). Never a stand-in: a score model reads text with the tokenizer it was trained
     * with, so a folder without one is an {@link InputError} naming {@code key} (when not null) and the folder.
     */
    public static Tokenizer tokenizer(String key, Path folder) throws IOException {
        if (!Files.isDirectory(AtomicFiles.existingFolder(folder))) ModelFiles.requireModelFolder(folder); // missing, a file
        Path tokenizerFolder = ModelFiles.tokenizerFolder(folder);
        if (!Files.isRegularFile(tokenizerFolder.resolve("tokenizer.json"))) {
            throw new InputError(folder, (key == null ? "" : key + ": ") + "no tokenizer.json: a reward or cost model scores "
                    + "text with the tokenizer it was trained with, which its folder must hold (a folder with only a SentencePiece "
                    + "tokenizer.model needs one: transformers writes it with AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR))");
        }
        return Tokenizer.load(tokenizerFolder);
    }

    /** Whether the policy's ids reach this model unchanged ({@link Tokenizer#sameAs}). */
    public boolean readsIdsOf(Tokenizer policy) {
        return policy.sameAs(tokenizer);
    }

    /**
     * The ids and mask this model reads for a batch of the policy's sequences.
     *
     * @param sequences (B, T) ids in {@code policy}'s vocabulary with their attention mask (any padding side)
     * @return {@code sequences} itself when the tokenizers are the same, else (B, T') re-tokenized and right-padded
     */
    public Tokenizer.Batch input(Tokenizer policy, Tokenizer.Batch sequences) {
        if (readsIdsOf(policy)) return sequences;
        // dest_tokenizer([text + dest_tokenizer.eos_token for text in src_tokenizer.batch_decode(input_ids, skip_special_tokens=True)],
        //                padding=LONGEST, truncation=DO_NOT_TRUNCATE)
        // transformers registers BOS, EOS, pad and UNK as special tokens, so skip_special_tokens drops them whatever the
        // file says; the Rust decoder drops the added tokens the file flags special: both are dropped here
        Set<Long> roles = new HashSet<>(List.of((long) policy.bosId(), (long) policy.eosId(),
                (long) policy.padId(), (long) policy.unkId())); // GPT-2's BOS, EOS and UNK are one token
        List<long[]> rows = new ArrayList<>(sequences.size());
        for (int b = 0; b < sequences.size(); b++) {
            long[] ids = Arrays.stream(sequences.row(b)).filter(t -> !roles.contains(t)).toArray();
            rows.add(tokenizer.encode(policy.decode(ids, true) + tokenizer.eosToken()));
        }
        return tokenizer.pad(rows, Integer.MAX_VALUE, Tokenizer.Padding.RIGHT);
    }

    /**
     * (prompt, response) texts as this model reads them: BOS (if its post-processor adds one) + template + response + EOS,
     * right-padded, each row truncated to its first {@code maxLength} ids.
     */
    public Tokenizer.Batch input(List<SftRecord> answers, int maxLength) {
        List<long[]> rows = new ArrayList<>(answers.size());
        for (SftRecord a : answers) rows.add(tokenizer.encode(tokenizer.trainingText(a.prompt(), a.response())));
        return tokenizer.pad(rows, maxLength, Tokenizer.Padding.RIGHT);
    }

    /** End scores (B) of a batch of this model's ids (its arrays live in a sub-manager closed on return). */
    public float[] endScores(Tokenizer.Batch input) {
        try (NDManager step = model.manager().newSubManager()) {
            return model.scores(input.ids(step), input.mask(step), false).endScores().toFloatArray(); // (B)
        }
    }

    /** End scores (B) of the policy's sequences: {@link #input(Tokenizer, Tokenizer.Batch)}, then the model. */
    public float[] endScores(Tokenizer policy, Tokenizer.Batch sequences) {
        return endScores(input(policy, sequences));
    }

    /** End scores of answers held as text, in batches of {@code batchSize}. For a cost model, cost &gt; 0 means unsafe. */
    public float[] endScores(List<SftRecord> answers, int batchSize, int maxLength) {
        float[] scores = new float[answers.size()];
        for (int from = 0; from < answers.size(); from += batchSize) {
            int to = Math.min(answers.size(), from + batchSize);
            System.arraycopy(endScores(input(answers.subList(from, to), maxLength)), 0, scores, from, to - from);
        }
        return scores;
    }

    /**
     * Refuses a critic whose tokenizer is not the actor's, as the reference's RL trainers do ("Reward critic tokenizer
     * must be the same as actor tokenizer"): a critic scores every token of the actor's own sequences, so re-tokenizing
     * would misalign its values with the actor's tokens.
     *
     * @param role        e.g. {@code "reward critic"}
     * @param key         the config key that chooses the critic, e.g. {@code reward_critic_model_name_or_path}
     * @param criticPath  the folder the critic comes from (the score model's when {@code key} is empty)
     * @param actorPath   the actor's folder (or preset)
     */
    public static void requireActorTokenizer(String role, String key, Tokenizer actor, String actorPath, Tokenizer critic,
                                             String criticPath) {
        if (actor.sameAs(critic)) return;
        throw new InputError(key + ": the " + role + " (" + criticPath + ") has another tokenizer than the actor ("
                + actorPath + "): " + critic.describe() + " vs " + actor.describe() + ". A critic reads the actor's token ids, "
                + "so it must use the actor's tokenizer, as in the reference; set " + key + " to a folder with the actor's "
                + "tokenizer: the actor's own (a fresh value head on its body) or a score model trained with that tokenizer (the "
                + "reward and cost models themselves may keep theirs: they read re-tokenized text)");
    }

    @Override
    public void close() {
        model.close();
        tokenizer.close();
    }
}
