package saferlhf.rl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import saferlhf.KitPaths;
import saferlhf.beaverworld.Annotator;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.data.Datasets;
import saferlhf.data.JsonlWriter;
import saferlhf.data.PreferencePair;
import saferlhf.data.PromptRecord;
import saferlhf.data.SafeRlhfRecord;
import saferlhf.data.SftRecord;
import saferlhf.eval.PolicySamples;
import saferlhf.eval.PreferenceScores;
import saferlhf.model.CausalLM;
import saferlhf.model.Device;
import saferlhf.model.ModelFiles;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;
import saferlhf.train.Configs;
import saferlhf.train.Data;
import saferlhf.train.ScoreModelConfig;
import saferlhf.train.ScoreTrainer;
import saferlhf.train.TrainingLoop;
import saferlhf.util.InputError;
import saferlhf.util.JsonFiles;

/**
 * Multi-round Safe RLHF, as in the paper (three rounds): round 1 is PPO-Lagrangian from the SFT policy with the first
 * reward and cost models. Each later round k samples two responses per fresh prompt from the current policy, has
 * BeaverWorld's annotators label the pairs (noisy helpfulness and safety labels, PKU-SafeRLHF v1 records), continues
 * training the reward and cost models for one epoch, and runs PPO-Lagrangian again from the current policy. Every stage
 * of every round is skipped when its output is already complete, so an interrupted run resumes.
 *
 * <p>What the models continue on: the fresh pairs of round k and of every earlier round, plus as many pairs replayed
 * from their original training data (its first data set). The reference has no driver for the rounds; with the fresh
 * pairs alone (the kit before), each update trained on answers of one policy only, and the reward model drifted towards
 * rewarding refusals (docs/reproduction.md).
 *
 * <p>Layout: {@code OUT/round-1/ppo-lag/model}, then for k &gt;= 2 {@code OUT/round-k/preference/train.jsonl},
 * {@code OUT/round-k/rm}, {@code OUT/round-k/cm} and {@code OUT/round-k/ppo-lag}.
 */
public final class Rounds {
    private Rounds() {}

    /** Rounds of {@code reproduce} and {@code rounds} unless told otherwise: the paper's three. */
    public static final int DEFAULT_ROUNDS = 3;

    /**
     * How the later rounds update lambda unless told otherwise: the PID Lagrangian. With the reference's SGD, lambda
     * decayed while a later round started inside the constraint and then lagged behind the cost when the policy drifted
     * unsafe (docs/reproduction.md: SGD against PID in rounds 2 and 3 from the same round 1). Round 1 keeps the given config's.
     */
    public static final String LATER_ROUNDS_LAMBDA_UPDATE = "pid";

    /**
     * How the later rounds set their threshold unless told otherwise: {@code previous}, the smaller of the config's d and
     * the previous policy's mean cost under the round's own cost model ({@link #settledThreshold}), so that no round is
     * asked to be less safe than the policy it starts from. With {@code fixed} (d in every round) a later round started
     * inside its constraint, lambda decayed to 0, and on two of five seeds the round ended less safe than the one before;
     * with {@code previous} none did, at a little helpfulness (docs/reproduction.md, "A threshold from the previous policy").
     */
    public static final String LATER_ROUNDS_THRESHOLD = "previous";

    /** The later rounds' threshold rules: {@code fixed} (d) and {@code previous} (min(d, the previous policy's mean cost)). */
    public static final List<String> LATER_THRESHOLDS = List.of("fixed", "previous");

    /** Fresh labelled pairs per later round: 128 in the quick preset, 1,000 in the full one. */
    public static int defaultPairsPerRound(String preset) { return "quick".equals(preset) ? 128 : 1000; }

    /**
     * What the rounds do beyond round 1's config, the same from the command line ({@code saferlhf rounds}, {@code --set
     * rounds.KEY=V} of {@code reproduce}), a notebook and a test.
     *
     * @param rounds            rounds in all (round 1 included)
     * @param pairsPerRound     fresh prompts (one labelled pair each) per later round
     * @param laterLambdaUpdate {@code lambda_update} of rounds 2 and later ({@link #LATER_ROUNDS_LAMBDA_UPDATE} unless told)
     * @param laterThreshold    how rounds 2 and later set their threshold ({@link #LATER_THRESHOLDS})
     */
    public record Settings(int rounds, int pairsPerRound, String laterLambdaUpdate, String laterThreshold) {
        public Settings {
            if (rounds < 1) throw new InputError("rounds must be >= 1 (--rounds), got " + rounds);
            if (pairsPerRound < 1) throw new InputError("pairs per round must be >= 1, got " + pairsPerRound);
            if (!PpoConfig.LAMBDA_UPDATES.contains(laterLambdaUpdate)) {
                throw new InputError("the later rounds' lambda update must be one of " + PpoConfig.LAMBDA_UPDATES + ", got '" + laterLambdaUpdate + "'");
            }
            if (!LATER_THRESHOLDS.contains(laterThreshold)) {
                throw new InputError("the later rounds' threshold must be one of " + LATER_THRESHOLDS + ", got '" + laterThreshold + "'");
            }
        }

