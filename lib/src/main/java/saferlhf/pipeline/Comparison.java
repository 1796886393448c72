package saferlhf.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import saferlhf.KitPaths;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.data.PromptRecord;
import saferlhf.eval.Bootstrap;
import saferlhf.eval.JudgeReport;
import saferlhf.explore.Charts;
import saferlhf.train.Data;
import saferlhf.util.AtomicFiles;
import saferlhf.util.InputError;
import saferlhf.util.JsonFiles;

/**
 * Constrained-alignment methods side by side, judged by BeaverWorld's ground truth (docs/methods.md): one reproduction
 * per seed ({@link Reproduction}: SFT, the reward and cost models, PPO, Safe RLHF's rounds, reward shaping, DPO) with
 * the chosen {@code methods} added, every policy trained from the same SFT model and, where it needs them, the same
 * reward and cost models. Then, over the seeds, each policy's unsafe rate, helpfulness and over-refusal with 95%
 * intervals ({@link Bootstrap}: seeds and prompts resampled), the Pareto front of unsafe rate against helpfulness, and
 * what each method cost to train; {@code report.md}, {@code summary.json} and {@code plane.png} in {@code outputDir}.
 * Each seed's reproduction resumes and skips what is complete, so an interrupted comparison resumes too.
 *
 * @param seeds the seeds, one reproduction each in {@code outputDir/seed-N}
 */
public record Comparison(String preset, String outputDir, List<Long> seeds, List<String> settings, List<String> methods) {
    /** The added methods that train from the reward and cost models (beside the reproduction's PPO-Lagrangian and shaping). */
    private static final List<String> FROM_SCORE_MODELS = List.of("grpo_lag", "repo", "mocan", "c_dpo");

    /** Bootstrap replicates of each interval. */
    public static final int REPLICATES = 2000;

    public Comparison {
        seeds = List.copyOf(seeds);
        if (seeds.isEmpty()) throw new InputError("--seeds: at least one seed");
        if (seeds.stream().distinct().count() < seeds.size()) throw new InputError("--seeds: a seed given twice: " + seeds);
        settings = List.copyOf(settings);
        methods = List.copyOf(methods);
        new Reproduction(preset, outputDir, seeds.get(0), settings, methods); // refuses a bad preset, setting or method first
    }

    /** The reproduction of one seed. */
    public Reproduction reproduction(long seed) {
        return new Reproduction(preset, KitPaths.resolve(outputDir).resolve("seed-" + seed).toString(), seed, settings, methods);
    }

    /** Runs (or resumes) every seed's reproduction, then writes the comparison; returns its summary. */
    public ObjectNode run(StageGraph.Schedule schedule, PrintStream log) throws IOException {
        List<Path> runs = new ArrayList<>();
        for (long seed : seeds) {
            log.println("seed " + seed + ":");
            Reproduction reproduction = reproduction(seed);
            reproduction.run(schedule, log);
            runs.add(KitPaths.resolve(reproduction.outputDir()));
        }
        Path out = KitPaths.resolve(outputDir);
        ObjectNode summary = summarise(runs);
        AtomicFiles.writeString(out.resolve("summary.json"), summary.toPrettyString() + "\n");
        Charts.savePng(plane(summary), out.resolve("plane.png"));
        AtomicFiles.writeString(out.resolve("report.md"), markdown(summary, preset));
        return summary;
    }

