package saferlhf.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import saferlhf.KitPaths;
import saferlhf.data.DataReader;
import saferlhf.data.DataRecord;
import saferlhf.data.PreferencePair;
import saferlhf.data.PromptRecord;
import saferlhf.model.CausalLM;
import saferlhf.model.ModelFiles;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;

/**
 * Direct Preference Optimization, as the reference's {@code DPOTrainer}: the policy starts from
 * {@code model_name_or_path} and a frozen copy of it is the reference model (with LoRA adapters, the policy itself with
 * its adapters switched off). Each pair's better and worse sequences
 * ({@code BEGINNING OF CONVERSATION: USER: {prompt} ASSISTANT:{response}</s>} with BOS) go through both models in one
 * right-padded batch of 2B rows, and
 * <pre>
 * log_ratio = sum over the tokens from diverge_index to the sequence's own end of (log p - log p_ref)
 * loss      = mean_i -logsigmoid(scale_coeff * (better_log_ratio_i - worse_log_ratio_i))
 * rewards   = scale_coeff * log_ratio     (train/better_sample_reward, train/worse_sample_reward, ...)
 * </pre>
 * where diverge_index is the first position at which the two sequences differ (the shared prompt does not count).
 *
 * <p>Deliberate differences: the reference slices the shifted log-probabilities {@code log_probs[i, d : end + 1]},
 * which leaves out the first differing token and, in every row shorter than the batch's longest, counts the log-prob
 * of the padding token after EOS; this trainer sums exactly the tokens d .. end of each row (columns d-1 .. end-1 of
 * the shifted log-probabilities), so padding never counts. Pairs whose two sequences do not differ within both (the
 * same response twice: the reference's PreferenceDataset raises an error on them) are left out, with a message.
 */
public final class DpoTrainer implements TrainingLoop.Stage, AutoCloseable {
    private final DpoConfig config;
    private final Tokenizer tokenizer;
    private final CausalLM model;
    private final CausalLM reference;
    private final List<Pair> train;
    private final List<Pair> evalPairs;
    private final List<PromptRecord> evalPrompts = new ArrayList<>();

    /**
     * A tokenized pair: the better and worse sequences, the first position where they differ (diverge_index) and its
     * loss's per-pair number: SafeDPO's margin, BFPO's target, MoCAN's label, 0 for DPO.
     */
    record Pair(long[] better, long[] worse, int divergeIndex, float offset) {
        static Pair of(long[] better, long[] worse) { return of(better, worse, 0f); }

        static Pair of(long[] better, long[] worse, float offset) {
            int shorter = Math.min(better.length, worse.length), diverge = 0;
            while (diverge < shorter && better[diverge] == worse[diverge]) diverge++;
            return new Pair(better, worse, diverge, offset);
        }

        /** Whether the sequences differ at a token both have (the reference asserts diverge_index <= both ends). */
        boolean diverges() { return divergeIndex < Math.min(better.length, worse.length); }
    }

    public DpoTrainer(DpoConfig config) throws IOException {
        config.validate();
        this.config = config;
        ai.djl.ndarray.types.DataType frozenDtype = saferlhf.model.Precision.frozenDtype("frozen_dtype", config.frozenDtype());
        try {
            // the tokenizer, config.json, the adapters' targets and the data first: bad input is refused before the models load
            this.tokenizer = Models.tokenizer(config.tokenizer(), config.modelNameOrPath());
            Models.checkBase("model_name_or_path", config.modelNameOrPath(), tokenizer, "lora_", config.lora());
            List<PreferencePair> trainRecords = Data.preferences(config.trainDatasets(), config.seed());
            Data.requireSome(trainRecords, "train_datasets", config.trainDatasets(), "pairs");
            List<PreferencePair> heldOut = new ArrayList<>();
            for (DataRecord r : Data.load(config.evalDatasets(), config.seed())) {
                if (r instanceof PreferencePair p) heldOut.add(p);
                else evalPrompts.add(DataReader.toPrompt(r));
            }
            this.model = Models.causalLM(config.modelNameOrPath(), tokenizer, config.device(), config.seed(), config.lora() != null);
            if (config.lora() != null) {
                model.attachLora(config.lora(), config.modelNameOrPath(), config.seed());
                this.reference = null; // the reference model is the policy with its adapters switched off
            } else if (!config.referenceModelNameOrPath().isBlank()) {
                try (CausalLM given = Models.causalLM(config.referenceModelNameOrPath(), tokenizer, config.device(), config.seed())) {
                    this.reference = given.frozenCopy(frozenDtype);
                }
            } else {
                this.reference = model.frozenCopy(frozenDtype);
            }
            float[][] labels = switch (config.algorithm()) {
                case "mocan", "c-dpo" -> scoreModelLabels(trainRecords, heldOut);
                case "pecan" -> pecanLabels(trainRecords, heldOut);
                default -> new float[2][];
            };
            this.train = tokenize(trainRecords, config.trainDatasets(), labels[0]);
            Data.requireSome(train, "train_datasets", config.trainDatasets(), "pairs");
            this.evalPairs = tokenize(heldOut, config.evalDatasets(), labels[1]);
        } catch (Throwable e) {
            close(); // try-with-resources never sees a trainer whose constructor threw
            throw e;
        }
    }

