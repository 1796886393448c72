package saferlhf.rl;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import saferlhf.KitPaths;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.data.DialogueRecord;
import saferlhf.data.PromptRecord;
import saferlhf.eval.JudgeReport;
import saferlhf.eval.PolicySamples;
import saferlhf.eval.PreferenceScores;
import saferlhf.model.AdamW;
import saferlhf.model.CausalLM;
import saferlhf.model.Device;
import saferlhf.model.Generation;
import saferlhf.model.Lora;
import saferlhf.model.LrSchedule;
import saferlhf.model.ModelFiles;
import saferlhf.model.Nd;
import saferlhf.model.Precision;
import saferlhf.model.ScoreModel;
import saferlhf.model.ScoreType;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;
import saferlhf.train.Configs;
import saferlhf.train.Data;
import saferlhf.train.MetricsLog;
import saferlhf.train.Models;
import saferlhf.train.Progress;
import saferlhf.train.SftTrainer;
import saferlhf.train.TrainingLoop;
import saferlhf.util.AtomicFiles;

/**
 * PPO, PPO-Lagrangian (Safe RLHF), PPO with reward shaping and the group-relative PPO-Lagrangian ({@link GroupRelative}:
 * several answers per prompt, no critics, the KL a term of the loss), with the reference's mechanics: rollouts sampled from
 * the actor; reward and cost from the frozen reward and cost models at the last token (each model reads the actor's ids,
 * or the decoded text re-tokenized when its tokenizer is not the actor's: {@link Scorer}); reference log-probabilities
 * from a frozen copy of the SFT policy (with actor LoRA adapters, {@code actor_lora_rank}, from the actor with its
 * adapters switched off, which is the SFT policy without a second copy); the frozen models in {@code frozen_dtype}
 * (fp16 halves their memory, docs/gpu.md); critics initialised from the reward and cost models; the KL folded into the
 * per-token rewards and costs; GAE; the clipped surrogate and value losses; optional PTX; and, for PPO-Lagrangian,
 * lambda learned in log space from a window of episode costs. The equations are in {@link PpoMath}.
 *
 * <p>Each rl step (one micro-batch of a rollout) does, in the reference's order: the lambda update, the actor update
 * (plus PTX), the reward-critic update, the cost-critic update. A rollout is reused {@code update_iters} times.
 * Checkpoints are taken between rollouts; a resumed run matches an uninterrupted one.
 */
