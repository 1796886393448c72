package saferlhf.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import saferlhf.KitPaths;
import saferlhf.model.AdamW;
import saferlhf.model.LrSchedule;
import saferlhf.model.ModelFiles;
import saferlhf.model.Nd;
import saferlhf.util.AtomicFiles;

/**
 * The training loop every supervised-style stage shares (SFT, reward model, cost model, DPO), written out flat as in
 * nanoGPT: for each optimizer step, set the learning rate, accumulate {@code gradient_accumulation_steps}
 * micro-batches (forward, loss / accumulation, backward), clip the global gradient norm, take an AdamW step, log,
 * evaluate and checkpoint when due. A {@link Stage} supplies the model, its loss on a micro-batch and its evaluation.
 *
 * <p>The data order of epoch {@code e} is a permutation drawn from {@code seed} and {@code e} alone, and the model
 * has no dropout, so a run resumed from {@code checkpoint/} (weights, AdamW moments and step, stage state) ends with
 * the same weights as an uninterrupted one. A NaN or infinite loss stops training with a {@link TrainingDiverged}
 * naming the step.
 */
public final class TrainingLoop {
    private TrainingLoop() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a stage adds to the loop. */
    public interface Stage {
        /** Short name for the progress bar: {@code sft}, {@code rm}, {@code cm}. */
        String name();

        /** Training examples (micro-batches are index ranges of a permutation of them). */
        int trainSize();

        /**
         * The mean loss of a micro-batch of training examples, inside a gradient collector, with any metrics to log as
         * 0-d arrays (for example {@code train/accuracy}). Every array is created from {@code step}.
         */
        Loss loss(int[] examples, NDManager step);

        /** Metrics on the evaluation set under their logged names ({@code eval/accuracy}, ...); empty if none. */
        Map<String, Double> evaluate();

        /** The trainable parameters by name (after {@link #restore}, the same ones the optimizer was built on). */
        Map<String, NDArray> parameters();

        /** Writes the model folder (a Hugging Face layout model that later stages load). */
        void saveModel(Path folder) throws IOException;

        /** Loads the weights and any state saved by {@link #saveModel} back into the live model (resume). */
        void restore(Path folder) throws IOException;
    }

    /**
     * A micro-batch's loss (0-d), extra metrics (0-d arrays, averaged over the micro-batches of a step) and its size in
     * tokens for the {@code time/} metrics (null when the stage does not say: {@code time/tokens_per_second} is then left
     * out).
     */
    public record Loss(NDArray loss, Map<String, NDArray> metrics, BatchSize size) {
        public Loss(NDArray loss, Map<String, NDArray> metrics) { this(loss, metrics, null); }
    }

    /** A micro-batch's sequences: how many, their non-padding tokens, and the length they are padded to. */
    public record BatchSize(int sequences, long tokens, int paddedLength) {
        /** Of {@code rows} as {@link saferlhf.model.Tokenizer#pad} pads them: truncated at {@code maxLength}, padded to the longest. */
        public static BatchSize of(List<long[]> rows, int maxLength) {
            long tokens = 0;
            int padded = 0;
            for (long[] row : rows) {
                int length = Math.min(row.length, maxLength);
                tokens += length;
                padded = Math.max(padded, length);
            }
            return new BatchSize(rows.size(), tokens, padded);
        }
    }

    /**
     * The prefix of the timing metrics ({@code time/step_seconds}, {@code time/tokens_per_second}, ...): wall time and
     * throughput of each step, never a reference metric name; they differ from run to run (compare runs without them:
     * {@link MetricsLog#withoutTimings}).
     */
    public static final String TIME = "time/";

    /** Thrown when the loss becomes NaN or infinite. */
    public static final class TrainingDiverged extends RuntimeException {
        public TrainingDiverged(String message) { super(message); }
    }

    /** How a run ended. */
    public record Result(long steps, long totalSteps, boolean finished, Map<String, Double> lastEval, Path modelFolder,
                         double seconds) {}

    /** The trained model's folder of a run: {@code output_dir/model}. */
    public static Path modelFolder(TrainingArguments args) {
        return KitPaths.resolve(args.outputDir()).resolve("model");
    }

    /** Whether the run already finished (its model folder is complete), so a pipeline can skip it. */
    public static boolean isComplete(TrainingArguments args) {
        return ModelFiles.isComplete(modelFolder(args));
    }

    /** Called after every optimizer step with the step's logged metrics (live plots, memory checks). */
    public interface StepListener {
        void onStep(long step, Map<String, Double> metrics);
    }