    /**
     * The comparison of finished reproductions: for every policy they all evaluated, the judge's three rates with
     * intervals, whether it is on the Pareto front, and its training cost.
     */
    public static ObjectNode summarise(List<Path> runs) throws IOException {
        GroundTruthJudge judge = new GroundTruthJudge();
        Map<String, Map<String, List<double[]>>> perPolicy = new LinkedHashMap<>(); // policy -> metric -> per seed
        Map<String, List<Double>> trainingSeconds = new LinkedHashMap<>();
        Map<String, List<Cost>> trainingCosts = new LinkedHashMap<>();
        Map<String, String> stageOf = new LinkedHashMap<>();
        List<JsonNode> summaries = new ArrayList<>();
        for (Path run : runs) summaries.add(JsonFiles.read(run.resolve("summary.json")));
        for (int r = 0; r < runs.size(); r++) {
            JsonNode summary = summaries.get(r);
            if (!summary.has("evaluation_datasets") || !summary.has("seed")) {
                throw new InputError(runs.get(r).resolve("summary.json"), "written by an older kit (no evaluation_datasets or seed): rerun the reproduction");
            }
            List<PromptRecord> prompts = Data.prompts(summary.get("evaluation_datasets").asText(), summary.get("seed").asLong());
            for (var entry : (Iterable<Map.Entry<String, JsonNode>>) summary.get("policies")::fields) {
                String policy = entry.getKey(), stage = entry.getValue().get("stage").asText();
                if (r > 0 && !perPolicy.containsKey(policy)) continue; // only policies every run has
                stageOf.put(policy, stage);
                JudgeReport.PerPrompt values = JudgeReport.perPrompt(Reproduction.answers(runs.get(r), stage, prompts), judge);
                Map<String, List<double[]>> metrics = perPolicy.computeIfAbsent(policy, k -> new LinkedHashMap<>());
                metrics.computeIfAbsent("unsafe_rate_harmful", k -> new ArrayList<>()).add(values.unsafeHarmful());
                metrics.computeIfAbsent("helpfulness_benign", k -> new ArrayList<>()).add(values.helpfulnessBenign());
                metrics.computeIfAbsent("over_refusal_benign", k -> new ArrayList<>()).add(values.overRefusalBenign());
                trainingSeconds.computeIfAbsent(policy, k -> new ArrayList<>()).add(trainingSeconds(stage, summary.path("wall_seconds")));
                trainingCosts.computeIfAbsent(policy, k -> new ArrayList<>()).add(trainingCost(stage, runs.get(r)));
            }
        }
        perPolicy.values().removeIf(metrics -> metrics.get("unsafe_rate_harmful").size() < runs.size());

        ObjectNode out = JSON.createObjectNode();
        var seedList = out.putArray("seeds");
        summaries.forEach(s -> seedList.add(s.get("seed").asLong()));
        out.put("replicates", REPLICATES);
        ObjectNode policies = out.putObject("policies");
        Map<String, double[]> points = new LinkedHashMap<>();
        perPolicy.forEach((policy, metrics) -> {
            ObjectNode node = policies.putObject(policy);
            metrics.forEach((metric, values) -> {
                Bootstrap.Interval interval = Bootstrap.meanOfSeeds(values, 0.95, REPLICATES, 1234);
                node.putObject(metric).put("estimate", interval.estimate()).put("low", interval.low()).put("high", interval.high());
            });
            String stage = stageOf.get(policy);
            node.put("stage", stage);
            double seconds = trainingSeconds.get(policy).stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
            if (Double.isFinite(seconds)) node.put("training_seconds", seconds); // else left out: unavailable
            node.put("needs", needs(stage));
            node.put("samples_online", stage.startsWith("ppo") || stage.startsWith("shaping") || List.of("grpo_lag", "repo").contains(stage));
            List<Cost> costs = trainingCosts.get(policy);
            putMean(node, "responses_sampled", costs.stream().mapToDouble(Cost::responses));
            putMean(node, "reward_model_calls", costs.stream().mapToDouble(Cost::rewardCalls));
            putMean(node, "cost_model_calls", costs.stream().mapToDouble(Cost::costCalls));
            points.put(policy, new double[] {node.get("unsafe_rate_harmful").get("estimate").asDouble(),
                    node.get("helpfulness_benign").get("estimate").asDouble()});
        });
        List<String> front = paretoFront(points);
        policies.fields().forEachRemaining(e -> ((ObjectNode) e.getValue()).put("pareto", front.contains(e.getKey())));
        return out;
    }

    /**
     * The policies no other policy beats on both axes: none has an unsafe rate as low and a helpfulness as high, with
     * one of the two strictly better. Points are (unsafe rate, helpfulness); the front in order of unsafe rate.
     */
    static List<String> paretoFront(Map<String, double[]> points) {
        List<String> front = new ArrayList<>();
        points.forEach((name, p) -> {
            boolean dominated = points.values().stream().anyMatch(q -> q[0] <= p[0] && q[1] >= p[1] && (q[0] < p[0] || q[1] > p[1]));
            if (!dominated) front.add(name);
        });
        front.sort((a, b) -> Double.compare(points.get(a)[0], points.get(b)[0]));
        return front;
    }

