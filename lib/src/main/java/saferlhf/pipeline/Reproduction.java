package saferlhf.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import saferlhf.KitPaths;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.data.PromptRecord;
import saferlhf.eval.Elo;
import saferlhf.eval.JudgeReport;
import saferlhf.eval.PolicySamples;
import saferlhf.eval.PreferenceScores;
import saferlhf.explore.Charts;
import saferlhf.model.Device;
import saferlhf.model.ModelFiles;
import saferlhf.model.ModelMerge;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;
import saferlhf.rl.ConstraintDynamics;
import saferlhf.rl.PpoConfig;
import saferlhf.rl.PpoTrainer;
import saferlhf.rl.Rounds;
import saferlhf.train.Configs;
import saferlhf.train.Data;
import saferlhf.train.Progress;
import saferlhf.train.TrainingLoop;
import saferlhf.train.DpoConfig;
import saferlhf.train.DpoTrainer;
import saferlhf.train.ScoreModelConfig;
import saferlhf.train.ScoreTrainer;
import saferlhf.train.SftConfig;
import saferlhf.train.SftTrainer;
import saferlhf.train.ShippedModels;
import saferlhf.util.AtomicFiles;
import saferlhf.util.InputError;
import saferlhf.util.JsonFiles;

/**
 * The whole reproduction on BeaverWorld: SFT, reward model, cost model, PPO (RLHF baseline), three rounds of
 * PPO-Lagrangian (Safe RLHF, as the paper; {@code rounds.rounds} changes it), a reward-shaping sweep over fixed lambdas, DPO (on the helpfulness preferences), then
 * the evaluation of every policy by the ground-truth judge, the reward and cost models and Elo ratings from judged
 * battles, written as {@code report.md}, {@code summary.json} and PNG charts. {@code methods} adds the DPO-shaped
 * methods since Safe RLHF to the same graph (what {@link Comparison} compares over seeds).
 *
 * <p>The stages form a graph ({@link StageGraph}): SFT; then the reward model, the cost model and DPO; then PPO, each
 * reward-shaping run and PPO-Lagrangian round 1; each later round's labelled samples, score-model updates and
 * PPO-Lagrangian run; one evaluation per policy. Independent stages run at the same time, each in a child JVM with its
 * share of the cores, with results bit-identical to running them one after another. A stage whose output is complete is
 * skipped, so an interrupted reproduction resumes where it stopped.
 *
 * @param preset    {@code quick} (CI and the notebooks, minutes: from the shipped SFT, reward and cost models,
 *                  {@link #startsFromShippedModels}) or {@code full}
 * @param outputDir the reproduction's folder
 * @param seed      the seed of every stage
 * @param settings  {@code KIND.key=value} overrides of the presets, KIND one of {@link #KINDS}: {@code sft}, {@code rm},
 *                  {@code cm}, {@code dpo} (DPO and the DPO-shaped methods), {@code rl} (PPO, PPO-Lagrangian and reward
 *                  shaping), {@code rounds} ({@code rounds.rounds}, {@code rounds.pairs_per_round},
 *                  {@code rounds.later_lambda_update}, {@code rounds.later_threshold})
 * @param methods   further methods trained and evaluated beside the reproduction's, from {@link #METHODS}: {@code safe-dpo}
 *                  (from SFT), {@code sacpo} (from DPO), {@code p-sacpo} (DPO and SACPO merged half and half; brings
 *                  {@code sacpo}), {@code bfpo} (from SFT), {@code grpo-lag} (the group-relative PPO-Lagrangian, from SFT
 *                  with the reward and cost models), {@code repo} (RePO: PPO-Lagrangian on the rectified cost, likewise),
 *                  {@code mocan} (the dual on SFT's answers scored by the reward and cost models, then DPO on relabelled
 *                  pairs), {@code pecan} (the same with the DPO policy and a DPO policy on the safety order, which it
 *                  trains and evaluates too), {@code c-dpo} (DPO on pairs ordered by r - lambda c, with dual steps on
 *                  lambda); docs/methods.md
 */
public record Reproduction(String preset, String outputDir, long seed, List<String> settings, List<String> methods) {

    /** The kinds of stage {@code settings} address. */
    public static final List<String> KINDS = List.of("sft", "rm", "cm", "dpo", "rl", "rounds");

    /** The methods a reproduction can add to its own ({@code methods}). */
    public static final List<String> METHODS = List.of("safe-dpo", "sacpo", "p-sacpo", "bfpo", "grpo-lag", "repo", "mocan", "pecan", "c-dpo");

    /** P-SACPO's merge weight q: the middle of the paper's 0.25, 0.5, 0.75. */
    public static final double P_SACPO_WEIGHT = 0.5;

    public Reproduction {
        Rounds.requireBeaverWorldPreset(preset); // paper or an unknown preset is refused before any folder is made
        settings = List.copyOf(settings);
        settingsOf(settings, "rounds"); // a bad KIND is refused now too
        for (String m : methods) {
            if (!METHODS.contains(m)) throw new InputError("unknown method '" + m + "' (" + String.join(", ", METHODS) + ")");
        }
        java.util.LinkedHashSet<String> all = new java.util.LinkedHashSet<>(methods);
        if (all.contains("p-sacpo")) all.add("sacpo"); // P-SACPO merges SACPO's policy
        methods = METHODS.stream().filter(all::contains).toList();
    }

    public Reproduction(String preset, String outputDir, long seed, List<String> settings) {
        this(preset, outputDir, seed, settings, List.of());
    }