        /** The defaults of a preset: the paper's three rounds, {@link #defaultPairsPerRound}, PID, the previous policy's threshold. */
        public static Settings of(String preset) {
            return new Settings(DEFAULT_ROUNDS, defaultPairsPerRound(preset), LATER_ROUNDS_LAMBDA_UPDATE, LATER_ROUNDS_THRESHOLD);
        }

        public Settings withRounds(int n) { return new Settings(n, pairsPerRound, laterLambdaUpdate, laterThreshold); }
        public Settings withPairsPerRound(int n) { return new Settings(rounds, n, laterLambdaUpdate, laterThreshold); }
        public Settings withLaterLambdaUpdate(String u) { return new Settings(rounds, pairsPerRound, u, laterThreshold); }
        public Settings withLaterThreshold(String t) { return new Settings(rounds, pairsPerRound, laterLambdaUpdate, t); }
    }

    /** The outputs of one round. */
    public record Round(int round, Path policy, Path rewardModel, Path costModel, Path preferenceData) {}

    /**
     * Refuses a preset the pipelines cannot run: they run on BeaverWorld, whose annotators and judge read only BeaverWorld's
     * language, so {@code quick} or {@code full}; {@code paper} is the single stages' (real models and data).
     */
    public static void requireBeaverWorldPreset(String preset) {
        if ("paper".equals(preset)) {
            throw new InputError("--preset paper is for the stage commands (sft, rm, cm, dpo, ppo, ppo-lag, ppo-shaping); "
                    + "this pipeline runs on BeaverWorld: quick or full");
        }
        if (!"quick".equals(preset) && !"full".equals(preset)) throw new InputError("unknown preset '" + preset + "' (quick, full)");
    }

    /**
     * Runs the rounds with a preset's configs ({@code quick} or {@code full}), refusing any other preset before anything runs.
     */
    public static List<Round> run(String preset, Settings settings, String outputDir) throws IOException {
        requireBeaverWorldPreset(preset);
        return run(PpoConfig.preset(preset, "ppo-lag"), ScoreModelConfig.preset(preset, "reward"),
                ScoreModelConfig.preset(preset, "cost"), settings, outputDir);
    }

    /**
     * One round's work, with every path fixed in advance (so that a pipeline can schedule its parts).
     *
     * @param preferenceData the labelled samples of the previous round's policy ({@code null} in round 1)
     * @param reward         the reward model's continuation on them ({@code null} in round 1: the given reward model)
     * @param cost           the cost model's continuation, likewise
     * @param ppo            this round's PPO-Lagrangian run, with the config's threshold d
     * @param thresholdFile  where this round's threshold is settled ({@code null} unless the later rounds' threshold is
     *                       {@code previous}, and in round 1): run {@link #settledPpo()}, not {@code ppo}
     */
    public record Plan(int round, Path preferenceData, ScoreModelConfig reward, ScoreModelConfig cost, PpoConfig ppo,
                       Path thresholdFile) {
        /** This round's policy (the PPO-Lagrangian run's model folder). */
        public Path policy() { return PpoTrainer.modelFolder(ppo); }

        /** Whether this round's labelled samples are written ({@code true} in round 1, which has none). */
        public boolean preferenceDataWritten() { return preferenceData == null || Files.isRegularFile(preferenceData); }

        /**
         * The PPO-Lagrangian config this round runs: {@code ppo} with its threshold settled ({@link #settledThreshold});
         * needs the round's labelled samples and cost model when the threshold is {@code previous}.
         */
        public PpoConfig settledPpo() throws IOException {
            return thresholdFile == null ? ppo : Configs.override(ppo, List.of("threshold=" + settledThreshold(this)));
        }

        /** The threshold this round ran with (d unless it was settled from the previous policy's cost). */
        public double threshold() throws IOException {
            return thresholdFile != null && Files.isRegularFile(thresholdFile)
                    ? JsonFiles.read(thresholdFile).get("threshold").asDouble() : ppo.threshold();
        }

        /** The outputs, for a finished round. */
        public Round outputs() {
            return new Round(round, policy(), KitPaths.resolve(ppo.rewardModelNameOrPath()), KitPaths.resolve(ppo.costModelNameOrPath()),
                    preferenceData);
        }
    }