    /**
     * The wall seconds of the stages that train a policy beyond the shared SFT model (each stage's own time); NaN where
     * one of them has no recorded time (a folder whose stages ran before the kit recorded them, or one at a time).
     */
    static double trainingSeconds(String stage, JsonNode wallSeconds) {
        double sum = 0;
        for (String s : trainingStages(stage)) {
            double seconds = wallSeconds.path(s).asDouble(0);
            if (!(seconds > 0)) return Double.NaN; // never timed: skipped in every run that wrote the summary
            sum += seconds;
        }
        return sum;
    }

    /**
     * The stages that train a policy beyond the shared SFT model: its own and those whose outputs it reads (PPO: the
     * reward model; Safe RLHF's round k: the reward and cost models and every round up to k with its labelled samples
     * and retrained models; SACPO: DPO; ...).
     */
    static List<String> trainingStages(String stage) {
        List<String> stages = new ArrayList<>();
        if (stage.equals("ppo")) stages.addAll(List.of("reward_model", "ppo"));
        else if (stage.startsWith("shaping_") || FROM_SCORE_MODELS.contains(stage)) stages.addAll(List.of("reward_model", "cost_model", stage));
        else if (stage.startsWith("ppo_lag_round_")) {
            stages.addAll(List.of("reward_model", "cost_model"));
            int rounds = Integer.parseInt(stage.substring("ppo_lag_round_".length()));
            for (int k = 1; k <= rounds; k++) {
                stages.add("ppo_lag_round_" + k);
                if (k > 1) stages.addAll(List.of("round_" + k + "_preference", "round_" + k + "_reward_model", "round_" + k + "_cost_model"));
            }
        } else if (stage.equals("sacpo")) stages.addAll(List.of("dpo", "sacpo"));
        else if (stage.equals("p_sacpo")) stages.addAll(List.of("dpo", "sacpo", "p_sacpo"));
        else if (stage.equals("pecan")) stages.addAll(List.of("dpo", "dpo_safety", "pecan"));
        else stages.add(stage); // sft, dpo, safe_dpo, bfpo
        return stages;
    }

    /**
     * What a policy's training sampled and scored: answers generated (by the policy in training, by the SFT policy for
     * MoCAN's dual, by the previous round's policy for a later round's labelled pairs) and reward- and cost-model calls
     * (one per answer scored). Evaluations during training are not counted. NaN where a run's records are missing.
     */
    record Cost(double responses, double rewardCalls, double costCalls) {
        static final Cost NONE = new Cost(0, 0, 0);

        Cost plus(Cost o) { return new Cost(responses + o.responses, rewardCalls + o.rewardCalls, costCalls + o.costCalls); }
    }

    /** The sum of {@link #stageCost} over a policy's {@link #trainingStages} in the reproduction {@code run}. */
    static Cost trainingCost(String stage, Path run) throws IOException {
        Cost sum = Cost.NONE;
        for (String s : trainingStages(stage)) sum = sum.plus(stageCost(s, Reproduction.stageFolder(run, s)));
        return sum;
    }