    /** Runs (or resumes) the whole training. */
    public static Result run(TrainingArguments args, Stage stage) throws IOException {
        return run(args, stage, Long.MAX_VALUE);
    }

    /** As {@link #run(TrainingArguments, Stage, long, StepListener)} without a listener. */
    public static Result run(TrainingArguments args, Stage stage, long stopAtStep) throws IOException {
        return run(args, stage, stopAtStep, (step, metrics) -> { });
    }

    /**
     * Runs (or resumes) training until optimizer step {@code stopAtStep}, then writes a checkpoint and returns without
     * the final model: a deliberate interruption, for notebooks that train in slices and for resume tests.
     */
    public static Result run(TrainingArguments args, Stage stage, long stopAtStep, StepListener listener) throws IOException {
        args.validate();
        long started = System.nanoTime();
        Path runDir = KitPaths.resolve(args.outputDir());
        Path checkpoint = runDir.resolve("checkpoint");
        Files.createDirectories(runDir);

        int microBatchesPerEpoch = (stage.trainSize() + args.perDeviceTrainBatchSize() - 1) / args.perDeviceTrainBatchSize();
        int stepsPerEpoch = (microBatchesPerEpoch + args.gradientAccumulationSteps() - 1) / args.gradientAccumulationSteps();
        long totalSteps = (long) stepsPerEpoch * args.epochs();
        LrSchedule schedule = LrSchedule.of(LrSchedule.parse(args.lrSchedulerType()), args.lr(), (int) totalSteps,
                args.lrWarmupRatio());

        long resumedStep = 0;
        Path existing = AtomicFiles.existingFolder(checkpoint);
        if (Files.isRegularFile(existing.resolve("trainer_state.json"))) {
            Configs.requireSameAsSaved((Record) args, existing.resolve("arguments.json"));
            JsonNode state = saferlhf.util.JsonFiles.readObject(existing.resolve("trainer_state.json"));
            resumedStep = state.get("global_step").asLong();
            stage.restore(existing.resolve("model"));
            System.out.println(stage.name() + ": resuming from " + existing + " at step " + resumedStep + " of " + totalSteps);
        }
        Configs.save((Record) args, runDir.resolve("arguments.json"));
        Engine.getInstance().setRandomSeed((int) args.seed());
        System.out.printf("%s: %,d trainable parameters%n", stage.name(), Nd.count(stage.parameters().values()));

        Map<String, Double> lastEval = Map.of();
        long step = resumedStep;
        try (AdamW optimizer = new AdamW(stage.parameters(), AdamW.Config.reference(args.weightDecay()));
             MetricsLog metrics = new MetricsLog(runDir, resumedStep)) {
            if (resumedStep > 0) optimizer.load(existing.resolve("optimizer.safetensors"));
            Progress progress = new Progress(stage.name(), totalSteps);
            for (int epoch = (int) (step / stepsPerEpoch); epoch < args.epochs() && step < stopAtStep; epoch++) {
                int[] order = permutation(stage.trainSize(), args.seed(), epoch);
                for (int inEpoch = (int) (step - (long) epoch * stepsPerEpoch); inEpoch < stepsPerEpoch && step < stopAtStep; inEpoch++) {
                    long stepStarted = System.nanoTime();
                    double lr = schedule.lr((int) step);
                    Map<String, Double> logged = new LinkedHashMap<>();
                    int firstMicro = inEpoch * args.gradientAccumulationSteps();
                    int microBatches = Math.min(args.gradientAccumulationSteps(), microBatchesPerEpoch - firstMicro);
                    List<BatchSize> sizes = new java.util.ArrayList<>();
                    for (int micro = 0; micro < microBatches; micro++) {
                        int from = (firstMicro + micro) * args.perDeviceTrainBatchSize();
                        int[] examples = java.util.Arrays.copyOfRange(order, from,
                                Math.min(order.length, from + args.perDeviceTrainBatchSize()));
                        sizes.add(accumulate(stage, examples, microBatches, step + 1, logged));
                    }
                    double gradNorm = Nd.clipGradNorm(stage.parameters().values(), args.maxGradNorm());
                    optimizer.step(lr);
                    step++;
                    double stepSeconds = (System.nanoTime() - stepStarted) / 1e9;   // no evaluation, no checkpoint

                    logged.replaceAll((k, v) -> v / microBatches);
                    logged.put("train/lr", lr);
                    logged.put("train/grad_norm", gradNorm);
                    logged.put("train/epoch", epoch + (inEpoch + 1.0) / stepsPerEpoch);
                    logged.putAll(timings(stepSeconds, sizes));
                    boolean epochEnd = inEpoch == stepsPerEpoch - 1;
                    boolean evalDue = switch (args.evalStrategy()) {
                        case "steps" -> step % args.evalInterval() == 0 || step == totalSteps;
                        case "epoch" -> epochEnd;
                        default -> false;
                    };
                    if (evalDue) {
                        lastEval = stage.evaluate();
                        logged.putAll(lastEval);
                    }
                    metrics.log(step, logged);
                    listener.onStep(step, logged);
                    progress.update(step, Map.of("loss", logged.getOrDefault("train/loss", Double.NaN)));
                    boolean saveDue = args.saveInterval() > 0 ? step % args.saveInterval() == 0 : epochEnd;
                    if (saveDue || step == stopAtStep) {
                        saveCheckpoint(args, stage, optimizer, checkpoint, step);
                        metrics.writeCsv();
                    }
                }
            }
            boolean finished = step >= totalSteps;
            Path modelFolder = modelFolder(args);
            if (finished) {
                stage.saveModel(modelFolder);
                if (lastEval.isEmpty() && !args.evalStrategy().equals("no")) lastEval = stage.evaluate();
            }
            return new Result(step, totalSteps, finished, lastEval, modelFolder, (System.nanoTime() - started) / 1e9);
        }
    }