public final class PpoTrainer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PpoConfig config;
    private final Tokenizer tokenizer;
    private final CausalLM actor;
    private final CausalLM reference;       // null with actor adapters: the actor with its adapters off
    private final ScoreModel rewardModel;
    private final ScoreModel costModel;     // null for plain PPO
    private final Tokenizer rewardTokenizer; // the reward model's own (its folder's)
    private final Tokenizer costTokenizer;  // null for plain PPO
    private final Scorer reward;            // the reward model with its own tokenizer: reads re-tokenized text if not the actor's
    private final Scorer cost;              // null for plain PPO
    private final ScoreModel rewardCritic;  // null for the group-relative PPO-Lagrangian (no critics)
    private final ScoreModel costCritic;    // PPO-Lagrangian only
    private final List<PromptRecord> prompts;
    private final List<PromptRecord> evalPrompts;
    private final List<Tokenizer.Sft> ptx = new ArrayList<>();
    private final ArrayDeque<Double> episodeCosts = new ArrayDeque<>();
    private double logLambda;
    private final PidLagrangian pid;        // lambda_update=pid (PPO-Lagrangian only), else null: SGD on log_lambda
    private long globalStep;
    private double generationSeconds;      // the last rollout's sampling time (time/generation_seconds)

    /**
     * One rollout, row-major on the host: B sequences of length T (left-padded prompt of width S, then the response).
     * Per-token arrays have T-1 columns (position t predicts token t+1).
     */
    record Rollout(int size, int length, int promptLength, long[] ids, long[] mask, float[] logProbs, float[] refLogProbs,
                   float[] rewardValues, float[] costValues, float[] reward, float[] cost, int[] generatedLengths) {
        float[] row(float[] perToken, int b) {
            return java.util.Arrays.copyOfRange(perToken, b * (length - 1), (b + 1) * (length - 1));
        }

        /** attention_mask[b, 1:] as floats: the reference's sequence_mask. */
        float[] sequenceMask(int b) {
            float[] m = new float[length - 1];
            for (int t = 0; t < length - 1; t++) m[t] = mask[b * length + t + 1];
            return m;
        }
    }

    public PpoTrainer(PpoConfig config) throws IOException {
        config.validate();
        this.config = config;
        ai.djl.Device device = Device.parse(config.device());
        ai.djl.ndarray.types.DataType frozenDtype = Precision.frozenDtype("frozen_dtype", config.frozenDtype());
        try {
            // first what reads no weights, so that bad input is refused before any model takes memory: the actor's
            // tokenizer and each score model's own, the critics' tokenizers, config.json files, the adapters' targets, the data
            this.tokenizer = Models.tokenizer("", config.actorModelNameOrPath(), "actor_model_name_or_path");
            this.rewardTokenizer = Scorer.tokenizer("reward_model_name_or_path", KitPaths.resolve(config.rewardModelNameOrPath()));
            this.costTokenizer = config.usesCost()
                    ? Scorer.tokenizer("cost_model_name_or_path", KitPaths.resolve(config.costModelNameOrPath())) : null;
            if (!config.groupRelative()) {
                requireCritic("reward critic", "reward_critic_model_name_or_path", config.rewardCriticModelNameOrPath(),
                        config.rewardModelNameOrPath(), rewardTokenizer);
            }
            if (hasCostCritic()) {
                requireCritic("cost critic", "cost_critic_model_name_or_path", config.costCriticModelNameOrPath(),
                        config.costModelNameOrPath(), costTokenizer);
            }
            Models.checkBase("actor_model_name_or_path", config.actorModelNameOrPath(), tokenizer, "actor_lora_", config.actorLora());
            ModelFiles.check(KitPaths.resolve(config.rewardModelNameOrPath()));
            if (config.usesCost()) ModelFiles.check(KitPaths.resolve(config.costModelNameOrPath()));
            this.prompts = Data.prompts(config.trainDatasets(), config.seed());
            Data.requireSome(prompts, "train_datasets", config.trainDatasets(), "prompts");
            this.evalPrompts = Data.prompts(config.evalDatasets(), config.seed());
            for (DialogueRecord r : Data.sft(config.ptxDatasets(), config.seed())) {
                ptx.add(tokenizer.encodeDialogue(r, config.maxLength()));
            }

            // then the models; when one fails to load, close() frees those loaded before it
            this.actor = Models.causalLM(config.actorModelNameOrPath(), tokenizer, config.device(), config.seed(), config.actorLora() != null);
            if (config.actorLora() != null) {
                actor.attachLora(config.actorLora(), config.actorModelNameOrPath(), config.seed());
                this.reference = null; // the reference policy is the actor's frozen base: the actor with its adapters off
            } else {
                this.reference = actor.frozenCopy(frozenDtype);
            }
            this.rewardModel = frozen(ModelFiles.loadScoreModel(KitPaths.resolve(config.rewardModelNameOrPath()), device), config.normalizeReward());
            this.costModel = config.usesCost()
                    ? frozen(ModelFiles.loadScoreModel(KitPaths.resolve(config.costModelNameOrPath()), device), config.normalizeCost())
                    : null;
            this.reward = new Scorer(rewardModel, rewardTokenizer);
            this.cost = costModel == null ? null : new Scorer(costModel, costTokenizer);
            this.rewardCritic = config.groupRelative() ? null
                    : critic(config.rewardCriticModelNameOrPath(), config.rewardModelNameOrPath(), rewardModel, device, 1);
            this.costCritic = hasCostCritic()
                    ? critic(config.costCriticModelNameOrPath(), config.costModelNameOrPath(), costModel, device, 2) : null;
            // the reward and cost models in frozen_dtype, once the critics have copied their fp32 weights
            rewardModel.castFrozen(frozenDtype);
            if (costModel != null) costModel.castFrozen(frozenDtype);
        } catch (Throwable e) {
            close(); // try-with-resources never sees a trainer whose constructor threw
            throw e;
        }
        this.logLambda = Math.log(config.lambdaInit());
        this.pid = config.learnsLambda() && config.lambdaUpdate().equals("pid") ? PidLagrangian.of(config) : null;
    }

    /** PPO-Lagrangian's cost critic: the group-relative variant learns lambda without one. */
    private boolean hasCostCritic() {
        return config.learnsLambda() && !config.groupRelative();
    }

    private static ScoreModel frozen(ScoreModel model, boolean normalize) {
        model.setTrainable(false);
        model.setNormalize(normalize);
        return model;
    }

    /**
     * The checks of a critic that read no weights. The reference's: a critic (from its own folder, else from the score
     * model's) must have the actor's tokenizer, since it reads the actor's ids; the reward and cost models may have
     * others (their input is re-tokenized). A critic from a preset gets fresh weights sized to the actor's tokenizer.
     * With {@code critic_lora_rank}, the target modules must exist in the critic's architecture.
     *
     * @param scoreTokenizer the score model's own tokenizer (the critic's when it has no folder of its own)
     */
    private void requireCritic(String role, String key, String criticPath, String scoreModelPath, Tokenizer scoreTokenizer)
            throws IOException {
        boolean own = criticPath != null && !criticPath.isBlank();
        if (!own) {
            Scorer.requireActorTokenizer(role, key, tokenizer, config.actorModelNameOrPath(), scoreTokenizer,
                    scoreModelPath + " (" + key + " is empty, so the critic starts from this score model)");
        } else if (!criticPath.startsWith(Models.PRESET_PREFIX)) {
            try (Tokenizer critic = Models.tokenizer("", criticPath, key)) {
                Scorer.requireActorTokenizer(role, key, tokenizer, config.actorModelNameOrPath(), critic, criticPath);
            }
        }
        if (config.criticLora() != null) {
            Lora.requireTargets("critic_lora_target_modules", Models.architecture(own ? criticPath : scoreModelPath,
                    tokenizer.vocabSize()), config.criticLora());
        }
    }

    /**
     * A critic: a copy of the score model when no folder is given; else the folder's score model, or a fresh score head on
     * the folder's causal LM (the reference's {@code AutoModelForScore.from_pretrained} of a language model), for example
     * the actor's own folder when the score model's tokenizer is not the actor's. With {@code critic_lora_rank}, adapters
     * on its frozen body (its head trains).
     */
    private ScoreModel critic(String path, String scoreModelPath, ScoreModel scoreModel, ai.djl.Device device, long seedOffset)
            throws IOException {
        boolean own = path != null && !path.isBlank();
        ScoreModel critic;
        if (!own) {
            critic = scoreModel.copyAs(ScoreType.CRITIC);
        } else if (ModelFiles.metadata(KitPaths.resolve(path)).scoreType() == null) {
            try (CausalLM lm = Models.causalLM(path, tokenizer, config.device(), config.seed())) {
                critic = ScoreModel.fromCausalLM(lm, ScoreType.CRITIC, config.seed());
            }
        } else {
            try (ScoreModel loaded = ModelFiles.loadScoreModel(KitPaths.resolve(path), device)) {
                critic = loaded.copyAs(ScoreType.CRITIC);
            }
        }
        try {
            if (config.criticLora() != null) critic.attachLora(config.criticLora(), own ? path : scoreModelPath, config.seed() + seedOffset);
        } catch (RuntimeException e) {
            critic.close();
            throw e;
        }
        return critic;
    }

    /** Trains (or resumes) with {@code config}; the actor is saved to {@code output_dir/model}. */
    public static TrainingLoop.Result train(PpoConfig config) throws IOException {
        try (PpoTrainer trainer = new PpoTrainer(config)) {
            return trainer.run(Long.MAX_VALUE);
        }
    }

    /** The actor's folder of {@code config}'s run, training it first unless a finished run is already there. */
    public static Path ensureTrained(PpoConfig config) throws IOException {
        return isComplete(config) ? modelFolder(config) : train(config).modelFolder();
    }

    /** Whether {@code config}'s run already finished (its model folder is complete). */
    public static boolean isComplete(PpoConfig config) {
        return ModelFiles.isComplete(modelFolder(config));
    }

    /** The trained actor's folder of {@code config}'s run: {@code output_dir/model}. */
    public static Path modelFolder(PpoConfig config) {
        return KitPaths.resolve(config.outputDir()).resolve("model");
    }

    /** Current lambda (PPO-Lagrangian: learned; reward shaping: lambda_init; PPO: 0). */
    public double lambda() {
        if (config.algorithm().equals("ppo")) return 0.0;
        return pid != null ? pid.lambda() : Math.exp(logLambda);
    }

    /**
     * Runs (or resumes) training until rl step {@code stopAtStep} (rounded up to the end of a rollout), then writes a
     * checkpoint; a finished run also saves the actor and critics.
     */
    public TrainingLoop.Result run(long stopAtStep) throws IOException {
        long started = System.nanoTime();
        Path runDir = KitPaths.resolve(config.outputDir());
        Path checkpoint = runDir.resolve("checkpoint");
        Files.createDirectories(runDir);
        int stepsPerRollout = config.updateIters() * (config.rolloutSize() / config.perDeviceTrainBatchSize());
        int rolloutsPerEpoch = (prompts.size() + config.perDevicePromptBatchSize() - 1) / config.perDevicePromptBatchSize();
        long totalRollouts = (long) rolloutsPerEpoch * config.epochs();
        long totalSteps = totalRollouts * stepsPerRollout;
        LrSchedule actorSchedule = LrSchedule.of(LrSchedule.parse(config.actorLrSchedulerType()), config.actorLr(),
                (int) totalSteps, config.actorLrWarmupRatio());
        LrSchedule criticSchedule = LrSchedule.of(LrSchedule.parse(config.criticLrSchedulerType()), config.criticLr(),
                (int) totalSteps, config.criticLrWarmupRatio());

        Path existing = AtomicFiles.existingFolder(checkpoint);
        boolean resuming = Files.isRegularFile(existing.resolve("rl_state.json"));
        if (resuming) restoreModels(existing);
        Configs.save(config, runDir.resolve("arguments.json"));
        Engine.getInstance().setRandomSeed((int) config.seed());

        Map<String, Double> lastEval = Map.of();
        try (AdamW actorOptimizer = new AdamW(actor.trainableParameters(), AdamW.Config.reference(config.actorWeightDecay()));
             AdamW rewardCriticOptimizer = rewardCritic == null ? null
                     : new AdamW(rewardCritic.trainableParameters(), AdamW.Config.reference(config.criticWeightDecay()));
             AdamW costCriticOptimizer = costCritic == null ? null
                     : new AdamW(costCritic.trainableParameters(), AdamW.Config.reference(config.criticWeightDecay()))) {
            if (resuming) restoreState(existing, actorOptimizer, rewardCriticOptimizer, costCriticOptimizer);
            System.out.printf("%s: trainable parameters: actor %,d%s%s%n", config.algorithm(), Nd.count(actor.trainableParameters().values()),
                    rewardCritic == null ? " (no critics)" : String.format(", reward critic %,d", Nd.count(rewardCritic.trainableParameters().values())),
                    costCritic == null ? "" : String.format(", cost critic %,d", Nd.count(costCritic.trainableParameters().values())));
            try (MetricsLog metrics = new MetricsLog(runDir, resuming ? globalStep : -1)) {
                Progress progress = new Progress(config.algorithm(), totalSteps);
                for (long rollout = globalStep / stepsPerRollout; rollout < totalRollouts && globalStep < stopAtStep; rollout++) {
                    int epoch = (int) (rollout / rolloutsPerEpoch);
                    int[] order = TrainingLoop.permutation(prompts.size(), config.seed(), epoch);
                    int from = (int) (rollout % rolloutsPerEpoch) * config.perDevicePromptBatchSize();
                    List<PromptRecord> batch = new ArrayList<>();
                    for (int i = from; i < Math.min(order.length, from + config.perDevicePromptBatchSize()); i++) batch.add(prompts.get(order[i]));

                    long rolloutStarted = System.nanoTime();
                    Rollout data = rollout(batch, config.seed() * 1_000_003L + rollout);
                    double rolloutSeconds = (System.nanoTime() - rolloutStarted) / 1e9;
                    int stepsOfRollout = config.updateIters() * ((data.size() + config.perDeviceTrainBatchSize() - 1)
                            / config.perDeviceTrainBatchSize());
                    for (int iteration = 0; iteration < config.updateIters(); iteration++) {
                        for (int micro = 0; micro < data.size(); micro += config.perDeviceTrainBatchSize()) {
                            int to = Math.min(data.size(), micro + config.perDeviceTrainBatchSize());
                            long updateStarted = System.nanoTime();
                            Map<String, Double> logged = rlStep(data, micro, to, actorSchedule.lr((int) globalStep),
                                    criticSchedule.lr((int) globalStep), actorOptimizer, rewardCriticOptimizer, costCriticOptimizer);
                            logged.putAll(timings(data, micro, to, (System.nanoTime() - updateStarted) / 1e9,
                                    iteration == 0 && micro == 0 ? rolloutSeconds : Double.NaN, rolloutSeconds / stepsOfRollout));
                            globalStep++;
                            if (globalStep % config.evalInterval() == 0 || globalStep == totalSteps) {
                                lastEval = evaluate();
                                logged.putAll(lastEval);
                            }
                            metrics.log(globalStep, logged);
                            Map<String, Double> shown = new java.util.LinkedHashMap<>(Map.of("reward", logged.get("train/reward")));
                            if (logged.containsKey("train/cost")) shown.put("cost", logged.get("train/cost")); // plain PPO has none
                            if (logged.containsKey("train/lambda")) shown.put("lambda", logged.get("train/lambda"));
                            progress.update(globalStep, shown);
                        }
                    }
                    boolean epochEnd = (rollout + 1) % rolloutsPerEpoch == 0;
                    boolean saveDue = config.saveInterval() > 0
                            ? globalStep % config.saveInterval() < stepsPerRollout : epochEnd;
                    if (saveDue || globalStep >= stopAtStep) {
                        saveCheckpoint(checkpoint, actorOptimizer, rewardCriticOptimizer, costCriticOptimizer);
                        metrics.writeCsv();
                    }
                }
            }
        }
        boolean finished = globalStep >= totalSteps;
        Path modelFolder = runDir.resolve("model");
        if (finished) {
            ModelFiles.save(actor, tokenizer, modelFolder);
            if (rewardCritic != null) ModelFiles.save(rewardCritic, tokenizer, runDir.resolve("reward_critic"));
            if (costCritic != null) ModelFiles.save(costCritic, tokenizer, runDir.resolve("cost_critic"));
        }
        return new TrainingLoop.Result(globalStep, totalSteps, finished, lastEval, modelFolder, (System.nanoTime() - started) / 1e9);
    }

    /**
     * The {@code time/} metrics of an rl step, rollout and update apart. Every step: {@code time/update_seconds} (the
     * advantages, the actor's forward, backward and AdamW step, PTX included, and both critics'), {@code time/update_tokens}
     * (the non-padding tokens, prompt and response, of its micro-batch's sequences, each read by the actor and every
     * critic, forward and backward; PTX tokens are not counted), {@code time/update_tokens_per_second},
     * {@code time/sequences} and {@code time/padded_length} (the micro-batch's rows and the rollout's padded length), and
     * {@code time/step_seconds} (the update plus the rollout's wall time shared equally among the rl steps that use it,
     * so that the steps sum to the training time without evaluation and checkpoints). The first step of each rollout
     * also: {@code time/rollout_seconds} (generation, then the actor's, the reference's, the reward and cost models' and
     * the critics' forward passes over the sequences), {@code time/generation_seconds} (its sampling part),
     * {@code time/generated_tokens}, {@code time/rollout_tokens} (the non-padding tokens of all its sequences) and
     * {@code time/rollout_tokens_per_second}.
     */
    private Map<String, Double> timings(Rollout r, int from, int to, double updateSeconds, double rolloutSeconds,
                                        double rolloutShare) {
        Map<String, Double> timings = new LinkedHashMap<>();
        long updateTokens = 0;
        for (int i = from * r.length(); i < to * r.length(); i++) updateTokens += r.mask()[i];
        timings.put(TrainingLoop.TIME + "step_seconds", updateSeconds + rolloutShare);
        timings.put(TrainingLoop.TIME + "update_seconds", updateSeconds);
        timings.put(TrainingLoop.TIME + "update_tokens", (double) updateTokens);
        timings.put(TrainingLoop.TIME + "update_tokens_per_second", updateTokens / updateSeconds);
        timings.put(TrainingLoop.TIME + "sequences", (double) (to - from));
        timings.put(TrainingLoop.TIME + "padded_length", (double) r.length());
        if (!Double.isNaN(rolloutSeconds)) {
            long rolloutTokens = 0, generated = 0;
            for (long m : r.mask()) rolloutTokens += m;
            for (int g : r.generatedLengths()) generated += g;
            timings.put(TrainingLoop.TIME + "rollout_seconds", rolloutSeconds);
            timings.put(TrainingLoop.TIME + "generation_seconds", generationSeconds);
            timings.put(TrainingLoop.TIME + "generated_tokens", (double) generated);
            timings.put(TrainingLoop.TIME + "rollout_tokens", (double) rolloutTokens);
            timings.put(TrainingLoop.TIME + "rollout_tokens_per_second", rolloutTokens / rolloutSeconds);
        }
        return timings;
    }

    // ---- rollout (the reference's generate + post_rollout) ---------------------------------------------------------

    /** Samples responses for {@code batch} and scores them: log-probs, reference log-probs, reward, cost, values. */
    Rollout rollout(List<PromptRecord> batch, long seed) {
        List<long[]> rows = new ArrayList<>();
        for (PromptRecord p : batch) {
            long[] prompt = tokenizer.encodePrompt(p.prompt(), config.maxLength() - 1);
            for (int g = 0; g < config.groupSize(); g++) rows.add(prompt); // grpo-lag: a group of answers per prompt
        }
        Tokenizer.Batch promptBatch = tokenizer.pad(rows, config.maxLength() - 1, Tokenizer.Padding.LEFT);
        Generation.Config generation = config.generation(config.maxLength() - promptBatch.length(), seed);
        long generationStarted = System.nanoTime();
        Generation.Output out = Generation.generate(actor, promptBatch, generation, tokenizer);
        generationSeconds = (System.nanoTime() - generationStarted) / 1e9;
        int size = out.batch(), length = out.length();
        try (NDManager step = actor.manager().newSubManager()) {
            NDArray ids = out.sequences(step), mask = out.attentionMask(step);                     // (B, T)
            float[] logProbs = actor.logProbs(ids, mask).toFloatArray();                          // (B, T-1)
            float[] refLogProbs = referenceLogProbs(ids, mask);                                   // (B, T-1)
            Tokenizer.Batch sequences = new Tokenizer.Batch(size, length, out.sequences(), out.attentionMask());
            float[] reward = this.reward.endScores(tokenizer, sequences);                        // (B), re-tokenized if needed
            float[] cost = this.cost == null ? new float[size] : this.cost.endScores(tokenizer, sequences); // (B)
            float[] rewardValues = rewardCritic == null ? new float[size * (length - 1)] : values(rewardCritic, ids, mask); // (B, T-1)
            float[] costValues = costCritic == null ? new float[size * (length - 1)] : values(costCritic, ids, mask);
            int[] generated = new int[size];
            for (int b = 0; b < size; b++) {
                for (int t = out.promptLength(); t < length; t++) if (out.attentionMask()[b * length + t] == 1) generated[b]++;
                if (costModel != null) {
                    episodeCosts.addLast((double) cost[b]);
                    while (episodeCosts.size() > config.episodeCostWindowSize()) episodeCosts.removeFirst();
                }
            }
            return new Rollout(size, length, out.promptLength(), out.sequences(), out.attentionMask(), logProbs, refLogProbs,
                    rewardValues, costValues, reward, cost, generated);
        }
    }

    /** The frozen reference policy's log-probabilities: its copy, or the actor with its adapters off. */
    private float[] referenceLogProbs(NDArray ids, NDArray mask) {
        if (reference != null) return reference.logProbs(ids, mask).toFloatArray();
        try (var off = actor.lora().off()) {
            return actor.logProbs(ids, mask).toFloatArray();
        }
    }

    /** critic(...).scores[:, :-1]: a value for every position that predicts a token. */
    private static float[] values(ScoreModel critic, NDArray ids, NDArray mask) {
        NDArray scores = critic.scores(ids, mask, false).scores();                                // (B, T)
        return scores.get(new NDIndex(":, :-1")).toFloatArray();                                  // (B, T-1)
    }

    // ---- one rl step ---------------------------------------------------------------------------------------------

    private Map<String, Double> rlStep(Rollout r, int from, int to, double actorLr, double criticLr, AdamW actorOptimizer,
                                       AdamW rewardCriticOptimizer, AdamW costCriticOptimizer) {
        Map<String, Double> logged = new LinkedHashMap<>();
        // 1. the Lagrange multiplier, before the actor loss (the actor uses the new lambda)
        if (config.learnsLambda() && globalStep >= config.lambdaUpdateDelaySteps()) {
            // RePO: the mean violation E[max(0, c - d)] against 0; the others: the mean cost against d
            double episodeCost = episodeCosts.stream().mapToDouble(this::constrainedCost).average().orElse(0);
            double threshold = config.rectified() ? 0 : config.threshold();
            if (pid != null) pid.update(episodeCost);
            else logLambda = PpoMath.lagrangeMultiplierStep(logLambda, episodeCost, threshold, config.lambdaLr(), config.lambdaMax());
        }
        double lambda = lambda();

        // 2. per-token rewards and costs with the KL folded in, advantages and returns (no gradients: host arrays)
        int n = to - from, start = r.promptLength() - 1, width = r.length() - 1 - start;
        float[] advantages = new float[n * width], rewardReturns = new float[n * width], costReturns = new float[n * width];
        float[] responseMask = new float[n * width], oldLogProbs = new float[n * width], oldRefLogProbs = new float[n * width];
        float[] oldRewardValues = new float[n * width], oldCostValues = new float[n * width];
        double rewardWithKl = 0, costWithKl = 0, kl = 0;
        // the reference's masked_mean: each sequence's mean over its response tokens, then the mean over sequences
        double[] perSequenceMeans = new double[6]; // reward advantage, return, value; cost advantage, return, value
        if (config.groupRelative()) {
            // GRPO: each response's reward and cost standardised within its prompt's group, for every one of its tokens
            float[] rewardAdvantages = GroupRelative.normalizedInGroups(r.reward(), config.groupSize()); // (B)
            float[] costAdvantages = GroupRelative.normalizedInGroups(r.cost(), config.groupSize());     // (B)
            for (int i = 0; i < n; i++) {
                int b = from + i;
                float[] mask = r.sequenceMask(b), logProbs = r.row(r.logProbs(), b), refLogProbs = r.row(r.refLogProbs(), b);
                float advantage = PpoMath.combinedAdvantage(rewardAdvantages[b], costAdvantages[b], lambda);
                for (int j = 0; j < width; j++) {
                    int t = start + j, k = i * width + j;
                    responseMask[k] = mask[t];
                    oldLogProbs[k] = logProbs[t];
                    oldRefLogProbs[k] = refLogProbs[t];
                    advantages[k] = advantage;
                    kl += (logProbs[t] - refLogProbs[t]) * mask[t];
                }
                perSequenceMeans[0] += rewardAdvantages[b] / (double) n;
                perSequenceMeans[3] += costAdvantages[b] / (double) n;
            }
        } else {
            for (int i = 0; i < n; i++) {
                double[] sums = new double[6];
                double maskCount = 0;
                int b = from + i;
                float[] mask = r.sequenceMask(b), logProbs = r.row(r.logProbs(), b), refLogProbs = r.row(r.refLogProbs(), b);
                double score = config.algorithm().equals("ppo-reward-shaping") ? r.reward()[b] - lambda * r.cost()[b] : r.reward()[b];
                float[] rewards = PpoMath.klRegularizedScores(score, logProbs, refLogProbs, mask, config.klCoeff(), config.clipRangeScore(), false);
                PpoMath.Gae rewardGae = PpoMath.gae(r.row(r.rewardValues(), b), rewards, mask, start);
                PpoMath.Gae costGae = null;
                float[] costs = null;
                if (config.learnsLambda()) {
                    costs = PpoMath.klRegularizedScores(constrainedCost(r.cost()[b]), logProbs, refLogProbs, mask, config.klCoeff(), config.clipRangeScore(), true);
                    costGae = PpoMath.gae(r.row(r.costValues(), b), costs, mask, start);
                }
                for (int j = 0; j < width; j++) {
                    int t = start + j, k = i * width + j;
                    float m = mask[t];
                    responseMask[k] = m;
                    oldLogProbs[k] = logProbs[t];
                    oldRewardValues[k] = r.rewardValues()[b * (r.length() - 1) + t];
                    oldCostValues[k] = r.costValues()[b * (r.length() - 1) + t];
                    rewardReturns[k] = rewardGae.returns()[j];
                    advantages[k] = costGae == null ? rewardGae.advantages()[j]
                            : PpoMath.combinedAdvantage(rewardGae.advantages()[j], costGae.advantages()[j], lambda);
                    rewardWithKl += rewards[t] * m;
                    kl += (logProbs[t] - refLogProbs[t]) * m;
                    sums[0] += rewardGae.advantages()[j] * m;
                    sums[1] += rewardGae.returns()[j] * m;
                    sums[2] += oldRewardValues[k] * m;
                    if (costGae != null) {
                        costReturns[k] = costGae.returns()[j];
                        costWithKl += costs[t] * m;
                        sums[3] += costGae.advantages()[j] * m;
                        sums[4] += costGae.returns()[j] * m;
                        sums[5] += oldCostValues[k] * m;
                    }
                    maskCount += m;
                }
                for (int q = 0; q < sums.length; q++) perSequenceMeans[q] += sums[q] / Math.max(1, maskCount) / n;
            }
        }

        // 3. the actor: clipped surrogate (+ PTX), one AdamW step
        Shape shape = new Shape(n, width);
        double actorLoss, ptxLoss = Double.NaN;
        boolean withPtx = !ptx.isEmpty() && config.ptxCoeff() > 0;
        try (NDManager step = actor.manager().newSubManager(); GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray ids = step.create(slice(r.ids(), r.length(), from, to), new Shape(n, r.length()));   // (n, T)
            NDArray mask = step.create(slice(r.mask(), r.length(), from, to), new Shape(n, r.length()));  // (n, T)
            NDArray logProbs = actor.logProbs(ids, mask).get(new NDIndex(":, {}:", start));              // (n, N)
            NDArray loss = config.groupRelative()
                    ? GroupRelative.actorLoss(logProbs, step.create(oldLogProbs, shape), step.create(oldRefLogProbs, shape),
                            step.create(advantages, shape), step.create(responseMask, shape), config.clipRangeRatio(), config.klCoeff())
                    : PpoMath.actorLoss(logProbs, step.create(oldLogProbs, shape), step.create(advantages, shape),
                            step.create(responseMask, shape), config.clipRangeRatio());                     // ()
            // with PTX the reference doubles gradient accumulation: both losses are halved into one update
            collector.backward(withPtx ? loss.mul(Nd.scalar(step, 0.5f)) : loss);
            actorLoss = requireFinite(loss.getFloat(), "train/actor_loss");
            if (withPtx) {
                NDArray ptxNll = ptxLoss(step);
                collector.backward(ptxNll.mul(Nd.scalar(step, (float) (0.5 * config.ptxCoeff()))));
                ptxLoss = requireFinite(ptxNll.getFloat(), "train/ptx_loss");
            }
        }
        Nd.clipGradNorm(actor.trainableParameters().values(), config.maxGradNorm());
        actorOptimizer.step(actorLr);

        // 4. the critics: clipped value loss against the returns
        double rewardCriticLoss = rewardCritic == null ? Double.NaN : criticStep(rewardCritic, rewardCriticOptimizer, r, from, to, start, oldRewardValues,
                rewardReturns, responseMask, criticLr, "train/reward_critic_loss");
        double costCriticLoss = costCritic == null ? Double.NaN : criticStep(costCritic, costCriticOptimizer, r, from, to, start,
                oldCostValues, costReturns, responseMask, criticLr, "train/cost_critic_loss");

        // 5. metrics, under the reference's names
        double meanReward = 0, meanCost = 0, meanLength = 0, maxLength = 0;
        for (int b = from; b < to; b++) {
            meanReward += r.reward()[b] / n;
            meanCost += r.cost()[b] / n;
            meanLength += r.generatedLengths()[b] / (double) n;
            maxLength = Math.max(maxLength, r.generatedLengths()[b]);
        }
        // reward shaping trains on r - lambda * c: the reference logs that as train/shaped_reward*
        boolean shaping = config.algorithm().equals("ppo-reward-shaping");
        String rewardName = shaping ? "train/shaped_reward" : "train/reward";
        logged.put("train/actor_loss", actorLoss);
        logged.put("train/reward", meanReward);
        if (shaping) logged.put("train/shaped_reward", meanReward - lambda * meanCost);
        logged.put(rewardName + "_advantage", perSequenceMeans[0]);
        if (rewardCritic != null) {
            logged.put("train/reward_critic_loss", rewardCriticLoss);
            logged.put(rewardName + "_with_kl_penalty", rewardWithKl / n);
            logged.put(rewardName + "_return", perSequenceMeans[1]);
            logged.put(rewardName + "_value", perSequenceMeans[2]);
        }
        if (costModel != null) {
            logged.put("train/cost", meanCost);
            logged.put("train/episode_cost", episodeCosts.stream().mapToDouble(Double::doubleValue).average().orElse(0));
            if (config.rectified()) {
                logged.put("train/episode_violation", episodeCosts.stream().mapToDouble(this::constrainedCost).average().orElse(0));
            }
        }
        if (config.learnsLambda()) {
            logged.put("train/lambda", lambda);
            logged.put("train/cost_advantage", perSequenceMeans[3]);
        } else if (shaping) {
            logged.put("train/lambda", lambda); // not in the reference's shaping logs: lambda is fixed there
        }
        if (costCritic != null) {
            logged.put("train/cost_critic_loss", costCriticLoss);
            logged.put("train/cost_with_kl_penalty", costWithKl / n);
            logged.put("train/cost_return", perSequenceMeans[4]);
            logged.put("train/cost_value", perSequenceMeans[5]);
        }
        logged.put("train/kl_divergence", kl / n);
        logged.put("train/actor_lr", actorLr);
        if (rewardCritic != null) logged.put("train/reward_critic_lr", criticLr);
        if (costCritic != null) logged.put("train/cost_critic_lr", criticLr);
        logged.put("train/mean_generated_length", meanLength);
        logged.put("train/max_generated_length", maxLength);
        if (withPtx) logged.put("train/ptx_loss", ptxLoss);
        return logged;
    }

    /** The cost the constraint holds down: RePO's rectified max(0, c - threshold) ({@link PpoMath#rectifiedCost}), else c. */
    private double constrainedCost(double cost) {
        return config.rectified() ? PpoMath.rectifiedCost(cost, config.threshold()) : cost;
    }

    private double criticStep(ScoreModel critic, AdamW optimizer, Rollout r, int from, int to, int start, float[] oldValues,
                              float[] returns, float[] responseMask, double lr, String name) {
        int n = to - from, width = r.length() - 1 - start;
        Shape shape = new Shape(n, width);
        double value;
        try (NDManager step = critic.manager().newSubManager(); GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray ids = step.create(slice(r.ids(), r.length(), from, to), new Shape(n, r.length()));   // (n, T)
            NDArray mask = step.create(slice(r.mask(), r.length(), from, to), new Shape(n, r.length()));  // (n, T)
            NDArray values = critic.scores(ids, mask, false).scores().get(new NDIndex(":, {}:-1", start)); // (n, N)
            NDArray loss = PpoMath.criticLoss(values, step.create(oldValues, shape), step.create(returns, shape),
                    step.create(responseMask, shape), config.clipRangeValue());                            // ()
            collector.backward(loss);
            value = requireFinite(loss.getFloat(), name);
        }
        Nd.clipGradNorm(critic.trainableParameters().values(), config.maxGradNorm());
        optimizer.step(lr);
        return value;
    }

    /** The actor's causal-LM loss on a PTX batch (cycled through the supervised data as the reference cycles it). */
    private NDArray ptxLoss(NDManager step) {
        List<Tokenizer.Sft> batch = new ArrayList<>();
        for (int i = 0; i < config.perDeviceTrainBatchSize(); i++) {
            batch.add(ptx.get((int) ((globalStep * config.perDeviceTrainBatchSize() + i) % ptx.size())));
        }
        return SftTrainer.responseNll(actor, tokenizer, batch, config.maxLength(), step);
    }

    private double requireFinite(double value, String name) {
        if (!Double.isFinite(value)) {
            throw new TrainingLoop.TrainingDiverged(config.algorithm() + ": step " + (globalStep + 1) + ": " + name + " is " + value
                    + " (lower the learning rates or kl_coeff, or resume from the last checkpoint)");
        }
        return value;
    }

    private static long[] slice(long[] rowMajor, int width, int from, int to) {
        return java.util.Arrays.copyOfRange(rowMajor, from * width, to * width);
    }

    // ---- evaluation -----------------------------------------------------------------------------------------------

    /**
     * {@code eval/reward} and {@code eval/cost} (mean reward and cost of sampled answers to the evaluation prompts) and
     * the ground-truth judge's metrics ({@code eval/unsafe_rate_harmful}, {@code eval/helpfulness_benign}, ...).
     */
    public Map<String, Double> evaluate() {
        Map<String, Double> metrics = new LinkedHashMap<>();
        if (evalPrompts.isEmpty()) return metrics;
        List<PolicySamples.Sample> samples = PolicySamples.generate(actor, tokenizer, evalPrompts,
                config.generation(config.maxLength() / 2, config.seed()), config.perDeviceEvalBatchSize(), config.maxLength() / 2);
        int batch = config.perDeviceEvalBatchSize();
        metrics.put("eval/reward", PreferenceScores.mean(PolicySamples.endScores(samples, tokenizer, reward, batch, config.maxLength())));
        if (cost != null) {
            metrics.put("eval/cost", PreferenceScores.mean(PolicySamples.endScores(samples, tokenizer, cost, batch, config.maxLength())));
        }
        metrics.putAll(JudgeReport.of(samples, new GroundTruthJudge()).metrics("eval/"));
        return metrics;
    }


    // ---- checkpoints ----------------------------------------------------------------------------------------------

    private void saveCheckpoint(Path checkpoint, AdamW actorOptimizer, AdamW rewardCriticOptimizer, AdamW costCriticOptimizer)
            throws IOException {
        Path temporary = AtomicFiles.temporaryFolderFor(checkpoint);
        try {
            ModelFiles.save(actor, tokenizer, temporary.resolve("actor"));
            actorOptimizer.save(temporary.resolve("actor_optimizer.safetensors"));
            if (rewardCritic != null) {
                ModelFiles.save(rewardCritic, tokenizer, temporary.resolve("reward_critic"));
                rewardCriticOptimizer.save(temporary.resolve("reward_critic_optimizer.safetensors"));
            }
            if (costCritic != null) {
                ModelFiles.save(costCritic, tokenizer, temporary.resolve("cost_critic"));
                costCriticOptimizer.save(temporary.resolve("cost_critic_optimizer.safetensors"));
            }
            Configs.save(config, temporary.resolve("arguments.json"));
            ObjectNode state = JSON.createObjectNode();
            state.put("global_step", globalStep);
            state.put("log_lambda", logLambda);
            if (pid != null) state.set("pid", pid.toJson());
            episodeCosts.forEach(state.putArray("episode_costs")::add);
            AtomicFiles.writeString(temporary.resolve("rl_state.json"), state.toPrettyString() + "\n");
            AtomicFiles.replaceFolder(temporary, checkpoint);
        } finally {
            AtomicFiles.deleteRecursively(temporary);
        }
    }

    private void restoreModels(Path checkpoint) throws IOException {
        Configs.requireSameAsSaved(config, checkpoint.resolve("arguments.json"));
        ModelFiles.restore(actor, checkpoint.resolve("actor"));
        if (rewardCritic != null) ModelFiles.restore(rewardCritic, checkpoint.resolve("reward_critic"));
        if (costCritic != null) ModelFiles.restore(costCritic, checkpoint.resolve("cost_critic"));
        JsonNode state = saferlhf.util.JsonFiles.readObject(checkpoint.resolve("rl_state.json"));
        globalStep = state.get("global_step").asLong();
        logLambda = state.get("log_lambda").asDouble();
        if (pid != null) pid.restore(state.get("pid"));
        episodeCosts.clear();
        state.path("episode_costs").forEach(c -> episodeCosts.addLast(c.asDouble()));
        System.out.println(config.algorithm() + ": resuming from " + checkpoint + " at step " + globalStep);
    }

    private void restoreState(Path checkpoint, AdamW actorOptimizer, AdamW rewardCriticOptimizer, AdamW costCriticOptimizer)
            throws IOException {
        actorOptimizer.load(checkpoint.resolve("actor_optimizer.safetensors"));
        if (rewardCriticOptimizer != null) rewardCriticOptimizer.load(checkpoint.resolve("reward_critic_optimizer.safetensors"));
        if (costCriticOptimizer != null) costCriticOptimizer.load(checkpoint.resolve("cost_critic_optimizer.safetensors"));
    }

    public CausalLM actor() { return actor; }

    public Tokenizer tokenizer() { return tokenizer; }

    /** Closes every model and tokenizer; null-safe, since a constructor that fails half-way calls it. */
    @Override
    public void close() {
        if (actor != null) actor.close();
        if (reference != null) reference.close();
        if (rewardModel != null) rewardModel.close();
        if (costModel != null) costModel.close();
        if (rewardCritic != null) rewardCritic.close();
        if (costCritic != null) costCritic.close();
        if (tokenizer != null) tokenizer.close();
        if (rewardTokenizer != null) rewardTokenizer.close();
        if (costTokenizer != null) costTokenizer.close();
    }
}