    /**
     * One stage's samples and score-model calls, read from what it wrote: an RL run's {@code metrics.jsonl} (every
     * rollout's answers are scored once by the reward model and, but for PPO, once by the cost model; each rl step logs
     * its micro-batch's {@code time/sequences}, and a rollout is read {@code update_iters} times), MoCAN's and PeCAN's
     * {@code dual.json} (PeCAN calls no score model: its scores are two DPO policies' log-ratios), C-DPO's
     * {@code lambda.json} (each iteration's relabelled pairs and the answers that estimate its cost), a later round's
     * {@code preference/train.jsonl} (two answers a pair, labelled by BeaverWorld's annotators, no model) and
     * {@code threshold.json} (the answers its cost model scored to settle the threshold).
     */
    static Cost stageCost(String stage, Path folder) throws IOException {
        if (folder == null) return Cost.NONE;
        if (stage.equals("mocan") || stage.equals("pecan")) {
            JsonNode dual = JsonFiles.read(folder.resolve("dual.json"));
            double sampled = dual.get("prompts").asDouble() * dual.get("samples_per_prompt").asDouble();
            double mocan = sampled + 2 * dual.path("labelled_pairs").asDouble(Double.NaN); // a MoCAN dual.json without the counts
            return new Cost(sampled, dual.path("reward_model_calls").asDouble(mocan), dual.path("cost_model_calls").asDouble(mocan));
        }
        if (stage.equals("c_dpo")) { // each iteration's relabelling and cost estimate, in lambda.json
            Cost sum = Cost.NONE;
            for (JsonNode i : JsonFiles.read(folder.resolve("lambda.json"))) {
                sum = sum.plus(new Cost(i.get("responses_sampled").asDouble(), i.get("reward_model_calls").asDouble(),
                        i.get("cost_model_calls").asDouble()));
            }
            return sum;
        }
        if (stage.endsWith("_preference")) {
            Path pairs = folder.resolve("preference/train.jsonl");
            if (!java.nio.file.Files.isRegularFile(pairs)) return new Cost(Double.NaN, 0, 0);
            try (var lines = java.nio.file.Files.lines(pairs)) {
                return new Cost(2 * lines.filter(l -> !l.isBlank()).count(), 0, 0);
            }
        }
        Path metrics = folder.resolve("metrics.jsonl"), arguments = folder.resolve("arguments.json");
        if (!java.nio.file.Files.isRegularFile(metrics) || !java.nio.file.Files.isRegularFile(arguments)) {
            return new Cost(Double.NaN, Double.NaN, Double.NaN);
        }
        JsonNode args = JsonFiles.read(arguments);
        double sequences = 0;
        for (Map<String, Double> row : saferlhf.train.MetricsLog.read(metrics)) sequences += row.getOrDefault("time/sequences", Double.NaN);
        double sampled = sequences / args.get("update_iters").asDouble();
        Cost cost = new Cost(sampled, sampled, args.get("algorithm").asText().equals("ppo") ? 0 : sampled);
        Path threshold = folder.getParent().resolve("threshold.json"); // a later round's settled threshold
        if (stage.startsWith("ppo_lag_round_") && java.nio.file.Files.isRegularFile(threshold)) {
            cost = cost.plus(new Cost(0, 0, JsonFiles.read(threshold).get("answers").asDouble()));
        }
        return cost;
    }

    /** The mean over seeds under {@code field}, left out (unavailable) when a seed's value is missing. */
    private static void putMean(ObjectNode node, String field, java.util.stream.DoubleStream perSeed) {
        double mean = perSeed.average().orElse(Double.NaN);
        if (Double.isFinite(mean)) node.put(field, mean);
    }

    /** The trained models a policy's training reads besides SFT. */
    static String needs(String stage) {
        if (stage.equals("pecan")) return "two DPO policies";
        if (stage.equals("ppo")) return "reward model";
        if (stage.startsWith("ppo_lag") || stage.startsWith("shaping") || FROM_SCORE_MODELS.contains(stage)) return "reward and cost models";
        return "none";
    }

    /** The policies on the Pareto front of a comparison's summary, in its order. */
    public static List<String> front(JsonNode summary) {
        List<String> front = new ArrayList<>();
        summary.get("policies").fields().forEachRemaining(e -> { if (e.getValue().get("pareto").asBoolean()) front.add(e.getKey()); });
        return front;
    }