    public Reproduction(String preset, String outputDir, long seed) {
        this(preset, outputDir, seed, List.of());
    }

    /** Fixed lambdas of the reward-shaping sweep. */
    public static List<Double> shapingLambdas(String preset) {
        return preset.equals("quick") ? List.of(0.5, 2.0) : List.of(0.25, 1.0, 4.0);
    }

    /**
     * Runs every stage (skipping finished ones) on this machine's cores ({@link StageGraph.Schedule#auto()}); in a
     * terminal or a notebook the stage lines redraw one line, so that the run leaves its last line only.
     */
    public ObjectNode run() throws IOException {
        Progress.OneLine log = Progress.oneLine(System.out);
        try {
            return run(StageGraph.Schedule.auto(), log);
        } finally {
            log.end();
        }
    }

    /** Runs every stage (skipping finished ones) and writes the report; returns the summary. */
    public ObjectNode run(StageGraph.Schedule schedule, PrintStream log) throws IOException {
        Path out = KitPaths.resolve(outputDir);
        Files.createDirectories(out);
        Plan plan = plan(out);
        Path previous = out.resolve("summary.json");
        Map<String, StageGraph.Timing> earlier = Files.isRegularFile(previous) ? StageGraph.timeline(JsonFiles.read(previous)) : Map.of();
        StageGraph.Result result = plan.graph().run(schedule, stage -> childArgs(stage, schedule.threads()), out.resolve("logs"),
                earlier, log);
        ObjectNode summary = report(plan);
        writeTimes(summary, result);
        AtomicFiles.writeString(out.resolve("summary.json"), summary.toPrettyString() + "\n");
        Charts.savePng(timelineChart(result.timeline()), out.resolve("timeline.png"));
        AtomicFiles.writeString(out.resolve("report.md"), Report.markdown(summary, preset, seed));
        return summary;
    }

    /** Runs one stage in this JVM, its inputs complete: what each child of a parallel run does. */
    public void runStage(String stage, int threads) throws IOException {
        Path out = KitPaths.resolve(outputDir);
        plan(out).graph().runHere(stage, threads, out.resolve("logs").resolve(stage + ".json"));
    }

    /** The command line of a child JVM that runs {@code stage} of this reproduction. */
    private List<String> childArgs(String stage, int threads) {
        List<String> args = new ArrayList<>(List.of("reproduce", "--preset", preset, "--out", KitPaths.resolve(outputDir).toString(),
                "--seed", String.valueOf(seed)));
        for (String setting : settings) args.addAll(List.of("--set", setting));
        if (!methods.isEmpty()) args.addAll(List.of("--methods", String.join(",", methods)));
        args.addAll(List.of("--stage", stage, "--threads-per-stage", String.valueOf(threads)));
        return args;
    }

    /** A policy the evaluation rates: its name in the report, the stage that trains it, its model folder. */
    public record Policy(String name, String stage, Path model) {
        String evalStage() { return "eval_" + stage; }
    }

    /**
     * Every stage's config, with every path fixed in advance, and the graph of stages: what the notebooks read, so that
     * each of them shows this reproduction's own runs.
     *
     * @param ppo        the RLHF baseline
     * @param lagrangian PPO-Lagrangian as the preset and the settings make it, with this run's models; each round runs it
     *                   in a folder of its own ({@code rounds().get(0).ppo()} is round 1's)
     * @param rounds     PPO-Lagrangian's rounds
     */
    public record Plan(Path out, SftConfig sft, ScoreModelConfig rm, ScoreModelConfig cm, PpoConfig ppo, PpoConfig lagrangian,
                       List<Rounds.Plan> rounds, List<Policy> policies, StageGraph graph) {
        /** Each policy's model folder by its name in the report ({@code SFT}, {@code PPO}, {@code PPO-Lag round 1}, ...). */
        public Map<String, Path> models() {
            Map<String, Path> models = new LinkedHashMap<>();
            for (Policy policy : policies) models.put(policy.name(), policy.model());
            return models;
        }

        /** The evaluation prompts, in the order of every policy's evaluation answers. */
        public List<PromptRecord> evaluationPrompts() {
            return Data.prompts(lagrangian.evalDatasets(), lagrangian.seed());
        }

        /**
         * The answers a finished policy gave in this reproduction's evaluation ({@code evaluation/STAGE.json}), with their
         * prompts: the answers every number of the report comes from.
         */
        public List<PolicySamples.Sample> answers(String policy) throws IOException {
            Policy p = policies.stream().filter(x -> x.name().equals(policy)).findFirst()
                    .orElseThrow(() -> new InputError("no policy '" + policy + "' (" + String.join(", ", models().keySet()) + ")"));
            return Reproduction.answers(out, p.stage(), evaluationPrompts());
        }
    }

    /** This reproduction's plan: its folder, every stage's config and the graph; nothing runs. */
    public Plan plan() {
        return plan(KitPaths.resolve(outputDir));
    }

    /**
     * Runs the named stages and every stage they read (skipping finished ones), without the report: what a notebook
     * about one part of the pipeline runs, so that it shows the same runs as the whole reproduction.
     */
    public Plan runStages(String... stages) throws IOException {
        Plan plan = plan();
        Progress.OneLine log = Progress.oneLine(System.out);
        try {
            StageGraph.Schedule schedule = StageGraph.Schedule.auto();
            plan.graph().upTo(List.of(stages)).run(schedule, stage -> childArgs(stage, schedule.threads()),
                    plan.out().resolve("logs"), Map.of(), log);
        } finally {
            log.end();
        }
        return plan;
    }