    /** Trains (or resumes) with {@code config} and returns how the run ended; the policy is in {@code output_dir/model}. */
    public static TrainingLoop.Result train(DpoConfig config) throws IOException {
        if (config.algorithm().equals("c-dpo") && config.dualIterations() > 0) return ConstrainedDpo.train(config);
        try (DpoTrainer trainer = new DpoTrainer(config)) {
            return TrainingLoop.run(config, trainer);
        }
    }

    /** The model folder of {@code config}'s run, training it first unless a finished run is already there. */
    public static Path ensureTrained(DpoConfig config) throws IOException {
        return TrainingLoop.isComplete(config) ? TrainingLoop.modelFolder(config) : train(config).modelFolder();
    }

    /**
     * The labels sigmoid(w(better) - w(worse)), w = r - lambda c, of the training and held-out pairs under the reward and
     * cost models: MoCAN's soft ones at lambda* of its dual on the starting policy's answers (this trainer's policy before
     * any step; {@link Mocan}), C-DPO's at this run's {@code lagrange_multiplier} (made hard in {@link #tokenize};
     * {@link ConstrainedDpo}).
     */
    private float[][] scoreModelLabels(List<PreferencePair> train, List<PreferencePair> heldOut) throws IOException {
        ai.djl.Device device = saferlhf.model.Device.parse(config.device());
        try (Scorer reward = Scorer.load("reward_model_name_or_path", KitPaths.resolve(config.rewardModelNameOrPath()), device);
             Scorer cost = Scorer.load("cost_model_name_or_path", KitPaths.resolve(config.costModelNameOrPath()), device)) {
            Mocan.Scores scores = Mocan.modelScores(reward, cost, tokenizer, config.perDeviceEvalBatchSize(), config.maxLength());
            double lambda = config.algorithm().equals("mocan")
                    ? Mocan.dual(config, model, tokenizer, scores, train.size() + heldOut.size()).lambda()
                    : config.lagrangeMultiplier();
            return new float[][] {Mocan.labels(train, scores, lambda), Mocan.labels(heldOut, scores, lambda)};
        }
    }

    /**
     * PeCAN's soft labels ({@link Pecan}): lambda* from the dual on the starting policy's answers scored by the
     * helpfulness and safety DPO policies' log-ratios to it, then the pairs labelled by the same implicit scores.
     */
    private float[][] pecanLabels(List<PreferencePair> train, List<PreferencePair> heldOut) throws IOException {
        try (CausalLM helpful = Models.causalLM(config.helpfulnessModelNameOrPath(), tokenizer, config.device(), config.seed());
             CausalLM safe = Models.causalLM(config.safetyModelNameOrPath(), tokenizer, config.device(), config.seed())) {
            Mocan.Scores scores = Pecan.scores(helpful, safe, this::referenceLogProbs, tokenizer, config.perDeviceEvalBatchSize(),
                    config.maxLength());
            com.fasterxml.jackson.databind.node.ObjectNode record = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
                    .put("labelled_pairs", train.size() + heldOut.size()).put("reward_model_calls", 0).put("cost_model_calls", 0);
            double beta = config.scaleCoeff(), b = config.safetyImprovement();
            double lambda = Mocan.dual(config, model, tokenizer, scores, 1.0, reference -> reference - b / beta, record).lambda();
            return new float[][] {Mocan.labels(train, scores, lambda), Mocan.labels(heldOut, scores, lambda)};
        }
    }

