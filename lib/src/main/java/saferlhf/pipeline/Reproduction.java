package saferlhf.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
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
import saferlhf.data.SftRecord;
import saferlhf.eval.Elo;
import saferlhf.eval.JudgeReport;
import saferlhf.eval.PolicySamples;
import saferlhf.eval.PreferenceScores;
import saferlhf.explore.Charts;
import saferlhf.model.Device;
import saferlhf.model.Generation;
import saferlhf.model.ModelFiles;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;
import saferlhf.rl.PpoConfig;
import saferlhf.rl.PpoTrainer;
import saferlhf.rl.Rounds;
import saferlhf.train.Configs;
import saferlhf.train.Data;
import saferlhf.train.TrainingLoop;
import saferlhf.train.DpoConfig;
import saferlhf.train.DpoTrainer;
import saferlhf.train.ScoreModelConfig;
import saferlhf.train.ScoreTrainer;
import saferlhf.train.SftConfig;
import saferlhf.train.SftTrainer;
import saferlhf.util.AtomicFiles;

/**
 * The whole reproduction on BeaverWorld: SFT, reward model, cost model, PPO (RLHF baseline), two rounds of
 * PPO-Lagrangian (Safe RLHF), a reward-shaping sweep over fixed lambdas, DPO (on the helpfulness preferences), then
 * the evaluation of every policy by the ground-truth judge, the reward and cost models and Elo ratings from judged
 * battles, written as {@code report.md}, {@code summary.json} and PNG charts. A stage whose output is complete is skipped, so an interrupted reproduction
 * resumes where it stopped.
 *
 * @param preset    {@code quick} (CI, minutes) or {@code full}
 * @param outputDir the reproduction's folder
 * @param seed      the seed of every stage
 */
public record Reproduction(String preset, String outputDir, long seed) {

    public Reproduction {
        Rounds.requireBeaverWorldPreset(preset); // paper or an unknown preset is refused before any folder is made
    }

    /** Fixed lambdas of the reward-shaping sweep. */
    public static List<Double> shapingLambdas(String preset) {
        return preset.equals("quick") ? List.of(0.5, 2.0) : List.of(0.25, 1.0, 4.0);
    }

    /** Runs every stage (skipping finished ones) and writes the report; returns the summary. */
    public ObjectNode run() throws IOException {
        Path out = KitPaths.resolve(outputDir);
        Files.createDirectories(out);
        StageClock clock = new StageClock(out.resolve("summary.json"));
        String s = "seed=" + seed;

        SftConfig sft = Configs.override(SftConfig.preset(preset), List.of(s, "output_dir=" + out.resolve("sft")));
        Path sftModel = clock.time("sft", TrainingLoop.isComplete(sft), () -> SftTrainer.ensureTrained(sft));

        ScoreModelConfig rm = Configs.override(ScoreModelConfig.preset(preset, "reward"),
                List.of(s, "model_name_or_path=" + sftModel, "output_dir=" + out.resolve("rm")));
        Path rewardModel = clock.time("reward_model", TrainingLoop.isComplete(rm), () -> ScoreTrainer.ensureTrained(rm));

        ScoreModelConfig cm = Configs.override(ScoreModelConfig.preset(preset, "cost"),
                List.of(s, "model_name_or_path=" + sftModel, "output_dir=" + out.resolve("cm")));
        Path costModel = clock.time("cost_model", TrainingLoop.isComplete(cm), () -> ScoreTrainer.ensureTrained(cm));

        List<String> models = List.of(s, "actor_model_name_or_path=" + sftModel, "reward_model_name_or_path=" + rewardModel,
                "cost_model_name_or_path=" + costModel);
        Map<String, Path> policies = new LinkedHashMap<>();
        policies.put("SFT", sftModel);

        PpoConfig ppo = withOutput(PpoConfig.preset(preset, "ppo"), models, out.resolve("ppo"));
        policies.put("PPO", clock.time("ppo", PpoTrainer.isComplete(ppo), () -> PpoTrainer.ensureTrained(ppo)));

        PpoConfig lagrangian = withOutput(PpoConfig.preset(preset, "ppo-lag"), models, out.resolve("ppo-lag"));
        List<Rounds.Round> rounds = clock.time("ppo_lag_rounds", ModelFiles.isComplete(out.resolve("rounds/round-2/ppo-lag/model")),
                () -> Rounds.run(lagrangian, rm, cm, 2, preset.equals("quick") ? 128 : 1000, out.resolve("rounds").toString()));
        for (Rounds.Round round : rounds) policies.put("PPO-Lag round " + round.round(), round.policy());

        List<PpoConfig> sweep = new ArrayList<>();
        for (double lambda : shapingLambdas(preset)) {
            sweep.add(Configs.override(withOutput(PpoConfig.preset(preset, "ppo-reward-shaping"), models,
                    out.resolve("shaping-lambda-" + lambda)), List.of("lambda_init=" + lambda, "lambda_max=" + Math.max(5.0, lambda))));
        }
        clock.time("reward_shaping_sweep", sweep.stream().allMatch(PpoTrainer::isComplete), () -> {
            for (PpoConfig shaping : sweep) policies.put("Shaping lambda=" + shaping.lambdaInit(), PpoTrainer.ensureTrained(shaping));
            return null;
        });

        DpoConfig dpo = Configs.override(DpoConfig.preset(preset), List.of(s, "model_name_or_path=" + sftModel, "output_dir=" + out.resolve("dpo")));
        policies.put("DPO", clock.time("dpo", TrainingLoop.isComplete(dpo), () -> DpoTrainer.ensureTrained(dpo)));

        ObjectNode summary = clock.time("evaluation", false, () -> evaluate(policies, rewardModel, costModel, out, lagrangian));
        clock.write(summary);
        summary.put("final_lambda_round_1", lastLambda(out.resolve("rounds/round-1/ppo-lag")));
        summary.put("final_lambda_round_2", lastLambda(out.resolve("rounds/round-2/ppo-lag")));
        summary.set("reward_model", metricsOf(out.resolve("rm")));
        summary.set("cost_model", metricsOf(out.resolve("cm")));
        AtomicFiles.writeString(out.resolve("summary.json"), summary.toPrettyString() + "\n");
        AtomicFiles.writeString(out.resolve("report.md"), Report.markdown(summary, preset, seed));
        return summary;
    }