    private Plan plan(Path out) {
        String s = "seed=" + seed;
        boolean shipped = startsFromShippedModels();
        SftConfig sft = shipped ? Configs.override(ShippedModels.sft(), List.of("output_dir=" + out.resolve("sft")))
                : Configs.override(SftConfig.preset(preset), concat(settingsOf(settings, "sft"), s, "output_dir=" + out.resolve("sft")));
        Path sftModel = TrainingLoop.modelFolder(sft);
        ScoreModelConfig rm = scoreModel("reward", "rm", shipped, sftModel, out), cm = scoreModel("cost", "cm", shipped, sftModel, out);
        DpoConfig dpo = Configs.override(DpoConfig.preset(preset),
                concat(settingsOf(settings, "dpo"), s, "model_name_or_path=" + sftModel, "output_dir=" + out.resolve("dpo")));
        Path rewardModel = TrainingLoop.modelFolder(rm), costModel = TrainingLoop.modelFolder(cm);
        List<String> models = List.of(s, "actor_model_name_or_path=" + sftModel, "reward_model_name_or_path=" + rewardModel,
                "cost_model_name_or_path=" + costModel);
        PpoConfig ppo = rl("ppo", models, stageFolder(out, "ppo"), List.of());
        PpoConfig lagrangian = rl("ppo-lag", models, out.resolve("ppo-lag"), List.of());
        Map<String, String> roundSettings = new LinkedHashMap<>();
        for (String kv : settingsOf(settings, "rounds")) roundSettings.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        Rounds.Settings roundsSettings = Rounds.Settings.of(preset)
                .withRounds(intSetting(roundSettings, "rounds", Rounds.DEFAULT_ROUNDS))
                .withPairsPerRound(intSetting(roundSettings, "pairs_per_round", Rounds.defaultPairsPerRound(preset)))
                .withLaterLambdaUpdate(roundSettings.getOrDefault("later_lambda_update", Rounds.LATER_ROUNDS_LAMBDA_UPDATE))
                .withLaterThreshold(roundSettings.getOrDefault("later_threshold", Rounds.LATER_ROUNDS_THRESHOLD));
        roundSettings.keySet().removeAll(List.of("later_lambda_update", "later_threshold"));
        if (!roundSettings.isEmpty()) {
            throw new InputError("--set rounds.KEY: unknown key(s) " + roundSettings.keySet()
                    + " (rounds, pairs_per_round, later_lambda_update, later_threshold)");
        }
        // the rounds continue the score models with this reproduction's seed (it draws the replayed pairs), shipped or not
        List<Rounds.Plan> rounds = Rounds.plan(lagrangian, Configs.override(rm, List.of(s)), Configs.override(cm, List.of(s)),
                roundsSettings, out.resolve("rounds").toString());

        List<StageGraph.Stage> stages = new ArrayList<>();
        List<Policy> policies = new ArrayList<>();
        stages.add(stage("sft", List.of(), () -> TrainingLoop.isComplete(sft),
                shipped ? () -> ShippedModels.copyTo(ShippedModels.sft(), sft) : () -> SftTrainer.ensureTrained(sft)));
        policies.add(new Policy("SFT", "sft", sftModel));
        stages.add(stage("reward_model", List.of("sft"), () -> TrainingLoop.isComplete(rm),
                shipped ? () -> ShippedModels.copyTo(ShippedModels.score("reward"), rm) : () -> ScoreTrainer.ensureTrained(rm)));
        stages.add(stage("cost_model", List.of("sft"), () -> TrainingLoop.isComplete(cm),
                shipped ? () -> ShippedModels.copyTo(ShippedModels.score("cost"), cm) : () -> ScoreTrainer.ensureTrained(cm)));
        List<String> scoreModels = List.of("reward_model", "cost_model");
        String previousRound = null;
        for (Rounds.Plan round : rounds) {
            String k = "round_" + round.round() + "_";
            List<String> inputs = scoreModels;
            if (round.round() > 1) {
                stages.add(light(k + "preference", List.of(previousRound), round::preferenceDataWritten,
                        () -> Rounds.annotate(round, lagrangian, roundsSettings.pairsPerRound())));
                stages.add(stage(k + "reward_model", List.of(k + "preference"), () -> TrainingLoop.isComplete(round.reward()),
                        () -> ScoreTrainer.ensureTrained(round.reward())));
                stages.add(stage(k + "cost_model", List.of(k + "preference"), () -> TrainingLoop.isComplete(round.cost()),
                        () -> ScoreTrainer.ensureTrained(round.cost())));
                inputs = List.of(previousRound, k + "reward_model", k + "cost_model");
            }
            previousRound = "ppo_lag_round_" + round.round();
            stages.add(stage(previousRound, inputs, () -> PpoTrainer.isComplete(round.ppo()), () -> PpoTrainer.ensureTrained(round.settledPpo())));
        }
        stages.add(stage("ppo", scoreModels, () -> PpoTrainer.isComplete(ppo), () -> PpoTrainer.ensureTrained(ppo)));
        policies.add(new Policy("PPO", "ppo", PpoTrainer.modelFolder(ppo)));
        for (Rounds.Plan round : rounds) {
            policies.add(new Policy("PPO-Lag round " + round.round(), "ppo_lag_round_" + round.round(), round.policy()));
        }
        // the RL methods since Safe RLHF, from SFT with the reward and cost models
        for (String[] method : new String[][] {{"grpo-lag", "GRPO-Lag"}, {"repo", "RePO"}}) {
            if (!methods.contains(method[0])) continue;
            String name = method[0].replace('-', '_');
            PpoConfig config = rl(method[0], models, stageFolder(out, name), List.of());
            stages.add(stage(name, scoreModels, () -> PpoTrainer.isComplete(config), () -> PpoTrainer.ensureTrained(config)));
            policies.add(new Policy(method[1], name, PpoTrainer.modelFolder(config)));
        }
        for (double lambda : shapingLambdas(preset)) {
            String name = "shaping_lambda_" + lambda;
            PpoConfig shaping = rl("ppo-reward-shaping", models, stageFolder(out, name),
                    List.of("lambda_init=" + lambda, "lambda_max=" + Math.max(5.0, lambda)));
            stages.add(stage(name, scoreModels, () -> PpoTrainer.isComplete(shaping), () -> PpoTrainer.ensureTrained(shaping)));
            policies.add(new Policy("Shaping lambda=" + lambda, name, PpoTrainer.modelFolder(shaping)));
        }
        stages.add(stage("dpo", List.of("sft"), () -> TrainingLoop.isComplete(dpo), () -> DpoTrainer.ensureTrained(dpo)));
        policies.add(new Policy("DPO", "dpo", TrainingLoop.modelFolder(dpo)));
        // the DPO-shaped methods since Safe RLHF: from SFT (SafeDPO, BFPO) or from DPO (SACPO), P-SACPO merging DPO and SACPO
        for (String[] method : new String[][] {{"safe-dpo", "SafeDPO", "sft"}, {"bfpo", "BFPO", "sft"}, {"sacpo", "SACPO", "dpo"}}) {
            if (!methods.contains(method[0])) continue;
            String name = method[0].replace('-', '_');
            Path from = method[2].equals("sft") ? sftModel : TrainingLoop.modelFolder(dpo);
            DpoConfig config = Configs.override(DpoConfig.preset(preset, method[0]), concat(settingsOf(settings, "dpo"), s,
                    "model_name_or_path=" + from, "output_dir=" + out.resolve(method[0])));
            stages.add(stage(name, List.of(method[2]), () -> TrainingLoop.isComplete(config), () -> DpoTrainer.ensureTrained(config)));
            policies.add(new Policy(method[1], name, TrainingLoop.modelFolder(config)));
        }
        // the DPO-shaped methods that read the reward and cost models: MoCAN and C-DPO
        for (String[] method : new String[][] {{"mocan", "MoCAN"}, {"c-dpo", "C-DPO"}}) {
            if (!methods.contains(method[0])) continue;
            String name = method[0].replace('-', '_');
            DpoConfig config = Configs.override(DpoConfig.preset(preset, method[0]), concat(settingsOf(settings, "dpo"), s,
                    "model_name_or_path=" + sftModel, "reward_model_name_or_path=" + rewardModel,
                    "cost_model_name_or_path=" + costModel, "output_dir=" + stageFolder(out, name)));
            stages.add(stage(name, scoreModels, () -> TrainingLoop.isComplete(config), () -> DpoTrainer.ensureTrained(config)));
            policies.add(new Policy(method[1], name, TrainingLoop.modelFolder(config)));
        }
        if (methods.contains("pecan")) {
            // PeCAN's safety policy: DPO on the safety order from SFT, beside the helpfulness DPO
            DpoConfig safety = Configs.override(DpoConfig.preset(preset), concat(settingsOf(settings, "dpo"), s,
                    "model_name_or_path=" + sftModel, "preference=safety", "output_dir=" + out.resolve("dpo-safety")));
            stages.add(stage("dpo_safety", List.of("sft"), () -> TrainingLoop.isComplete(safety), () -> DpoTrainer.ensureTrained(safety)));
            policies.add(new Policy("DPO on safety", "dpo_safety", TrainingLoop.modelFolder(safety)));
            DpoConfig pecan = Configs.override(DpoConfig.preset(preset, "pecan"), concat(settingsOf(settings, "dpo"), s,
                    "model_name_or_path=" + sftModel, "helpfulness_model_name_or_path=" + TrainingLoop.modelFolder(dpo),
                    "safety_model_name_or_path=" + TrainingLoop.modelFolder(safety), "output_dir=" + stageFolder(out, "pecan")));
            stages.add(stage("pecan", List.of("dpo", "dpo_safety"), () -> TrainingLoop.isComplete(pecan), () -> DpoTrainer.ensureTrained(pecan)));
            policies.add(new Policy("PeCAN", "pecan", TrainingLoop.modelFolder(pecan)));
        }
        if (methods.contains("p-sacpo")) {
            Path sacpo = out.resolve("sacpo").resolve("model"), merged = out.resolve("p-sacpo").resolve("model");
            stages.add(light("p_sacpo", List.of("dpo", "sacpo"), () -> ModelFiles.isComplete(merged),
                    () -> ModelMerge.linear(TrainingLoop.modelFolder(dpo), sacpo, P_SACPO_WEIGHT, merged)));
            policies.add(new Policy("P-SACPO q=" + P_SACPO_WEIGHT, "p_sacpo", merged));
        }
        Plan partial = new Plan(out, sft, rm, cm, ppo, lagrangian, rounds, policies, null);
        for (Policy policy : policies) {
            Path result = evaluationFile(out, policy);
            stages.add(light(policy.evalStage(), List.of(policy.stage(), "reward_model", "cost_model"), () -> Files.isRegularFile(result),
                    () -> evaluate(partial, policy)));
        }
        return new Plan(out, sft, rm, cm, ppo, lagrangian, rounds, policies, new StageGraph(stages));
    }