    /**
     * Better = {@code better_response_id} (helpfulness), as the reference's PreferenceDataset, or
     * {@code safer_response_id} ({@code preference=safety}); for {@code safe-dpo} SafeDPO's order, both-unsafe pairs
     * dropped. Non-diverging pairs left out.
     *
     * @param labels MoCAN's, PeCAN's or C-DPO's label of each record (null for the other algorithms): the soft label is
     *               the pair's loss offset; C-DPO's, made hard, orders the pair
     */
    private List<Pair> tokenize(List<PreferencePair> records, String datasets, float[] labels) {
        List<Pair> pairs = new ArrayList<>(records.size());
        int dropped = 0;
        for (int i = 0; i < records.size(); i++) {
            PreferencePair p = records.get(i);
            int better;
            float offset = labels == null || config.algorithm().equals("c-dpo") ? 0f : labels[i];
            if (config.algorithm().equals("safe-dpo")) {
                java.util.Optional<SafeDpo.Ordered> ordered = SafeDpo.order(p, config.safetyMargin());
                if (ordered.isEmpty()) {
                    dropped++;
                    continue;
                }
                better = ordered.get().winner();
                offset = (float) ordered.get().margin();
            } else {
                better = config.preference().equals("safety") ? p.saferResponseId() : p.betterResponseId();
                if (config.algorithm().equals("c-dpo") && labels[i] < 0.5f) better = 1 - better; // ordered by r - lambda c
                if (config.algorithm().equals("bfpo")) offset = (float) Bfpo.target(p, config.scaleCoeff());
            }
            Pair pair = Pair.of(tokenizer.encodeSft(p.prompt(), p.response(better), config.maxLength()).ids(),
                    tokenizer.encodeSft(p.prompt(), p.response(1 - better), config.maxLength()).ids(), offset);
            if (pair.diverges()) pairs.add(pair);
        }
        if (dropped > 0) {
            System.out.printf("safe-dpo: dropped %d of %d pairs of '%s' whose responses are both unsafe (SafeDPO's T)%n",
                    dropped, records.size(), datasets);
        }
        int kept = records.size() - dropped;
        if (pairs.size() < kept) {
            System.out.printf("%s: left out %d of %d pairs of '%s' whose better and worse sequences do not differ "
                    + "(the same response twice, or the same first %d tokens)%n", config.algorithm(), kept - pairs.size(), kept,
                    datasets, config.maxLength());
        }
        return pairs;
    }

    @Override
    public String name() { return config.algorithm(); }

    @Override
    public int trainSize() { return train.size(); }

    @Override
    public TrainingLoop.Loss loss(int[] examples, NDManager step) {
        List<Pair> batch = new ArrayList<>(examples.length);
        for (int i : examples) batch.add(train.get(i));
        PreferenceLosses.Dpo dpo = dpo(batch, step);
        List<long[]> rows = new ArrayList<>(2 * batch.size());
        for (Pair p : batch) rows.add(p.better());
        for (Pair p : batch) rows.add(p.worse());
        return new TrainingLoop.Loss(dpo.loss(), dpo.metrics("train/"), TrainingLoop.BatchSize.of(rows, config.maxLength()));
    }

