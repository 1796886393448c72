package saferlhf.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.data.DataRecord;
import saferlhf.data.DataReader;
import saferlhf.data.DialogueRecord;
import saferlhf.data.PromptRecord;
import saferlhf.eval.JudgeReport;
import saferlhf.eval.PolicySamples;
import saferlhf.model.CausalLM;
import saferlhf.model.Generation;
import saferlhf.model.ModelFiles;
import saferlhf.model.Tokenizer;

/**
 * Supervised fine-tuning, as the reference's {@code SupervisedFinetuneTrainer}: the text is
 * {@code BEGINNING OF CONVERSATION: USER: {prompt} ASSISTANT:{response}</s>} with BOS, right-padded; the labels copy the
 * input ids with the prompt tokens (and padding) ignored, and the loss is the mean negative log-likelihood of the
 * response tokens (EOS included) over the micro-batch. Dialogues ({@link DialogueRecord}) continue the text with
 * {@code USER: {turn} ASSISTANT:{answer}</s>} per exchange; every user segment is ignored and every answer trained
 * ({@link Tokenizer#encodeDialogue}). Single-turn and dialogue records mix freely.
 */
public final class SftTrainer implements TrainingLoop.Stage, AutoCloseable {
    private final SftConfig config;
    private final Tokenizer tokenizer;
    private final CausalLM model;
    private final List<Tokenizer.Sft> train = new ArrayList<>();
    private final List<Tokenizer.Sft> evalDemonstrations = new ArrayList<>();
    private final List<PromptRecord> evalPrompts = new ArrayList<>();

    public SftTrainer(SftConfig config) throws IOException {
        this.config = config;
        try {
            // the tokenizer, config.json, the adapters' targets and the data first: bad input is refused before the model loads
            this.tokenizer = Models.tokenizer(config.tokenizer(), config.modelNameOrPath());
            Models.checkBase("model_name_or_path", config.modelNameOrPath(), tokenizer, "lora_", config.lora());
            for (DialogueRecord r : Data.sft(config.trainDatasets(), config.seed())) {
                train.add(tokenizer.encodeDialogue(r, config.maxLength()));
            }
            Data.requireSome(train, "train_datasets", config.trainDatasets(), "records");
            for (DataRecord r : Data.load(config.evalDatasets(), config.seed())) {
                DialogueRecord demonstration = Data.demonstration(r);
                if (demonstration != null) evalDemonstrations.add(tokenizer.encodeDialogue(demonstration, config.maxLength()));
                else evalPrompts.add(DataReader.toPrompt(r));
            }
            this.model = Models.causalLM(config.modelNameOrPath(), tokenizer, config.device(), config.seed(), config.lora() != null);
            if (config.lora() != null) model.attachLora(config.lora(), config.modelNameOrPath(), config.seed());
        } catch (Throwable e) {
            close(); // try-with-resources never sees a trainer whose constructor threw
            throw e;
        }
    }

    /** Trains (or resumes) with {@code config} and returns how the run ended; the model is in {@code output_dir/model}. */
    public static TrainingLoop.Result train(SftConfig config) throws IOException {
        try (SftTrainer trainer = new SftTrainer(config)) {
            return TrainingLoop.run(config, trainer);
        }
    }

    /** The model folder of {@code config}'s run, training it first unless a finished run is already there. */
    public static Path ensureTrained(SftConfig config) throws IOException {
        return TrainingLoop.isComplete(config) ? TrainingLoop.modelFolder(config) : train(config).modelFolder();
    }

    @Override
    public String name() { return "sft"; }

    @Override
    public int trainSize() { return train.size(); }

    @Override
    public TrainingLoop.Loss loss(int[] examples, NDManager step) {
        List<Tokenizer.Sft> batch = new ArrayList<>();
        for (int i : examples) batch.add(train.get(i));
        return new TrainingLoop.Loss(responseNll(model, tokenizer, batch, config.maxLength(), step), Map.of(),
                TrainingLoop.BatchSize.of(batch.stream().map(Tokenizer.Sft::ids).toList(), config.maxLength()));
    }