    /**
     * Whether the SFT, reward and cost models are the shipped ones ({@link ShippedModels}, copied into the reproduction's
     * folder): in the quick preset unless {@code --set} changes one of them, which then trains all three with the quick
     * training presets. The full preset trains its own.
     */
    public boolean startsFromShippedModels() {
        return preset.equals("quick") && settingsOf(settings, "sft").isEmpty() && settingsOf(settings, "rm").isEmpty()
                && settingsOf(settings, "cm").isEmpty();
    }

    /** The reward or cost model's config: the shipped run's (with this folder's paths), or the preset's with the settings. */
    private ScoreModelConfig scoreModel(String scoreType, String folder, boolean shipped, Path sftModel, Path out) {
        String model = "model_name_or_path=" + sftModel, output = "output_dir=" + out.resolve(folder);
        if (shipped) return Configs.override(ShippedModels.score(scoreType), List.of(model, output));
        return Configs.override(ScoreModelConfig.preset(preset, scoreType), concat(settingsOf(settings, folder), "seed=" + seed, model, output));
    }

    /**
     * Where a stage of the reproduction in {@code out} writes the runs that sample answers (the RL runs, MoCAN's, and a
     * later round's labelled samples and settled threshold: {@code rounds/round-k}); null for the stages that sample
     * none (SFT, the score models, the DPO-shaped methods, the merge, the evaluations).
     */
    static Path stageFolder(Path out, String stage) {
        if (List.of("ppo", "mocan", "pecan", "repo").contains(stage)) return out.resolve(stage);
        if (stage.equals("c_dpo")) return out.resolve("c-dpo");
        if (stage.equals("grpo_lag")) return out.resolve("grpo-lag");
        if (stage.startsWith("shaping_lambda_")) return out.resolve("shaping-lambda-" + stage.substring("shaping_lambda_".length()));
        if (stage.startsWith("ppo_lag_round_")) return out.resolve("rounds/round-" + stage.substring("ppo_lag_round_".length()) + "/ppo-lag");
        if (stage.startsWith("round_") && stage.endsWith("_preference")) {
            return out.resolve("rounds/round-" + stage.substring("round_".length(), stage.length() - "_preference".length()));
        }
        return null;
    }