    /** Both models on one right-padded batch of 2n rows (the better sequences, then the worse ones), and the DPO loss. */
    private PreferenceLosses.Dpo dpo(List<Pair> pairs, NDManager step) {
        int n = pairs.size();
        List<long[]> rows = new ArrayList<>(2 * n);
        for (Pair p : pairs) rows.add(p.better());
        for (Pair p : pairs) rows.add(p.worse());
        Tokenizer.Batch batch = tokenizer.pad(rows, config.maxLength(), Tokenizer.Padding.RIGHT);
        NDArray ids = batch.ids(step);                                                      // (2n, L)
        NDArray mask = batch.mask(step);                                                    // (2n, L)
        NDArray logProbs = model.logProbs(ids, mask);                                       // (2n, L-1)
        NDArray refLogProbs = referenceLogProbs(ids, mask).stopGradient();                  // (2n, L-1)
        NDArray window = step.create(window(pairs, batch.length()), new Shape(2L * n, batch.length() - 1)); // (2n, L-1)
        float[] offsets = new float[n];
        for (int i = 0; i < n; i++) offsets[i] = pairs.get(i).offset();
        NDArray perPair = step.create(offsets);                                             // (n)
        return switch (config.algorithm()) {
            case "bfpo" -> PreferenceLosses.bfpo(logProbs, refLogProbs, window, (float) config.scaleCoeff(), perPair);
            case "mocan", "pecan" -> PreferenceLosses.softDpo(logProbs, refLogProbs, window, (float) config.scaleCoeff(), perPair);
            default -> PreferenceLosses.dpo(logProbs, refLogProbs, window, (float) config.scaleCoeff(), perPair);
        };
    }

    /** The frozen reference model's log-probabilities: its copy, or with LoRA the policy with its adapters off. */
    private NDArray referenceLogProbs(NDArray ids, NDArray mask) {
        if (reference != null) return reference.logProbs(ids, mask);
        try (var off = model.lora().off()) {
            return model.logProbs(ids, mask);
        }
    }

    /**
     * The tokens each row sums: log_probs[:, t] scores token t+1, so tokens diverge_index .. end of a row are columns
     * diverge_index-1 .. length-2; padding columns stay 0.
     *
     * @return (2n, L-1) 0/1, row-major: rows 0..n-1 the better sequences, n..2n-1 the worse ones
     */
    static float[] window(List<Pair> pairs, int length) {
        int n = pairs.size(), width = length - 1;
        float[] window = new float[2 * n * width];
        for (int i = 0; i < n; i++) {
            Pair p = pairs.get(i);
            int from = Math.max(p.divergeIndex() - 1, 0);
            Arrays.fill(window, i * width + from, i * width + p.better().length - 1, 1f);
            Arrays.fill(window, (n + i) * width + from, (n + i) * width + p.worse().length - 1, 1f);
        }
        return window;
    }

    /**
     * On held-out pairs, the training metrics averaged over pairs ({@code eval/loss}, {@code eval/reward_accuracy},
     * {@code eval/reward_margin}, ...); on evaluation prompts, the judge's generation metrics, as for SFT.
     */
    @Override
    public Map<String, Double> evaluate() {
        Map<String, Double> metrics = new LinkedHashMap<>();
        for (int from = 0; from < evalPairs.size(); from += config.perDeviceEvalBatchSize()) {
            List<Pair> batch = evalPairs.subList(from, Math.min(evalPairs.size(), from + config.perDeviceEvalBatchSize()));
            try (NDManager step = model.manager().newSubManager()) {
                PreferenceLosses.Dpo dpo = dpo(batch, step);
                metrics.merge("eval/loss", (double) dpo.loss().getFloat() * batch.size(), Double::sum);
                dpo.metrics("eval/").forEach((name, value) -> metrics.merge(name, (double) value.getFloat() * batch.size(), Double::sum));
            }
        }
        metrics.replaceAll((name, sum) -> sum / evalPairs.size());
        if (!evalPrompts.isEmpty()) {
            metrics.putAll(SftTrainer.judgeMetrics(model, tokenizer, evalPrompts, config.evalMaxNewTokens(), config.seed(),
                    config.perDeviceEvalBatchSize(), config.maxLength()));
        }
        return metrics;
    }

    @Override
    public Map<String, NDArray> parameters() { return model.trainableParameters(); }

    @Override
    public void saveModel(Path folder) throws IOException {
        ModelFiles.save(model, tokenizer, folder);
    }

    /** Loads the policy's weights (the reference model stays the frozen starting model). */
    @Override
    public void restore(Path folder) throws IOException {
        ModelFiles.restore(model, folder);
    }

    public CausalLM model() { return model; }

    public Tokenizer tokenizer() { return tokenizer; }

    @Override
    public void close() { // null-safe: a constructor that fails half-way calls it
        if (model != null) model.close();
        if (reference != null) reference.close();
        if (tokenizer != null) tokenizer.close();
    }
}