    /**
     * {@code time/step_seconds} (forward, backward, clipping and the AdamW step of every micro-batch: evaluation and
     * checkpoints are not in it); when the stage gives its batch sizes, {@code time/tokens} (the non-padding tokens of
     * the step's sequences), {@code time/tokens_per_second} (their quotient), {@code time/sequences} and
     * {@code time/padded_length} (the longest micro-batch's padded length).
     */
    static Map<String, Double> timings(double stepSeconds, List<BatchSize> sizes) {
        Map<String, Double> timings = new LinkedHashMap<>();
        timings.put(TIME + "step_seconds", stepSeconds);
        if (sizes.isEmpty() || sizes.stream().anyMatch(java.util.Objects::isNull)) return timings;
        long tokens = sizes.stream().mapToLong(BatchSize::tokens).sum();
        timings.put(TIME + "tokens", (double) tokens);
        timings.put(TIME + "tokens_per_second", tokens / stepSeconds);
        timings.put(TIME + "sequences", (double) sizes.stream().mapToInt(BatchSize::sequences).sum());
        timings.put(TIME + "padded_length", (double) sizes.stream().mapToInt(BatchSize::paddedLength).max().orElse(0));
        return timings;
    }

    /** One micro-batch: forward and loss, backward of loss / accumulation, metrics read back; returns its size (or null). */
    private static BatchSize accumulate(Stage stage, int[] examples, int accumulation, long step, Map<String, Double> logged) {
        try (NDManager scope = stage.parameters().values().iterator().next().getManager().newSubManager();
             GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            Loss loss = stage.loss(examples, scope);
            collector.backward(loss.loss().mul(Nd.scalar(scope, 1f / accumulation)));
            double value = loss.loss().getFloat();
            if (!Double.isFinite(value)) {
                throw new TrainingDiverged(stage.name() + ": step " + step + ": train/loss is " + value
                        + " (lower lr, check the data, or resume from the last checkpoint)");
            }
            logged.merge("train/loss", value, Double::sum);
            loss.metrics().forEach((name, metric) -> logged.merge(name, (double) metric.getFloat(), Double::sum));
            return loss.size();
        }
    }

    /** The order of training examples in an epoch: a Fisher-Yates permutation seeded by (seed, epoch). */
    public static int[] permutation(int n, long seed, int epoch) {
        SplittableRandom random = new SplittableRandom(seed * 1_000_003L + epoch);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
        return order;
    }

    private static void saveCheckpoint(TrainingArguments args, Stage stage, AdamW optimizer, Path checkpoint, long step)
            throws IOException {
        Path temporary = AtomicFiles.temporaryFolderFor(checkpoint);
        try {
            stage.saveModel(temporary.resolve("model"));
            Configs.save((Record) args, temporary.resolve("arguments.json"));
            optimizer.save(temporary.resolve("optimizer.safetensors"));
            ObjectNode trainerState = JSON.createObjectNode();
            trainerState.put("global_step", step);
            trainerState.put("adam_step", optimizer.step());
            AtomicFiles.writeString(temporary.resolve("trainer_state.json"), trainerState.toPrettyString() + "\n");
            AtomicFiles.replaceFolder(temporary, checkpoint);
        } finally {
            AtomicFiles.deleteRecursively(temporary);
        }
    }


}