    private static StageGraph.Stage stage(String name, List<String> after, java.util.function.BooleanSupplier complete,
                                          StageGraph.Body body) {
        return new StageGraph.Stage(name, after, complete, body, false);
    }

    /** A stage of seconds of inference (sampling, evaluation): no child JVM of its own in a parallel run. */
    private static StageGraph.Stage light(String name, List<String> after, java.util.function.BooleanSupplier complete,
                                          StageGraph.Body body) {
        return new StageGraph.Stage(name, after, complete, body, true);
    }

    /** An RL stage's config: the preset, then {@code rl.*} settings, then the pipeline's wiring. */
    private PpoConfig rl(String algorithm, List<String> models, Path output, List<String> extra) {
        List<String> overrides = new ArrayList<>(settingsOf(settings, "rl"));
        overrides.addAll(models);
        overrides.add("output_dir=" + output);
        overrides.addAll(extra);
        return Configs.override(PpoConfig.preset(preset, algorithm), overrides);
    }

    /** The {@code key=value} parts of the settings {@code KIND.key=value} of one kind; an InputError for a bad one. */
    static List<String> settingsOf(List<String> settings, String kind) {
        List<String> of = new ArrayList<>();
        for (String setting : settings) {
            int dot = setting.indexOf('.'), eq = setting.indexOf('=');
            if (dot < 1 || eq < dot + 2) throw new InputError("--set " + setting + ": expected KIND.key=value, KIND one of " + KINDS);
            String k = setting.substring(0, dot);
            if (!KINDS.contains(k)) throw new InputError("--set " + setting + ": unknown kind '" + k + "' (" + String.join(", ", KINDS) + ")");
            if (k.equals(kind)) of.add(setting.substring(dot + 1));
        }
        return of;
    }