    /**
     * Mean negative log-likelihood of the response tokens (also the PTX loss of PPO).
     * labels[b, t] = 1 when token t+1 of row b is trained (an assistant token, not prompt, user turn or padding): the
     * reference's IGNORE_INDEX masking, shifted as the causal-LM loss shifts it.
     */
    public static NDArray responseNll(CausalLM model, Tokenizer tokenizer, List<Tokenizer.Sft> examples, int maxLength,
                                      NDManager step) {
        List<long[]> rows = new ArrayList<>();
        for (Tokenizer.Sft e : examples) rows.add(e.ids());
        Tokenizer.Batch batch = tokenizer.pad(rows, maxLength, Tokenizer.Padding.RIGHT);
        int size = batch.size(), length = batch.length();
        float[] labels = new float[size * (length - 1)];
        for (int b = 0; b < size; b++) {
            boolean[] trained = examples.get(b).trained();
            for (int t = 0; t < length - 1; t++) labels[b * (length - 1) + t] = t + 1 < trained.length && trained[t + 1] ? 1f : 0f;
        }
        NDArray ids = batch.ids(step);                                         // (B, L)
        NDArray mask = batch.mask(step);                                       // (B, L)
        NDArray labelMask = step.create(labels, new Shape(size, length - 1));  // (B, L-1)
        NDArray logProbs = model.logProbs(ids, mask);                          // (B, L-1)
        return logProbs.mul(labelMask).sum().neg().div(labelMask.sum());      // ()
    }

    /**
     * {@code eval/loss} on evaluation demonstrations; on evaluation prompts, sampled responses (temperature 1, seeded)
     * read by BeaverWorld's
     * judge ({@code eval/unsafe_rate_harmful}, {@code eval/helpfulness_benign}, {@code eval/eos_rate}, ...).
     */
    @Override
    public Map<String, Double> evaluate() {
        Map<String, Double> metrics = new LinkedHashMap<>();
        if (!evalDemonstrations.isEmpty()) {
            double total = 0;
            int batches = 0;
            for (int from = 0; from < evalDemonstrations.size(); from += config.perDeviceEvalBatchSize()) {
                try (NDManager step = model.manager().newSubManager()) {
                    total += responseNll(model, tokenizer, evalDemonstrations.subList(from, Math.min(evalDemonstrations.size(),
                            from + config.perDeviceEvalBatchSize())), config.maxLength(), step).getFloat();
                    batches++;
                }
            }
            metrics.put("eval/loss", total / batches);
        }
        if (!evalPrompts.isEmpty()) {
            metrics.putAll(judgeMetrics(model, tokenizer, evalPrompts, config.evalMaxNewTokens(), config.seed(),
                    config.perDeviceEvalBatchSize(), config.maxLength()));
        }
        return metrics;
    }

    /**
     * A policy's sampled responses to evaluation prompts (temperature 1, seeded) read by BeaverWorld's judge:
     * {@code eval/unsafe_rate_harmful}, {@code eval/helpfulness_benign}, {@code eval/eos_rate}, ... (also DPO's).
     */
    static Map<String, Double> judgeMetrics(CausalLM model, Tokenizer tokenizer, List<PromptRecord> prompts, int maxNewTokens,
                                            long seed, int batchSize, int maxLength) {
        List<PolicySamples.Sample> samples = PolicySamples.generate(model, tokenizer, prompts,
                Generation.Config.sampling(maxNewTokens, seed), batchSize, maxLength);
        return JudgeReport.of(samples, new GroundTruthJudge()).metrics("eval/");
    }

    @Override
    public Map<String, NDArray> parameters() { return model.trainableParameters(); }

    @Override
    public void saveModel(Path folder) throws IOException {
        ModelFiles.save(model, tokenizer, folder);
    }

    @Override
    public void restore(Path folder) throws IOException {
        ModelFiles.restore(model, folder);
    }

    public CausalLM model() { return model; }

    public Tokenizer tokenizer() { return tokenizer; }

    @Override
    public void close() { // null-safe: a constructor that fails half-way calls it
        if (model != null) model.close();
        if (tokenizer != null) tokenizer.close();
    }
}