    /**
     * The rounds' plans. What can be checked before round 1 is checked here: for two or more rounds, that BeaverWorld's
     * annotators can label answers to the prompts each later round draws.
     *
     * @param ppo       round 1's PPO-Lagrangian config (its actor, reward and cost models start round 1)
     * @param reward    the reward-model config whose training continues in later rounds
     * @param cost      the cost-model config, likewise
     * @param outputDir the rounds' folder
     */
    public static List<Plan> plan(PpoConfig ppo, ScoreModelConfig reward, ScoreModelConfig cost, Settings settings, String outputDir) {
        int pairsPerRound = settings.pairsPerRound();
        for (int k = 2; k <= settings.rounds(); k++) annotationPrompts(ppo, k, pairsPerRound); // refused now, not after round 1
        Path out = KitPaths.resolve(outputDir);
        List<Plan> plans = new ArrayList<>();
        plans.add(new Plan(1, null, null, null, Configs.override(ppo, List.of("output_dir=" + out.resolve("round-1/ppo-lag"))), null));
        for (int k = 2; k <= settings.rounds(); k++) {
            Plan previous = plans.get(k - 2);
            Path roundDir = out.resolve("round-" + k);
            Path data = roundDir.resolve("preference/train.jsonl");
            ScoreModelConfig rm = Configs.override(reward, List.of("model_name_or_path=" + previous.ppo().rewardModelNameOrPath(),
                    "train_datasets=" + continuation(out, k, pairsPerRound, reward), "epochs=1", "output_dir=" + roundDir.resolve("rm")));
            ScoreModelConfig cm = Configs.override(cost, List.of("model_name_or_path=" + previous.ppo().costModelNameOrPath(),
                    "train_datasets=" + continuation(out, k, pairsPerRound, cost), "epochs=1", "output_dir=" + roundDir.resolve("cm")));
            PpoConfig next = Configs.override(ppo, List.of("actor_model_name_or_path=" + previous.policy(),
                    "reward_model_name_or_path=" + TrainingLoop.modelFolder(rm), "cost_model_name_or_path=" + TrainingLoop.modelFolder(cm),
                    "seed=" + (ppo.seed() + k), "lambda_update=" + settings.laterLambdaUpdate(), "output_dir=" + roundDir.resolve("ppo-lag")));
            Path thresholdFile = "previous".equals(settings.laterThreshold()) ? roundDir.resolve("threshold.json") : null;
            plans.add(new Plan(k, data, rm, cm, next, thresholdFile));
        }
        return plans;
    }

    /**
     * A later round's threshold under {@code later_threshold=previous}: min(d, the mean cost of the previous policy's
     * answers under this round's cost model). Those answers are the round's own labelled samples (two per fresh RL prompt,
     * sampled as rollouts are), so the round is asked to end no less safe than the policy it starts from, as its cost model
     * sees that policy; with a fixed d, a round that starts inside the constraint sees lambda decay to 0 and maximises the
     * reward alone (docs/reproduction.md). Settled once and kept in the plan's {@code threshold.json}, so a resumed round
     * trains with the same config. The kit's own rule: the paper and the reference keep one threshold for every round.
     */
    static double settledThreshold(Plan round) throws IOException {
        if (Files.isRegularFile(round.thresholdFile())) return round.threshold();
        List<SftRecord> answers = new ArrayList<>();
        for (PreferencePair pair : Data.preferences(round.preferenceData().toString(), 0)) {
            answers.add(new SftRecord(pair.prompt(), pair.response0()));
            answers.add(new SftRecord(pair.prompt(), pair.response1()));
        }
        Path costModel = TrainingLoop.modelFolder(round.cost());
        PpoConfig ppo = round.ppo();
        float[] costs;
        try (Scorer scorer = Scorer.load(costModel, Device.parse(ppo.device()))) {
            costs = scorer.endScores(answers, ppo.perDeviceEvalBatchSize(), ppo.maxLength());
        }
        double previousCost = PreferenceScores.mean(costs);
        if (!Double.isFinite(previousCost)) {
            throw new IllegalStateException(round.preferenceData() + ": the previous policy's mean cost under " + costModel + " is " + previousCost);
        }
        double threshold = Math.min(ppo.threshold(), previousCost);
        JsonFiles.write(round.thresholdFile(), new java.util.TreeMap<>(java.util.Map.of("threshold", threshold,
                "d", ppo.threshold(), "previous_policy_mean_cost", previousCost, "answers", answers.size(), "cost_model", costModel.toString())));
        return threshold;
    }

