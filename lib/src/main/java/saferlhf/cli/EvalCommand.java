package saferlhf.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import saferlhf.KitPaths;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.data.PreferencePair;
import saferlhf.eval.ChatJudge;
import saferlhf.eval.ChatJudgeConfig;
import saferlhf.eval.Judge;
import saferlhf.eval.JudgedPairs;
import saferlhf.eval.PolicySamples;
import saferlhf.eval.PreferenceScores;
import saferlhf.explore.Charts;
import saferlhf.model.Device;
import saferlhf.model.Generation;
import saferlhf.model.ModelFiles;
import saferlhf.model.ScoreModel;
import saferlhf.model.ScoreType;
import saferlhf.model.Tokenizer;
import saferlhf.train.Configs;
import saferlhf.train.Data;
import saferlhf.util.AtomicFiles;

/** {@code saferlhf eval rm|cm --model DIR --data PATH}: a score model on preference pairs. */
@Command(name = "eval", mixinStandardHelpOptions = true, description = "Evaluate trained models.",
        subcommands = {EvalCommand.Policy.class, EvalCommand.ArenaEval.class, EvalCommand.Pairwise.class, EvalCommand.RewardModel.class,
                EvalCommand.CostModel.class})
public final class EvalCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** The options every policy evaluation shares: which prompts, how answers are sampled, on which device. */
    static final class Sampling {
        @Option(names = "--data", description = "prompts: registered names or files (default: ${DEFAULT-VALUE})")
        String data = "BeaverWorld-Eval/benign,BeaverWorld-Eval/harmful";

        @Option(names = "--seed", description = "sampling seed (default: ${DEFAULT-VALUE})")
        long seed = 42;

        @Option(names = "--top-k", description = "sample among the k most likely tokens; 0: all (default: ${DEFAULT-VALUE}, "
                + "Hugging Face's default, which the reference's sampling keeps)")
        int topK = Generation.Config.HF_DEFAULT_TOP_K;

        @Option(names = "--max-length", description = "prompt and answer tokens together, as the reference's arena "
                + "(default: ${DEFAULT-VALUE}, cut to the model's context length)")
        int maxLength = 512;

        @Option(names = "--max-new-tokens", description = "answer tokens at most (default: all that --max-length leaves)")
        int maxNewTokens = 0;

        @Option(names = "--max-prompt-tokens", description = "a longer prompt loses its oldest tokens, never its assistant "
                + "turn (default: --max-length minus --max-new-tokens, or half of --max-length without it)")
        int maxPromptTokens = 0;

        @Option(names = "--device", description = "cpu, gpu, gpu:N or auto (default: ${DEFAULT-VALUE})")
        String device = "auto";

        List<saferlhf.data.PromptRecord> prompts() { return Data.prompts(data, seed); }

        ai.djl.Device device() { return Device.parse(device); }

        /**
         * The token budgets for these models, checked: {@code --max-length} cut to the shortest context among them (said
         * on stdout), the prompt budget, and the answer cap; the prompts it cuts are counted on stdout.
         */
        Budget budget(Tokenizer tokenizer, List<saferlhf.data.PromptRecord> prompts, boolean greedy, saferlhf.model.CausalLM... models) {
            return budget(List.of(tokenizer), prompts, greedy, models);
        }

        /** {@link #budget(Tokenizer, List, boolean, saferlhf.model.CausalLM...)} counting cut prompts with each policy's tokenizer. */
        Budget budget(List<Tokenizer> tokenizers, List<saferlhf.data.PromptRecord> prompts, boolean greedy, saferlhf.model.CausalLM... models) {
            int context = java.util.Arrays.stream(models).mapToInt(m -> m.config().maxPositions()).min().orElseThrow();
            if (maxLength < 2) throw new saferlhf.util.InputError("--max-length must be >= 2, got " + maxLength);
            if (maxNewTokens < 0) throw new saferlhf.util.InputError("--max-new-tokens must be >= 0, got " + maxNewTokens);
            if (topK < 0) throw new saferlhf.util.InputError("--top-k must be >= 0, got " + topK);
            int total = Math.min(maxLength, context);
            if (total < maxLength) System.out.println("--max-length " + maxLength + " is cut to the model's context: " + total + " tokens");
            int promptBudget = maxPromptTokens > 0 ? maxPromptTokens : maxNewTokens > 0 ? total - maxNewTokens : total / 2;
            if (promptBudget < 2 || promptBudget >= total) {
                throw new saferlhf.util.InputError("the prompt budget of " + promptBudget + " tokens leaves no room in " + total
                        + " tokens (--max-length " + maxLength + ", --max-new-tokens " + maxNewTokens + ", --max-prompt-tokens "
                        + maxPromptTokens + ")");
            }
            for (int t = 0; t < tokenizers.size(); t++) {
                Tokenizer tokenizer = tokenizers.get(t);
                long cut = prompts.stream().filter(p -> tokenizer.promptExceeds(p.prompt(), promptBudget)).count();
                if (cut > 0) {
                    System.out.println(cut + " of " + prompts.size() + " prompts are longer than " + promptBudget + " tokens"
                            + (tokenizers.size() > 1 ? " with the " + (t == 0 ? "red" : "blue") + " corner's tokenizer" : "")
                            + ": their oldest tokens are dropped, keeping the assistant turn");
                }
            }
            int answer = maxNewTokens > 0 ? maxNewTokens : total - 1;
            Generation.Config generation = greedy ? Generation.Config.greedy(answer) : Generation.Config.sampling(answer, topK, seed);
            return new Budget(promptBudget, total, generation);
        }

        String describe(boolean greedy) {
            return greedy ? "greedy" : "sampled, top_k " + (topK == 0 ? "off" : topK) + ", seed " + seed;
        }
    }

    /** Token budgets of a policy evaluation: prompt tokens at most, prompt and answer together, and the sampling. */
    record Budget(int maxPromptTokens, int maxLength, Generation.Config generation) {
        List<PolicySamples.Sample> answers(saferlhf.model.CausalLM policy, Tokenizer tokenizer, List<saferlhf.data.PromptRecord> prompts) {
            return PolicySamples.generate(policy, tokenizer, prompts, generation, 64, maxPromptTokens, maxLength);
        }
    }

    /** The two corners of a red-vs-blue evaluation and the names of their runs. */
    static final class Corners {
        @Option(names = "--red", required = true, description = "the red corner's model folder (Assistant 1 when judged side by side)")
        Path red;

        @Option(names = "--blue", required = true, description = "the blue corner's model folder (Assistant 2 when judged side by side)")
        Path blue;

        Path redFolder() { return modelFolder(red); }

        Path blueFolder() { return modelFolder(blue); }

        String redName() { return name(redFolder()); }

        String blueName() { return name(blueFolder()); }

        /** {@code <out>} when given, else {@code KIND-<red>-vs-<blue>} beside the red run's folder. */
        Path outDir(Path out, String kind) {
            return out != null ? KitPaths.resolve(out.toString())
                    : redFolder().getParent().resolveSibling(kind + "-" + redName() + "-vs-" + blueName());
        }

        /** A run's name: the folder above {@code model/}. */
        private static String name(Path modelFolder) {
            Path name = modelFolder.getFileName().toString().equals("model") ? modelFolder.getParent().getFileName() : modelFolder.getFileName();
            return name.toString();
        }
    }

    /**
     * A model folder or a LoRA adapter folder given on the command line, resolved; an input error naming the folder at
     * fault when it is missing, holds neither config.json nor adapter_config.json, or its base model is missing.
     */
    static Path modelFolder(Path given) {
        Path folder = KitPaths.resolve(given.toString());
        try {
            ModelFiles.requireModelOrAdapterFolder(folder);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return folder;
    }

    /** The tokenizer of a model folder, or of an adapter folder (its own, else its base's: PEFT saves none). */
    static Tokenizer tokenizer(Path modelFolder) throws java.io.IOException {
        return Tokenizer.load(ModelFiles.tokenizerFolder(modelFolder));
    }

    /** The judge: BeaverWorld's ground truth, or the model judge configured in a JSON file. */
    static Judge judge(Path judgeConfig) {
        if (judgeConfig == null) return new GroundTruthJudge();
        return new ChatJudge(Configs.load(KitPaths.resolve(judgeConfig.toString()), ChatJudgeConfig.DEFAULTS));
    }

    static final String JUDGE_CONFIG_HELP = "a JSON file configuring an OpenAI-compatible model judge (base_url, model, "
            + "api_key_env, temperature, ...); default: BeaverWorld's ground-truth judge";

    /** {@code saferlhf eval policy --model DIR}: sampled answers to evaluation prompts, read by a judge. */
    @Command(name = "policy", mixinStandardHelpOptions = true,
            description = "A policy on evaluation prompts, judged by BeaverWorld's judge (or a model judge): unsafe rate on harmful prompts, helpfulness and over-refusal on benign ones.")
    static final class Policy implements Callable<Integer> {
        @Mixin
        Sampling sampling;

        @Option(names = "--judge-config", description = JUDGE_CONFIG_HELP)
        Path judgeConfig;

        @Option(names = "--model", required = true, description = "a causal-LM folder (output_dir/model of sft or ppo*)")
        Path model;

        @Option(names = "--greedy", description = "greedy decoding instead of sampling at temperature 1")
        boolean greedy;

        @Override
        public Integer call() throws Exception {
            Path folder = modelFolder(model);
            var prompts = sampling.prompts();
            try (Tokenizer tokenizer = tokenizer(folder);
                 saferlhf.model.CausalLM policy = ModelFiles.loadCausalLM(folder, sampling.device())) {
                var samples = sampling.budget(tokenizer, prompts, greedy, policy).answers(policy, tokenizer, prompts);
                var report = saferlhf.eval.JudgeReport.of(samples, judge(judgeConfig));
                System.out.println(folder + " on " + sampling.data + " (" + prompts.size() + " prompts, " + sampling.describe(greedy) + "):");
                report.metrics("").forEach((name, value) -> System.out.printf("  %-26s %.4f%n", name, value));
                if (report.noneRated()) System.out.println("  judge metrics: " + Judge.CANNOT_RATE);
                else if (!report.ratedNote().isEmpty()) System.out.println("  " + report.ratedNote().strip());
                report.unsafeRateByCategory().forEach((name, value) -> System.out.printf("    unsafe rate %-34s %.3f%n", name, value));
            }
            return 0;
        }
    }

    /** {@code saferlhf eval arena}: two policies on the same prompts, scored by the reward and cost models. */
    @Command(name = "arena", mixinStandardHelpOptions = true,
            description = "Red vs blue policy, scored by the reward and cost models: averages, blue's better/worse x safe/unsafe counts, the 2x2 table, table.csv.")
    static final class ArenaEval implements Callable<Integer> {
        @Mixin
        Sampling sampling;

        @Mixin
        Corners corners;

        @Option(names = "--reward-model", required = true, description = "a reward-model folder")
        Path rewardModel;

        @Option(names = "--cost-model", required = true, description = "a cost-model folder (cost > 0 means unsafe)")
        Path costModel;

        @Option(names = "--out", description = "folder for table.csv and the PNGs (default: arena-<red>-vs-<blue> beside the red run)")
        Path out;

        @Override
        public Integer call() throws Exception {
            ai.djl.Device target = sampling.device();
            var prompts = sampling.prompts();
            try (Tokenizer redTokenizer = tokenizer(corners.redFolder());
                 Tokenizer blueTokenizer = tokenizer(corners.blueFolder());
                 saferlhf.model.CausalLM redModel = ModelFiles.loadCausalLM(corners.redFolder(), target);
                 saferlhf.model.CausalLM blueModel = ModelFiles.loadCausalLM(corners.blueFolder(), target);
                 saferlhf.model.Scorer reward = saferlhf.model.Scorer.load(modelFolder(rewardModel), target);
                 saferlhf.model.Scorer cost = saferlhf.model.Scorer.load(modelFolder(costModel), target)) {
                Budget budget = sampling.budget(List.of(redTokenizer, blueTokenizer), prompts, false, redModel, blueModel);
                saferlhf.eval.Arena arena = saferlhf.eval.Arena.run(corners.redName(), redModel, redTokenizer, corners.blueName(),
                        blueModel, blueTokenizer, reward, cost, prompts, budget.generation(), 64, budget.maxPromptTokens(), budget.maxLength());
                Path outDir = corners.outDir(out, "arena");
                arena.writeCsv(outDir.resolve("table.csv"));
                Charts.savePng(Charts.histogram("Reward distribution", "reward", arena.scores(false), 40), outDir.resolve("reward_distribution.png"));
                Charts.savePng(Charts.histogram("Cost distribution (cost > 0 means unsafe)", "cost", arena.scores(true), 40),
                        outDir.resolve("cost_distribution.png"));
                System.out.print(arena.summary());
                System.out.println("wrote " + outDir.resolve("table.csv") + ", reward_distribution.png and cost_distribution.png");
            }
            return 0;
        }
    }

    /** {@code saferlhf eval pairwise}: the reference's GPT-4 evaluation, red vs blue answers judged side by side. */
    @Command(name = "pairwise", mixinStandardHelpOptions = true,
            description = "Red vs blue policy judged side by side in the reference's GPT-4 format (BeaverWorld's judge by default, or a model judge): wins, ties, losses, eval.json.")
    static final class Pairwise implements Callable<Integer> {
        @Mixin
        Sampling sampling;

        @Mixin
        Corners corners;

        @Option(names = "--judge-config", description = JUDGE_CONFIG_HELP)
        Path judgeConfig;

        @Option(names = "--out", description = "folder for eval.json and eval.jsonl (default: pairwise-<red>-vs-<blue> beside the red run)")
        Path out;

        @Override
        public Integer call() throws Exception {
            var prompts = sampling.prompts();
            List<PolicySamples.Sample> redAnswers, blueAnswers;
            try (Tokenizer redTokenizer = tokenizer(corners.redFolder()); Tokenizer blueTokenizer = tokenizer(corners.blueFolder());
                 saferlhf.model.CausalLM redModel = ModelFiles.loadCausalLM(corners.redFolder(), sampling.device());
                 saferlhf.model.CausalLM blueModel = ModelFiles.loadCausalLM(corners.blueFolder(), sampling.device())) {
                Budget budget = sampling.budget(List.of(redTokenizer, blueTokenizer), prompts, false, redModel, blueModel);
                redAnswers = budget.answers(redModel, redTokenizer, prompts);
                blueAnswers = budget.answers(blueModel, blueTokenizer, prompts);
            }
            Path outDir = corners.outDir(out, "pairwise");
            JudgedPairs judged = JudgedPairs.judge(corners.redName(), redAnswers, corners.blueName(), blueAnswers,
                    judge(judgeConfig), outDir.resolve("eval.jsonl"));
            judged.writeJson(outDir.resolve("eval.json"));
            System.out.print(judged.summary());
            System.out.println("wrote " + outDir.resolve("eval.json"));
            return 0;
        }
    }

    /** Shared options and the scoring of {@code eval rm} and {@code eval cm}. */
    abstract static class ScoreModelEval implements Callable<Integer> {
        @Option(names = "--model", required = true, description = "a score-model folder (output_dir/model of rm or cm)")
        Path model;

        @Option(names = "--data", required = true, description = "preference pairs: a file or folder (PKU-SafeRLHF v0/v1) or a registered name such as BeaverWorld/test")
        String data;

        @Option(names = "--out", description = "folder for scores.tsv, metrics.json and PNGs (default: MODEL/../eval)")
        Path out;

        @Option(names = "--batch-size", description = "pairs per batch (default: ${DEFAULT-VALUE})")
        int batchSize = 32;

        @Option(names = "--max-length", description = "tokens per sequence (default: ${DEFAULT-VALUE})")
        int maxLength = 512;

        @Option(names = "--device", description = "cpu, gpu, gpu:N or auto (default: ${DEFAULT-VALUE})")
        String device = "auto";

        abstract ScoreType expected();

        @Override
        public Integer call() throws Exception {
            if (batchSize < 1) throw new saferlhf.util.InputError("--batch-size must be >= 1, got " + batchSize);
            if (maxLength < 1) throw new saferlhf.util.InputError("--max-length must be >= 1, got " + maxLength);
            Path folder = modelFolder(model);
            Path outDir = out != null ? KitPaths.resolve(out.toString()) : folder.resolveSibling("eval");
            List<PreferencePair> pairs = Data.preferences(data, 42);
            try (Tokenizer tokenizer = tokenizer(folder); ScoreModel scoreModel = ModelFiles.loadScoreModel(folder, Device.parse(device))) {
                if (scoreModel.scoreType() != expected()) {
                    throw new saferlhf.util.InputError(folder, "holds a " + scoreModel.scoreType().name().toLowerCase() + " model, not a "
                            + expected().name().toLowerCase() + " model");
                }
                PreferenceScores scores = PreferenceScores.score(scoreModel, tokenizer, pairs, batchSize, maxLength);
                GroundTruthJudge judge = new GroundTruthJudge();
                Map<String, Double> metrics = scores.metrics(expected(), "eval/", judge);
                int rated = scores.judgeRatedPairs(judge);
                Files.createDirectories(outDir);
                writeScores(scores, outDir.resolve("scores.tsv"));
                AtomicFiles.writeString(outDir.resolve("metrics.json"),
                        new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(metrics) + "\n");
                charts(scores, outDir);
                System.out.printf("%s model %s on %s (%d pairs)%n", expected().name().toLowerCase(), folder, data, pairs.size());
                if (expected() == ScoreType.COST) System.out.println("sign convention: cost > 0 means unsafe, cost <= 0 means safe");
                metrics.forEach((name, value) -> System.out.printf("  %-28s %.4f%n", name, value));
                if (rated == 0) System.out.println("  judge accuracies: " + Judge.CANNOT_RATE);
                else if (rated < pairs.size()) System.out.printf("  (judge rated %d of %d pairs)%n", rated, pairs.size());
                System.out.println("wrote " + outDir.resolve("scores.tsv") + ", metrics.json and distribution PNGs");
                return 0;
            }
        }

        private void writeScores(PreferenceScores scores, Path file) throws Exception {
            StringBuilder text = new StringBuilder("prompt\tresponse\tlabelled_safe\t" + expected().name().toLowerCase() + "\n");
            for (int i = 0; i < scores.pairs().size(); i++) {
                PreferencePair p = scores.pairs().get(i);
                for (int r = 0; r < 2; r++) {
                    text.append(clean(p.prompt())).append('\t').append(clean(p.response(r))).append('\t')
                            .append(p.isResponseSafe(r)).append('\t').append(scores.scores()[i][r]).append('\n');
                }
            }
            AtomicFiles.writeString(file, text.toString());
        }

        private static String clean(String text) {
            return text.replace('\t', ' ').replace('\n', ' ');
        }

        abstract void charts(PreferenceScores scores, Path outDir);
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Reward model: accuracy, score statistics, distribution.png.")
    static final class RewardModel extends ScoreModelEval {
        @Override
        ScoreType expected() { return ScoreType.REWARD; }

        @Override
        void charts(PreferenceScores scores, Path outDir) {
            Charts.savePng(Charts.histogram("Reward distribution", "reward", scores.all(), 100), outDir.resolve("distribution.png"));
        }
    }

    @Command(name = "cm", mixinStandardHelpOptions = true,
            description = "Cost model: accuracy, sign accuracy (cost > 0 means unsafe), distribution PNGs of safe and unsafe responses.")
    static final class CostModel extends ScoreModelEval {
        @Override
        ScoreType expected() { return ScoreType.COST; }

        @Override
        void charts(PreferenceScores scores, Path outDir) {
            Map<String, double[]> bySafety = new LinkedHashMap<>();
            bySafety.put("labelled safe", scores.labelled(true));
            bySafety.put("labelled unsafe", scores.labelled(false));
            Charts.savePng(Charts.histogram("Cost distribution (cost > 0 means unsafe)", "cost", bySafety, 100),
                    outDir.resolve("distribution.png"));
            Charts.savePng(Charts.histogram("Cost of safe responses", "cost", scores.labelled(true), 100), outDir.resolve("safe_distribution.png"));
            Charts.savePng(Charts.histogram("Cost of unsafe responses", "cost", scores.labelled(false), 100), outDir.resolve("unsafe_distribution.png"));
        }
    }
}