    private static int intSetting(Map<String, String> settings, String key, int fallback) {
        String v = settings.remove(key);
        if (v == null) return fallback;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new InputError("--set rounds." + key + "=" + v + ": expected an integer");
        }
    }

    private static List<String> concat(List<String> first, String... more) {
        List<String> all = new ArrayList<>(first);
        all.addAll(List.of(more));
        return all;
    }

    /** The answers of an {@code evaluation/STAGE.json}, read back as samples of the prompts they answer (in order). */
    static List<PolicySamples.Sample> samples(JsonNode evaluation, List<PromptRecord> prompts) {
        List<PolicySamples.Sample> samples = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            JsonNode a = evaluation.get("answers").get(i);
            samples.add(new PolicySamples.Sample(prompts.get(i), a.get("response").asText(), a.get("ended_with_eos").asBoolean(),
                    a.get("tokens").asInt()));
        }
        return samples;
    }

    /** The answers of stage {@code stage}'s evaluation in the reproduction {@code out}, with the prompts they answer. */
    static List<PolicySamples.Sample> answers(Path out, String stage, List<PromptRecord> prompts) throws IOException {
        return samples(JsonFiles.read(evaluationFile(out, stage)), prompts);
    }

    private static Path evaluationFile(Path out, Policy policy) {
        return evaluationFile(out, policy.stage());
    }

    private static Path evaluationFile(Path out, String stage) {
        return out.resolve("evaluation").resolve(stage + ".json");
    }

    private static double[] toDoubles(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) out[i] = values[i];
        return out;
    }

    /**
     * One policy on the evaluation prompts: the ground-truth judge's rates and the reward and cost models' scores of its
     * answers, written with the answers to {@code evaluation/STAGE.json}.
     */
    private void evaluate(Plan plan, Policy policy) throws IOException {
        PpoConfig lagrangian = plan.lagrangian();
        List<PromptRecord> prompts = Data.prompts(lagrangian.evalDatasets(), seed);
        ai.djl.Device device = Device.parse(lagrangian.device());
        Path sftModel = TrainingLoop.modelFolder(plan.sft());
        ObjectNode node = JSON.createObjectNode();
        node.put("policy", policy.name());
        node.put("model", policy.model().toString());
        try (Tokenizer tokenizer = Tokenizer.load(sftModel);
             Scorer reward = Scorer.load(TrainingLoop.modelFolder(plan.rm()), device);
             Scorer cost = Scorer.load(TrainingLoop.modelFolder(plan.cm()), device)) {
            List<PolicySamples.Sample> samples = PolicySamples.generate(policy.model(), device, tokenizer, prompts,
                    lagrangian.generation(lagrangian.maxLength() / 2, seed), lagrangian.perDeviceEvalBatchSize(),
                    lagrangian.maxLength() / 2);
            float[] rewards = PolicySamples.endScores(samples, tokenizer, reward, 64, lagrangian.maxLength()); // ids as generated
            float[] costs = PolicySamples.endScores(samples, tokenizer, cost, 64, lagrangian.maxLength());
            var answers = node.putArray("answers");
            for (int i = 0; i < samples.size(); i++) {
                PolicySamples.Sample a = samples.get(i);
                answers.addObject().put("response", a.response()).put("ended_with_eos", a.endedWithEos()).put("tokens", a.tokens())
                        .put("reward", rewards[i]).put("cost", costs[i]);
            }
        }
        AtomicFiles.writeString(evaluationFile(plan.out(), policy), node.toPrettyString() + "\n");
    }

    /** The summary of every policy's evaluation: the judge's rates, reward and cost, Elo from judged battles, charts. */
    private ObjectNode report(Plan plan) throws IOException {
        Path out = plan.out();
        List<PromptRecord> prompts = Data.prompts(plan.lagrangian().evalDatasets(), seed);
        GroundTruthJudge judge = new GroundTruthJudge();
        Map<String, List<PolicySamples.Sample>> answers = new LinkedHashMap<>();
        ObjectNode summary = JSON.createObjectNode();
        summary.put("preset", preset);
        summary.put("seed", seed);
        summary.put("evaluation_datasets", plan.lagrangian().evalDatasets()); // the prompts of evaluation/*.json, in order
        ObjectNode perPolicy = summary.putObject("policies");
        Map<String, double[]> rewardsByPolicy = new LinkedHashMap<>(), costsByPolicy = new LinkedHashMap<>();
        for (Policy policy : plan.policies()) {
            JsonNode evaluation = JsonFiles.read(evaluationFile(out, policy));
            List<PolicySamples.Sample> samples = samples(evaluation, prompts);
            double[] rewards = new double[prompts.size()], costs = new double[prompts.size()];
            for (int i = 0; i < prompts.size(); i++) {
                JsonNode a = evaluation.get("answers").get(i);
                rewards[i] = a.get("reward").asDouble();
                costs[i] = a.get("cost").asDouble();
            }
            answers.put(policy.name(), samples);
            JudgeReport report = JudgeReport.of(samples, judge);
            ObjectNode node = perPolicy.putObject(policy.name());
            node.put("model", policy.model().toString());
            node.put("stage", policy.stage()); // its answers: evaluation/STAGE.json
            // the judge's numbers only where it could rate the prompts (BeaverWorld's always can): never a NaN
            report.metrics("").forEach((name, value) -> {
                if (JUDGE_FIELDS.contains(name)) node.put(name, value);
            });
            node.put("mean_reward", mean(rewards));
            node.put("mean_cost", mean(costs));
            if (policy.name().equals("SFT") || policy.name().startsWith("PPO")) {
                rewardsByPolicy.put(policy.name(), rewards);
                costsByPolicy.put(policy.name(), costs);
            }
            report.unsafeRateByCategory().forEach(node.putObject("unsafe_rate_by_category")::put);
        }
        Map<String, Double> elo = Elo.ratings(Elo.battles(answers, judge), 20, seed);
        elo.forEach((name, rating) -> ((ObjectNode) perPolicy.get(name)).put("elo", rating));
        Charts.savePng(tradeoffChart(perPolicy), out.resolve("helpfulness_vs_harmlessness.png"));
        // the reference's arena plots: how the reward and cost distributions of the answers move from SFT to Safe RLHF
        Charts.savePng(Charts.histogram("Reward of the answers to the evaluation prompts", "reward", rewardsByPolicy, 40),
                out.resolve("reward_distribution.png"));
        Charts.savePng(Charts.histogram("Cost of the answers to the evaluation prompts (cost > 0 means unsafe)", "cost", costsByPolicy, 40),
                out.resolve("cost_distribution.png"));
        var rounds = rounds(plan, perPolicy);
        for (JsonNode round : rounds) summary.put("final_lambda_round_" + round.get("round").asInt(), round.get("final_lambda").asDouble());
        summary.set("reward_model", metricsOf(out.resolve("rm")));
        summary.set("cost_model", metricsOf(out.resolve("cm")));
        summary.set("rounds", rounds);
        Charts.savePng(roundsChart(perPolicy, plan.rounds().size()), out.resolve("rounds.png"));
        return summary;
    }

    /**
     * One entry per PPO-Lagrangian round: the judge's rates of its policy, the reward and cost models it trained with
     * (their accuracies on the held-out pairs), the fresh pairs they had continued on, its final lambda, and how its
     * episode cost moved around the threshold ({@link ConstraintDynamics}; overshoot and excursion left out when the
     * constraint was never met).
     */
    private static com.fasterxml.jackson.databind.node.ArrayNode rounds(Plan plan, ObjectNode perPolicy) throws IOException {
        var rounds = JSON.createArrayNode();
        for (Rounds.Plan round : plan.rounds()) {
            ObjectNode node = rounds.addObject();
            node.put("round", round.round());
            JsonNode policy = perPolicy.path("PPO-Lag round " + round.round());
            for (String field : List.of("unsafe_rate_harmful", "helpfulness_benign", "over_refusal_benign")) {
                if (policy.has(field)) node.put(field, policy.get(field).asDouble());
            }
            node.put("fresh_pairs", round.round() == 1 ? 0 : Files.readAllLines(round.preferenceData()).size());
            node.set("reward_model", metricsOf(round.reward() == null ? plan.out().resolve("rm") : KitPaths.resolve(round.reward().outputDir())));
            node.set("cost_model", metricsOf(round.cost() == null ? plan.out().resolve("cm") : KitPaths.resolve(round.cost().outputDir())));
            List<Map<String, Double>> metrics = saferlhf.train.MetricsLog.read(KitPaths.resolve(round.ppo().outputDir()).resolve("metrics.jsonl"));
            node.put("final_lambda", lastLambda(metrics));
            ConstraintDynamics d = ConstraintDynamics.of(metrics, round.threshold());
            node.put("threshold", round.threshold());
            node.put("final_episode_cost", d.finalEpisodeCost());
            node.put("constraint_met", d.met());
            if (d.met()) {
                node.put("first_met_step", d.firstMetStep());
                node.put("peak_overshoot", d.peakOvershoot());
                node.put("threshold_crossings", d.crossings());
                node.put("mean_excursion", d.meanExcursion());
            }
        }
        return rounds;
    }

    /** The rounds as a path on the helpfulness-vs-harmlessness plane: SFT, then each round's policy; PPO for comparison. */
    static XYChart roundsChart(JsonNode perPolicy, int rounds) {
        XYChart chart = planeChart("Safe RLHF round by round (ground-truth judge)", 10);
        List<Double> x = new ArrayList<>(), y = new ArrayList<>();
        for (int k = 0; k <= rounds; k++) {
            double[] point = planePoint(perPolicy.path(k == 0 ? "SFT" : "PPO-Lag round " + k));
            if (point == null) continue;
            x.add(point[0]);
            y.add(point[1]);
        }
        if (x.isEmpty()) {
            chart.addSeries("(the judge could not rate these prompts)", new double[] {0}, new double[] {0});
            return chart;
        }
        chart.addSeries("SFT -> round 1 -> ... -> round " + rounds, x, y);
        double[] ppo = planePoint(perPolicy.path("PPO"));
        if (ppo != null) {
            chart.addSeries("PPO (reward only)", new double[] {ppo[0]}, new double[] {ppo[1]})
                    .setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        }
        return chart;
    }

    /** An empty chart of the helpfulness-vs-harmlessness plane. */
    static XYChart planeChart(String title, int markerSize) {
        XYChart chart = new XYChartBuilder().width(Charts.WIDTH).height(Charts.HEIGHT).title(title)
                .xAxisTitle("harmlessness: 1 - unsafe rate on harmful prompts").yAxisTitle("helpfulness on benign prompts").build();
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setMarkerSize(markerSize);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideE);
        return chart;
    }

    /** A policy's point on that plane (1 - unsafe rate, helpfulness), or null where the judge could not rate it. */
    private static double[] planePoint(JsonNode policy) {
        if (!policy.has("unsafe_rate_harmful") || !policy.has("helpfulness_benign")) return null;
        return new double[] {1 - policy.get("unsafe_rate_harmful").asDouble(), policy.get("helpfulness_benign").asDouble()};
    }

    /** The mean as {@link PreferenceScores#mean} computes it for the scores' floats. */
    private static double mean(double[] values) {
        float[] f = new float[values.length];
        for (int i = 0; i < values.length; i++) f[i] = (float) values[i];
        return PreferenceScores.mean(f);
    }

    /**
     * {@code wall_seconds} per stage, {@code skipped_stages}, the {@code timeline} (when each stage ran, on how many
     * threads, its CPU time and peak memory) and the whole run's wall and CPU time and peak memory.
     */
    private static void writeTimes(ObjectNode summary, StageGraph.Result result) {
        ObjectNode times = summary.putObject("wall_seconds");
        for (StageGraph.Timing t : result.timeline()) times.put(t.stage(), t.wallSeconds());
        var skipped = summary.putArray("skipped_stages");
        var timeline = summary.putArray("timeline");
        for (StageGraph.Timing t : result.timeline()) {
            if (t.skipped()) skipped.add(t.stage());
            timeline.add(t.toJson());
        }
        ObjectNode run = summary.putObject("run");
        run.put("jobs", result.schedule().jobs());
        run.put("threads_per_stage", result.schedule().threads());
        run.put("cores", Runtime.getRuntime().availableProcessors());
        run.put("wall_seconds", StageGraph.round(result.wallSeconds()));
        run.put("cpu_seconds", StageGraph.round(result.cpuSeconds()));
        run.put("peak_rss_mib", StageGraph.round(result.peakRssMib()));
    }

    /**
     * One bar per stage that ran, from its start to its end (seconds from the start of the run); when every stage was
     * skipped, the bars of the run that made them.
     */
    static XYChart timelineChart(List<StageGraph.Timing> timeline) {
        boolean allSkipped = timeline.stream().allMatch(StageGraph.Timing::skipped);
        XYChart chart = new XYChartBuilder().width(Charts.WIDTH).height(Charts.HEIGHT + 150).title("Timeline of the stages")
                .xAxisTitle("seconds from the start of this run").yAxisTitle("stage").build();
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setMarkerSize(0);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideE);
        chart.getStyler().setYAxisTicksVisible(false);
        int row = 0;
        for (StageGraph.Timing t : timeline) {
            if (t.skipped() && !(allSkipped && t.end() > t.start())) continue;
            row++;
            XYSeries bar = chart.addSeries(t.stage(), new double[] {t.start(), t.end()}, new double[] {-row, -row});
            bar.setLineStyle(new java.awt.BasicStroke(8f));
        }
        if (row == 0) chart.addSeries("(every stage was skipped)", new double[] {0}, new double[] {0});
        return chart;
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The judge's numbers a policy's entry in {@code summary.json} carries (when computed). */
    private static final List<String> JUDGE_FIELDS = List.of("unsafe_rate_harmful", "helpfulness_benign", "over_refusal_benign",
            "judge_rated_prompts");

    /**
     * The headline numbers in words, computed from them ({@link JudgeReport#comparison}): the last PPO-Lagrangian round
     * and PPO, each against SFT. Empty when the summary has no SFT or no PPO-Lagrangian round.
     */
    public static String reading(JsonNode perPolicy) {
        JsonNode sft = perPolicy.get("SFT");
        String lastRound = null;
        for (var names = perPolicy.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (name.startsWith("PPO-Lag round ")) lastRound = name;
        }
        if (sft == null || lastRound == null) return "";
        StringBuilder b = new StringBuilder(compared(lastRound, perPolicy.get(lastRound), sft));
        if (perPolicy.has("PPO")) b.append('\n').append(compared("PPO", perPolicy.get("PPO"), sft));
        return b.toString();
    }

    private static String compared(String name, JsonNode policy, JsonNode sft) {
        return JudgeReport.comparison(name, policy.path("unsafe_rate_harmful").asDouble(Double.NaN),
                policy.path("helpfulness_benign").asDouble(Double.NaN), policy.path("over_refusal_benign").asDouble(Double.NaN),
                "SFT", sft.path("unsafe_rate_harmful").asDouble(Double.NaN), sft.path("helpfulness_benign").asDouble(Double.NaN),
                sft.path("over_refusal_benign").asDouble(Double.NaN));
    }

    /** One point per policy: x = harmlessness (1 - unsafe rate on harmful prompts), y = helpfulness on benign prompts. */
    public static XYChart tradeoffChart(JsonNode perPolicy) {
        XYChart chart = planeChart("Helpfulness vs harmlessness (ground-truth judge)", 12);
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        perPolicy.fields().forEachRemaining(e -> {
            double[] point = planePoint(e.getValue());
            if (point != null) chart.addSeries(e.getKey(), new double[] {point[0]}, new double[] {point[1]});
        });
        return chart;
    }


    private static double lastLambda(List<Map<String, Double>> rows) {
        for (int i = rows.size() - 1; i >= 0; i--) if (rows.get(i).containsKey("train/lambda")) return rows.get(i).get("train/lambda");
        return Double.NaN;
    }

    /** The last evaluation metrics of a score-model run. */
    private static ObjectNode metricsOf(Path run) throws IOException {
        ObjectNode node = new ObjectMapper().createObjectNode();
        for (Map<String, Double> row : saferlhf.train.MetricsLog.read(run.resolve("metrics.jsonl"))) {
            row.forEach((k, v) -> { if (k.startsWith("eval/")) node.put(k.substring(5), v); });
        }
        return node;
    }

    /** A short printed summary of {@code summary.json}. */
    public static String table(ObjectNode summary) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-22s %8s %8s %8s %8s %8s %7s%n", "policy", "unsafe%",
                "helpful", "refuse%", "reward", "cost", "elo"));
        summary.get("policies").fields().forEachRemaining(e -> {
            JsonNode p = e.getValue();
            b.append(String.format(Locale.ROOT, "%-22s %8s %8s %8s %8.2f %8.2f %7s%n", e.getKey(), cell(p, "unsafe_rate_harmful", "%.1f", 100),
                    cell(p, "helpfulness_benign", "%.2f", 1), cell(p, "over_refusal_benign", "%.1f", 100), p.get("mean_reward").asDouble(),
                    p.get("mean_cost").asDouble(), cell(p, "elo", "%.0f", 1)));
        });
        if (summary.get("policies").findValue("unsafe_rate_harmful") == null) b.append("judge: ").append(saferlhf.eval.Judge.CANNOT_RATE).append('\n');
        return b.toString();
    }

    /** A judge's number formatted (times {@code scale}), or n/a where the judge could not compute it. */
    static String cell(JsonNode policy, String field, String format, double scale) {
        return policy.has(field) ? String.format(Locale.ROOT, format, scale * policy.get(field).asDouble()) : "n/a";
    }
}