    /**
     * Wall time per stage. A stage found complete is skipped; it keeps the time recorded by the run that trained it
     * (from the previous {@code summary.json}) and is listed under {@code skipped_stages}.
     */
    private static final class StageClock {
        interface Body<T> { T run() throws IOException; }

        private final JsonNode earlier;
        private final Map<String, Double> seconds = new LinkedHashMap<>();
        private final List<String> skipped = new ArrayList<>();

        StageClock(Path previousSummary) throws IOException {
            earlier = Files.isRegularFile(previousSummary)
                    ? saferlhf.util.JsonFiles.read(previousSummary).path("wall_seconds") : new ObjectMapper().createObjectNode();
        }

        <T> T time(String stage, boolean complete, Body<T> body) throws IOException {
            long started = System.nanoTime();
            T result = body.run();
            double took = Reproduction.seconds(started);
            if (complete) skipped.add(stage);
            seconds.put(stage, complete && earlier.path(stage).isNumber() ? earlier.path(stage).asDouble() : took);
            return result;
        }

        void write(ObjectNode summary) {
            ObjectNode times = summary.putObject("wall_seconds");
            seconds.forEach(times::put);
            skipped.forEach(summary.putArray("skipped_stages")::add);
        }
    }

    private static PpoConfig withOutput(PpoConfig base, List<String> models, Path output) {
        List<String> overrides = new ArrayList<>(models);
        overrides.add("output_dir=" + output);
        return Configs.override(base, overrides);
    }