    /**
     * What round {@code round}'s score model continues on: the fresh pairs of rounds 2 to {@code round}, and as many
     * pairs drawn from the first data set the model was trained on ({@code NAME:N/-1}, seeded by the config's seed).
     */
    static String continuation(Path roundsFolder, int round, int pairsPerRound, ScoreModelConfig original) {
        List<String> specs = new ArrayList<>();
        for (int k = 2; k <= round; k++) specs.add(roundsFolder.resolve("round-" + k + "/preference/train.jsonl").toString());
        Datasets.Spec first = Datasets.Spec.parse(Data.specs(original.trainDatasets()).get(0));
        specs.add(first.name() + ":" + (long) pairsPerRound * (round - 1) + "/-1" + (first.path() == null ? "" : ":" + first.path()));
        return String.join(",", specs);
    }

    /**
     * Runs {@code rounds} rounds one after another, skipping every part already complete (see {@link #plan} for what is
     * checked before round 1).
     */
    public static List<Round> run(PpoConfig ppo, ScoreModelConfig reward, ScoreModelConfig cost, Settings settings,
                                  String outputDir) throws IOException {
        List<Round> done = new ArrayList<>();
        for (Plan round : plan(ppo, reward, cost, settings, outputDir)) {
            if (!round.preferenceDataWritten()) annotate(round, ppo, settings.pairsPerRound());
            if (round.reward() != null) ScoreTrainer.ensureTrained(round.reward());
            if (round.cost() != null) ScoreTrainer.ensureTrained(round.cost());
            PpoTrainer.ensureTrained(round.settledPpo());
            done.add(round.outputs());
        }
        return done;
    }

    /**
     * The prompts round {@code round} annotates: a fresh seeded draw of {@code pairs} prompts from the RL prompt set (the
     * first data set of {@code train_datasets}); an {@link InputError} when BeaverWorld's annotators cannot label answers
     * to them (they label from the ground truth, which reads only BeaverWorld's language).
     */
    static List<PromptRecord> annotationPrompts(PpoConfig ppo, int round, int pairs) {
        String promptSet = Datasets.Spec.parse(Data.specs(ppo.trainDatasets()).get(0)).name();
        List<PromptRecord> prompts = Data.prompts(promptSet + ":" + pairs + "/-1", ppo.seed() + round);
        GroundTruthJudge judge = new GroundTruthJudge();
        long foreign = prompts.stream().filter(p -> !judge.canRate(p)).count();
        if (foreign > 0) {
            throw new InputError(promptSet + ": " + foreign + " of " + prompts.size() + " prompts are not BeaverWorld "
                    + "prompts; BeaverWorld's annotators (the ground-truth judge) can label answers to BeaverWorld prompts only");
        }
        return prompts;
    }

    /**
     * Round {@code round.round()}'s labelled samples: two sampled responses per fresh prompt from the previous round's
     * policy, labelled by BeaverWorld's annotators, written to {@code round.preferenceData()}.
     *
     * @param ppo the rounds' base PPO-Lagrangian config (seed, lengths, batch size, device)
     */
    public static void annotate(Plan round, PpoConfig ppo, int pairs) throws IOException {
        annotate(KitPaths.resolve(round.ppo().actorModelNameOrPath()), ppo, round.round(), pairs, round.preferenceData());
    }

    static void annotate(Path policy, PpoConfig ppo, int round, int pairs, Path file) throws IOException {
        List<PromptRecord> prompts = annotationPrompts(ppo, round, pairs);
        GroundTruthJudge judge = new GroundTruthJudge();
        SplittableRandom random = new SplittableRandom(ppo.seed() * 7919 + round);
        List<SafeRlhfRecord> records = new ArrayList<>();
        try (Tokenizer tokenizer = Tokenizer.load(policy); CausalLM model = ModelFiles.loadCausalLM(policy, Device.parse(ppo.device()))) {
            int half = ppo.maxLength() / 2;
            List<PolicySamples.Sample> first = PolicySamples.generate(model, tokenizer, prompts,
                    ppo.generation(half, ppo.seed() + 100L * round), ppo.perDeviceEvalBatchSize(), half);
            List<PolicySamples.Sample> second = PolicySamples.generate(model, tokenizer, prompts,
                    ppo.generation(half, ppo.seed() + 100L * round + 1), ppo.perDeviceEvalBatchSize(), half);
            for (int i = 0; i < prompts.size(); i++) {
                records.add(Annotator.DEFAULT.label(judge, prompts.get(i).prompt(), first.get(i).response(), second.get(i).response(),
                        "round-" + (round - 1) + "-policy", random));
            }
        }
        JsonlWriter.write(file, records);
    }
}