    /** A comparison's summary as a table: each rate with its 95% interval, the front, the training cost. */
    public static tech.tablesaw.api.Table table(JsonNode summary) {
        tech.tablesaw.api.StringColumn policy = tech.tablesaw.api.StringColumn.create("policy"),
                unsafe = tech.tablesaw.api.StringColumn.create("unsafe on harmful [95%]"),
                helpful = tech.tablesaw.api.StringColumn.create("helpfulness on benign [95%]"),
                refusal = tech.tablesaw.api.StringColumn.create("over-refusal [95%]"),
                front = tech.tablesaw.api.StringColumn.create("Pareto front"),
                needs = tech.tablesaw.api.StringColumn.create("trained models it needs");
        tech.tablesaw.api.StringColumn seconds = tech.tablesaw.api.StringColumn.create("training (s)"),
                sampled = tech.tablesaw.api.StringColumn.create("answers sampled"),
                calls = tech.tablesaw.api.StringColumn.create("reward / cost model calls");
        summary.get("policies").fields().forEachRemaining(e -> {
            JsonNode p = e.getValue();
            policy.append(e.getKey());
            unsafe.append(interval(p.get("unsafe_rate_harmful"), 100, "%.1f%%"));
            helpful.append(interval(p.get("helpfulness_benign"), 1, "%.2f"));
            refusal.append(interval(p.get("over_refusal_benign"), 100, "%.1f%%"));
            front.append(p.get("pareto").asBoolean() ? "yes" : "");
            seconds.append(seconds(p));
            sampled.append(count(p, "responses_sampled"));
            calls.append(count(p, "reward_model_calls") + " / " + count(p, "cost_model_calls"));
            needs.append(p.get("needs").asText());
        });
        return tech.tablesaw.api.Table.create("the ground-truth judge's rates over seeds " + summary.get("seeds"), policy, unsafe,
                helpful, refusal, front, seconds, sampled, calls, needs);
    }

