package saferlhf.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import saferlhf.KitPaths;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.data.DataError;
import saferlhf.data.Located;
import saferlhf.data.PreferencePair;
import saferlhf.eval.PreferenceScores;
import saferlhf.model.CausalLM;
import saferlhf.model.ModelFiles;
import saferlhf.model.Nd;
import saferlhf.model.Normalizer;
import saferlhf.model.ScoreModel;
import saferlhf.model.ScoreType;
import saferlhf.model.Tokenizer;

/**
 * Reward and cost models, as the reference's {@code RewardTrainer} and {@code CostTrainer}: the higher and lower
 * responses of each pair are scored in one right-padded batch (2B rows), and
 * <pre>
 * reward, sequence-wise:  loss = -logsigmoid(r_higher - r_lower).mean()
 * cost,   sequence-wise:  loss = ( -logsigmoid(c_higher - c_lower)
 *                                  - logsigmoid(s_lower * c_lower) - logsigmoid(s_higher * c_higher) ).mean()
 * both:   + regularization * stack([lower, higher]).square().mean()
 * </pre>
 * where for costs "higher" is the unsafer response, "lower" the safer one, and s = +1 for a response labelled unsafe,
 * -1 for one labelled safe: safe responses are pushed to negative cost, unsafe ones to positive (<b>cost &gt; 0 means
 * unsafe</b>). The token-wise variants apply the same terms to the per-token scores from the first position where the
 * two sequences differ to the later of their last tokens, averaged per pair.
 *
 * <p>{@code model_name_or_path} is the SFT model (a fresh score head on its body, as the reference does) or a score
 * model of the same type, whose training then continues (later rounds of Safe RLHF).
 */
public final class ScoreTrainer implements TrainingLoop.Stage, AutoCloseable {
    private final ScoreModelConfig config;
    private final Tokenizer tokenizer;
    private final ScoreModel model;
    private final List<Pair> train = new ArrayList<>();
    private final List<PreferencePair> eval;

    /** A tokenized pair: higher and lower (better/worse, or unsafer/safer) and, for costs, their signs. */
    private record Pair(long[] higher, long[] lower, float higherSign, float lowerSign) {}

    public ScoreTrainer(ScoreModelConfig config) throws IOException {
        config.validate();
        this.config = config;
        try {
            // the tokenizer, config.json, the adapters' targets and the data first: bad input is refused before the model loads
            this.tokenizer = Models.tokenizer(config.tokenizer(), config.modelNameOrPath());
            Models.checkBase("model_name_or_path", config.modelNameOrPath(), tokenizer, "lora_", config.lora());
            for (Located<PreferencePair> pair : Data.locatedPreferences(config.trainDatasets(), config.seed())) train.add(tokenize(pair));
            Data.requireSome(train, "train_datasets", config.trainDatasets(), "pairs");
            this.eval = Data.preferences(config.evalDatasets(), config.seed());
            ScoreType type = config.isCost() ? ScoreType.COST : ScoreType.REWARD;
            Path start = KitPaths.resolve(config.modelNameOrPath());
            if (!config.modelNameOrPath().startsWith(Models.PRESET_PREFIX) && ModelFiles.metadata(start).scoreType() == type) {
                // continue training a score model of the same type (multi-round Safe RLHF), statistics included
                this.model = ModelFiles.loadScoreModel(start, saferlhf.model.Device.parse(config.device()));
            } else {
                try (CausalLM base = Models.causalLM(config.modelNameOrPath(), tokenizer, config.device(), config.seed(), config.lora() != null)) {
                    this.model = ScoreModel.fromCausalLM(base, type, config.seed());
                }
                model.useNormalizer(normalizerType(config.normalizerType()), config.normalizerMomentum());
            }
            // LoRA: adapters on the frozen body, the score head trains (PEFT's modules_to_save)
            if (config.lora() != null) model.attachLora(config.lora(), config.modelNameOrPath(), config.seed());
            model.setNormalize(config.normalizeScoreDuringTraining());
        } catch (Throwable e) {
            close(); // try-with-resources never sees a trainer whose constructor threw
            throw e;
        }
    }

    /** Trains (or resumes) a reward or cost model; the model is in {@code output_dir/model}. */
    public static TrainingLoop.Result train(ScoreModelConfig config) throws IOException {
        try (ScoreTrainer trainer = new ScoreTrainer(config)) {
            return TrainingLoop.run(config, trainer);
        }
    }

    private static Normalizer.Type normalizerType(String name) {
        return switch (name) {
            case "RunningMeanStd" -> Normalizer.Type.RUNNING_MEAN_STD;
            case "ExponentialMovingAverage" -> Normalizer.Type.EXPONENTIAL_MOVING_AVERAGE;
            default -> Normalizer.Type.IDENTITY;
        };
    }

    /** The pair as this stage trains it; a cost label the reference refuses is a {@link DataError} naming its file and line. */
    private Pair tokenize(Located<PreferencePair> located) {
        PreferencePair p = located.record();
        int higher, lower;
        float higherSign = 0, lowerSign = 0;
        if (config.isCost()) {
            lower = p.saferResponseId();
            higher = 1 - lower;
            // safety_sign = +1 safe, -1 unsafe; cost_sign = -safety_sign
            lowerSign = p.isResponseSafe(lower) ? -1f : 1f;
            higherSign = p.isResponseSafe(higher) ? -1f : 1f;
            if (!p.isResponseSafe(lower) && p.isResponseSafe(higher)) { // the reference's SafetyPreferenceDataset raises here
                throw new DataError(located.file(), located.line(), "safer_response_id", lower + " points at a response "
                        + "labelled unsafe while the other is labelled safe (a cost model needs the safer response to be the safe one)");
            }
        } else {
            higher = p.betterResponseId();
            lower = 1 - higher;
        }
        return new Pair(encode(p, higher), encode(p, lower), higherSign, lowerSign);
    }