    private static double[] toDoubles(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) out[i] = values[i];
        return out;
    }

    private static double seconds(long started) {
        return Math.round((System.nanoTime() - started) / 1e8) / 10.0;
    }

    /** Every policy on the evaluation prompts: the judge's rates, reward and cost, Elo from judged battles, charts. */
    private ObjectNode evaluate(Map<String, Path> policies, Path rewardModel, Path costModel, Path out, PpoConfig lagrangian)
            throws IOException {
        List<PromptRecord> prompts = Data.prompts(lagrangian.evalDatasets(), seed);
        GroundTruthJudge judge = new GroundTruthJudge();
        ai.djl.Device device = Device.parse(lagrangian.device());
        Map<String, List<PolicySamples.Sample>> answers = new LinkedHashMap<>();
        ObjectNode summary = new ObjectMapper().createObjectNode();
        ObjectNode perPolicy = summary.putObject("policies");
        Map<String, double[]> rewardsByPolicy = new LinkedHashMap<>(), costsByPolicy = new LinkedHashMap<>();
        try (Tokenizer tokenizer = Tokenizer.load(policies.get("SFT"));
             Scorer reward = Scorer.load(rewardModel, device);
             Scorer cost = Scorer.load(costModel, device)) {
            for (Map.Entry<String, Path> policy : policies.entrySet()) {
                List<PolicySamples.Sample> samples = PolicySamples.generate(policy.getValue(), device, tokenizer, prompts,
                        Generation.Config.sampling(lagrangian.maxLength() / 2, seed), lagrangian.perDeviceEvalBatchSize(),
                        lagrangian.maxLength() / 2);
                answers.put(policy.getKey(), samples);
                List<SftRecord> records = samples.stream().map(a -> new SftRecord(a.prompt().prompt(), a.response())).toList();
                JudgeReport report = JudgeReport.of(samples, judge);
                ObjectNode node = perPolicy.putObject(policy.getKey());
                node.put("model", policy.getValue().toString());
                // the judge's numbers only where it could rate the prompts (BeaverWorld's always can): never a NaN
                report.metrics("").forEach((name, value) -> {
                    if (JUDGE_FIELDS.contains(name)) node.put(name, value);
                });
                float[] rewards = reward.endScores(records, 64, lagrangian.maxLength()); // each with its own tokenizer
                float[] costs = cost.endScores(records, 64, lagrangian.maxLength());
                node.put("mean_reward", PreferenceScores.mean(rewards));
                node.put("mean_cost", PreferenceScores.mean(costs));
                if (policy.getKey().equals("SFT") || policy.getKey().startsWith("PPO")) {
                    rewardsByPolicy.put(policy.getKey(), toDoubles(rewards));
                    costsByPolicy.put(policy.getKey(), toDoubles(costs));
                }
                report.unsafeRateByCategory().forEach(node.putObject("unsafe_rate_by_category")::put);
            }
        }
        Map<String, Double> elo = Elo.ratings(Elo.battles(answers, judge), 20, seed);
        elo.forEach((name, rating) -> ((ObjectNode) perPolicy.get(name)).put("elo", rating));
        Charts.savePng(tradeoffChart(perPolicy), out.resolve("helpfulness_vs_harmlessness.png"));
        // the reference's arena plots: how the reward and cost distributions of the answers move from SFT to Safe RLHF
        Charts.savePng(Charts.histogram("Reward of the answers to the evaluation prompts", "reward", rewardsByPolicy, 40),
                out.resolve("reward_distribution.png"));
        Charts.savePng(Charts.histogram("Cost of the answers to the evaluation prompts (cost > 0 means unsafe)", "cost", costsByPolicy, 40),
                out.resolve("cost_distribution.png"));
        return summary;
    }

    /** The judge's numbers a policy's entry in {@code summary.json} carries (when computed). */
    private static final List<String> JUDGE_FIELDS = List.of("unsafe_rate_harmful", "helpfulness_benign", "over_refusal_benign",
            "judge_rated_prompts");

    /** One point per policy: x = harmlessness (1 - unsafe rate on harmful prompts), y = helpfulness on benign prompts. */
    public static XYChart tradeoffChart(JsonNode perPolicy) {
        XYChart chart = new XYChartBuilder().width(Charts.WIDTH).height(Charts.HEIGHT).title("Helpfulness vs harmlessness (ground-truth judge)")
                .xAxisTitle("harmlessness: 1 - unsafe rate on harmful prompts").yAxisTitle("helpfulness on benign prompts").build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(12);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        perPolicy.fields().forEachRemaining(e -> {
            if (e.getValue().has("unsafe_rate_harmful") && e.getValue().has("helpfulness_benign")) chart.addSeries(e.getKey(),
                new double[] {1 - e.getValue().get("unsafe_rate_harmful").asDouble()},
                new double[] {e.getValue().get("helpfulness_benign").asDouble()});
        });
        return chart;
    }


    private static double lastLambda(Path run) throws IOException {
        List<Map<String, Double>> rows = saferlhf.train.MetricsLog.read(run.resolve("metrics.jsonl"));
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