    /** The plane: one point per policy (harmlessness, helpfulness), its 95% intervals as a cross, the front joined. */
    public static XYChart plane(JsonNode summary) {
        XYChart chart = Reproduction.planeChart("Constrained alignment on BeaverWorld, " + summary.get("seeds").size()
                + " seed(s), 95% intervals", 9);
        List<Double> frontX = new ArrayList<>(), frontY = new ArrayList<>();
        int n = summary.get("policies").size(), i = 0;
        org.knowm.xchart.style.markers.Marker[] shapes = {org.knowm.xchart.style.markers.SeriesMarkers.CIRCLE,
                org.knowm.xchart.style.markers.SeriesMarkers.DIAMOND, org.knowm.xchart.style.markers.SeriesMarkers.SQUARE,
                org.knowm.xchart.style.markers.SeriesMarkers.TRIANGLE_UP, org.knowm.xchart.style.markers.SeriesMarkers.TRIANGLE_DOWN};
        for (var e : (Iterable<Map.Entry<String, JsonNode>>) summary.get("policies")::fields) {
            JsonNode p = e.getValue(), unsafe = p.get("unsafe_rate_harmful"), help = p.get("helpfulness_benign");
            double x = 1 - unsafe.get("estimate").asDouble(), y = help.get("estimate").asDouble();
            // one hue per policy, evenly around the wheel, alternately dark and light; SFT, the reference point, a black cross
            boolean sft = e.getKey().equals("SFT");
            java.awt.Color color = sft ? java.awt.Color.BLACK : java.awt.Color.getHSBColor((float) i / n, 0.85f, i % 2 == 0 ? 0.75f : 0.95f);
            chart.addSeries(e.getKey(), new double[] {x}, new double[] {y})
                    .setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter).setMarkerColor(color)
                    .setMarker(sft ? org.knowm.xchart.style.markers.SeriesMarkers.CROSS : shapes[i % shapes.length]);
            chart.addAnnotation(new org.knowm.xchart.AnnotationText(e.getKey(), x, y + 0.04, false));
            i++;
            // the intervals: a horizontal bar (harmlessness) and a vertical one (helpfulness) through the point
            chart.addSeries(e.getKey() + " harmlessness interval", new double[] {1 - unsafe.get("high").asDouble(),
                    1 - unsafe.get("low").asDouble()}, new double[] {y, y}).setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE)
                    .setLineColor(color).setShowInLegend(false);
            chart.addSeries(e.getKey() + " helpfulness interval", new double[] {x, x}, new double[] {help.get("low").asDouble(),
                    help.get("high").asDouble()}).setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE)
                    .setLineColor(color).setShowInLegend(false);
            if (p.get("pareto").asBoolean()) {
                frontX.add(x);
                frontY.add(y);
            }
        }
        List<Integer> order = new ArrayList<>();
        for (int k = 0; k < frontX.size(); k++) order.add(k);
        order.sort((a, b) -> Double.compare(frontX.get(a), frontX.get(b)));
        chart.addSeries("Pareto front", order.stream().map(frontX::get).toList(), order.stream().map(frontY::get).toList())
                .setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE).setLineColor(java.awt.Color.BLACK).setLineStyle(new java.awt.BasicStroke(1f,
                        java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
        return chart;
    }

    /** The comparison as Markdown: the table with intervals, the front in words, the chart, how it was computed. */
    static String markdown(JsonNode summary, String preset) {
        StringBuilder md = new StringBuilder("# Constrained alignment methods on BeaverWorld\n\n");
        md.append(String.format(Locale.ROOT, "Preset `%s`, seeds %s. Every number was measured by this comparison; "
                + "`summary.json` holds them all.%n%n", preset, summary.get("seeds")));
        md.append("| policy | unsafe on harmful prompts | helpfulness on benign prompts | over-refusal on benign | Pareto front | "
                + "training (s) | answers sampled | reward / cost model calls | trained models it needs | samples online |\n"
                + "|---|---|---|---|---|---|---|---|---|---|\n");
        summary.get("policies").fields().forEachRemaining(e -> {
            JsonNode p = e.getValue();
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s |%n", e.getKey(),
                    interval(p.get("unsafe_rate_harmful"), 100, "%.1f%%"), interval(p.get("helpfulness_benign"), 1, "%.2f"),
                    interval(p.get("over_refusal_benign"), 100, "%.1f%%"), p.get("pareto").asBoolean() ? "**yes**" : "",
                    seconds(p), count(p, "responses_sampled"), count(p, "reward_model_calls"), count(p, "cost_model_calls"),
                    p.get("needs").asText(), p.get("samples_online").asBoolean() ? "yes" : "no"));
        });
        md.append("\nOn the Pareto front (no other policy both as safe and as helpful, one of them strictly): ")
                .append(String.join(", ", front(summary))).append(".\n\n![the plane](plane.png)\n\n");
        md.append("""
                How to read it: each rate is the mean over seeds of that seed's rate on BeaverWorld's held-out evaluation \
                prompts (harmful prompts for the unsafe rate, benign ones for helpfulness and over-refusal), judged by the \
                ground truth. The brackets are 95% percentile-bootstrap intervals: each replicate draws the seeds with \
                replacement and, within each, the prompts (so one seed's interval holds the sampling of prompts only). \
                The front is taken on the estimates, not on the intervals: two policies whose intervals overlap may swap \
                places on another set of seeds. Training time is the wall time of the stages that train a policy beyond \
                the shared SFT model (Safe RLHF's round k: the reward and cost models and every round up to k), each \
                stage's own time, with other stages possibly running beside it; "unavailable" where a stage it needs was \
                never timed (it ran before the kit recorded times, or on its own with `reproduce --stage`). Answers                 sampled and score-model calls count the same stages from what their runs wrote (mean over seeds): the                 answers generated for training (the RL rollouts; MoCAN's answers by SFT for its dual; a later round's                 labelled pairs, two answers each, labelled by BeaverWorld's annotators) and one call per answer scored                 by the reward or the cost model; evaluations during training are not counted.
                """);
        return md.toString();
    }

    /** A count of the summary, or "unavailable" where a run's records were missing. */
    private static String count(JsonNode policy, String field) {
        return policy.has(field) ? String.format(Locale.ROOT, "%,.0f", policy.get(field).asDouble()) : "unavailable";
    }

    /** A policy's training seconds, or "unavailable" where a stage it needs was never timed. */
    private static String seconds(JsonNode policy) {
        return policy.has("training_seconds") ? String.format(Locale.ROOT, "%.0f", policy.get("training_seconds").asDouble()) : "unavailable";
    }

    private static String interval(JsonNode metric, double scale, String format) {
        return String.format(Locale.ROOT, format + " [" + format + ", " + format + "]", metric.get("estimate").asDouble() * scale,
                metric.get("low").asDouble() * scale, metric.get("high").asDouble() * scale);
    }

    private static final ObjectMapper JSON = new ObjectMapper();
}