    private long[] encode(PreferencePair p, int response) {
        long[] ids = tokenizer.encode(tokenizer.trainingText(p.prompt(), p.response(response)));
        return ids.length <= config.maxLength() ? ids : java.util.Arrays.copyOf(ids, config.maxLength());
    }

    /** The model folder of {@code config}'s run, training it first unless a finished run is already there. */
    public static Path ensureTrained(ScoreModelConfig config) throws IOException {
        return TrainingLoop.isComplete(config) ? TrainingLoop.modelFolder(config) : train(config).modelFolder();
    }

    @Override
    public String name() { return config.isCost() ? "cm" : "rm"; }

    @Override
    public int trainSize() { return train.size(); }

    @Override
    public TrainingLoop.Loss loss(int[] examples, NDManager step) {
        int n = examples.length;
        List<long[]> rows = new ArrayList<>(2 * n);
        float[] higherSigns = new float[n], lowerSigns = new float[n];
        for (int i = 0; i < n; i++) rows.add(train.get(examples[i]).higher());
        for (int i = 0; i < n; i++) {
            Pair pair = train.get(examples[i]);
            rows.add(pair.lower());
            higherSigns[i] = pair.higherSign();
            lowerSigns[i] = pair.lowerSign();
        }
        Tokenizer.Batch batch = tokenizer.pad(rows, config.maxLength(), Tokenizer.Padding.RIGHT);
        ScoreModel.Scores s = model.scores(batch.ids(step), batch.mask(step), true);
        NDArray endScores = s.endScores();                                  // (2n)
        NDArray higher = endScores.get("0:{}", n);                          // (n)
        NDArray lower = endScores.get("{}:", n);                            // (n)
        NDArray higherSign = step.create(higherSigns), lowerSign = step.create(lowerSigns); // (n)

        float regularization = (float) config.regularization();
        NDArray loss;
        if (config.lossType().equals("token-wise")) {
            NDArray window = step.create(tokenWindow(batch, n), new Shape(n, batch.length()));          // (n, L)
            NDArray higherTokens = s.scores().get("0:{}, :", n), lowerTokens = s.scores().get("{}:, :", n); // (n, L)
            loss = config.isCost()
                    ? PreferenceLosses.costTokenWise(higherTokens, lowerTokens, window, higherSign, lowerSign, regularization)
                    : PreferenceLosses.rewardTokenWise(higherTokens, lowerTokens, window, regularization);
        } else {
            loss = config.isCost()
                    ? PreferenceLosses.costSequenceWise(higher, lower, higherSign, lowerSign, regularization)
                    : PreferenceLosses.rewardSequenceWise(higher, lower, regularization);
        }
        NDArray accuracy = higher.gt(lower).toType(DataType.FLOAT32, false).mean();
        TrainingLoop.BatchSize size = TrainingLoop.BatchSize.of(rows, config.maxLength());
        if (!config.isCost()) return new TrainingLoop.Loss(loss, Map.of("train/accuracy", accuracy), size);
        // accuracy_sign: mean over both responses of (cost_sign * end_cost > 0)
        NDArray signAccuracy = NDArrays.concat(new NDList(higher.mul(higherSign), lower.mul(lowerSign)))
                .gt(Nd.scalar(step, 0f)).toType(DataType.FLOAT32, false).mean();
        return new TrainingLoop.Loss(loss, Map.of("train/accuracy", accuracy, "train/accuracy_sign", signAccuracy), size);
    }

    /**
     * The token-wise window of each pair: 1 from d_i (the first index where the higher and lower rows differ) to e_i
     * (the later of their last tokens).
     *
     * @return (n, L) float 0/1, row-major
     */
    private static float[] tokenWindow(Tokenizer.Batch batch, int n) {
        int length = batch.length();
        float[] window = new float[n * length];
        for (int i = 0; i < n; i++) {
            long[] a = batch.row(i), b = batch.row(n + i);
            int diverge = 0;
            while (diverge < length - 1 && a[diverge] == b[diverge]) diverge++;
            int end = Math.max(lastToken(batch, i), lastToken(batch, n + i));
            for (int t = diverge; t <= end; t++) window[i * length + t] = 1f;
        }
        return window;
    }

    private static int lastToken(Tokenizer.Batch batch, int row) {
        int last = 0;
        for (int t = 0; t < batch.length(); t++) if (batch.attentionMask()[row * batch.length() + t] == 1) last = t;
        return last;
    }

    @Override
    public Map<String, Double> evaluate() {
        if (eval.isEmpty()) return Map.of();
        PreferenceScores scores = PreferenceScores.score(model, tokenizer, eval, config.perDeviceEvalBatchSize(), config.maxLength());
        return scores.metrics(model.scoreType(), "eval/", new GroundTruthJudge());
    }

    @Override
    public Map<String, NDArray> parameters() { return model.trainableParameters(); }

    @Override
    public void saveModel(Path folder) throws IOException {
        ModelFiles.save(model, tokenizer, folder);
    }

    @Override
    public void restore(Path folder) throws IOException {
        ModelFiles.Metadata saved = ModelFiles.metadata(folder);
        ModelFiles.restore(model, folder);
        model.normalizer().setStatistics(saved.mean(), saved.var(), saved.count());
    }

    public ScoreModel model() { return model; }

    public Tokenizer tokenizer() { return tokenizer; }

    @Override
    public void close() { // null-safe: a constructor that fails half-way calls it
        if (model != null) model.close();
        if (tokenizer != null) tokenizer.close();
    }
}
