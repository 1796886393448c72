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
import saferlhf.data.PromptRecord;
import saferlhf.data.SafeRlhfRecord;
import saferlhf.eval.PolicySamples;
import saferlhf.model.CausalLM;
import saferlhf.model.Device;
import saferlhf.model.Generation;
import saferlhf.model.ModelFiles;
import saferlhf.model.Tokenizer;
import saferlhf.train.Configs;
import saferlhf.train.Data;
import saferlhf.train.ScoreModelConfig;
import saferlhf.train.ScoreTrainer;
import saferlhf.util.InputError;

/**
 * Multi-round Safe RLHF, as in the paper: round 1 is PPO-Lagrangian from the SFT policy with the first reward and cost
 * models. Each later round k samples two responses per fresh prompt from the current policy, has BeaverWorld's
 * annotators label the pairs (noisy helpfulness and safety labels, PKU-SafeRLHF v1 records), continues training the
 * reward and cost models on them, and runs PPO-Lagrangian again from the current policy. Every stage of every round
 * is skipped when its output is already complete, so an interrupted run resumes.
 *
 * <p>Layout: {@code OUT/round-1/ppo-lag/model}, then for k &gt;= 2 {@code OUT/round-k/preference/train.jsonl},
 * {@code OUT/round-k/rm}, {@code OUT/round-k/cm} and {@code OUT/round-k/ppo-lag}.
 */
public final class Rounds {
    private Rounds() {}

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
     * Runs {@code rounds} rounds with a preset's configs ({@code quick} or {@code full}), refusing any other preset before
     * anything runs.
     */
    public static List<Round> run(String preset, int rounds, int pairsPerRound, String outputDir) throws IOException {
        requireBeaverWorldPreset(preset);
        return run(PpoConfig.preset(preset, "ppo-lag"), ScoreModelConfig.preset(preset, "reward"),
                ScoreModelConfig.preset(preset, "cost"), rounds, pairsPerRound, outputDir);
    }

    /**
     * Runs {@code rounds} rounds. What can be checked before round 1 is: the number of rounds, and (for two or more) that
     * BeaverWorld's annotators can label answers to the prompts each later round draws.
     *
     * @param ppo          round 1's PPO-Lagrangian config (its actor, reward and cost models start round 1)
     * @param reward       the reward-model config whose training continues in later rounds
     * @param cost         the cost-model config, likewise
     * @param pairsPerRound fresh prompts (one labelled pair each) per later round
     * @param outputDir    the rounds' folder
     */
    public static List<Round> run(PpoConfig ppo, ScoreModelConfig reward, ScoreModelConfig cost, int rounds, int pairsPerRound,
                                  String outputDir) throws IOException {
        if (rounds < 1) throw new InputError("rounds must be >= 1 (--rounds), got " + rounds);
        for (int k = 2; k <= rounds; k++) annotationPrompts(ppo, k, pairsPerRound); // refused now, not after round 1
        Path out = KitPaths.resolve(outputDir);
        List<Round> done = new ArrayList<>();
        PpoConfig first = Configs.override(ppo, List.of("output_dir=" + out.resolve("round-1/ppo-lag")));
        done.add(new Round(1, PpoTrainer.ensureTrained(first), KitPaths.resolve(ppo.rewardModelNameOrPath()),
                KitPaths.resolve(ppo.costModelNameOrPath()), null));
        for (int k = 2; k <= rounds; k++) {
            Round previous = done.get(done.size() - 1);
            Path roundDir = out.resolve("round-" + k);
            Path data = roundDir.resolve("preference/train.jsonl");
            if (!Files.isRegularFile(data)) annotate(previous.policy(), ppo, k, pairsPerRound, data);

            ScoreModelConfig rm = Configs.override(reward, List.of("model_name_or_path=" + previous.rewardModel(),
                    "train_datasets=" + data, "epochs=1", "output_dir=" + roundDir.resolve("rm")));
            ScoreModelConfig cm = Configs.override(cost, List.of("model_name_or_path=" + previous.costModel(),
                    "train_datasets=" + data, "epochs=1", "output_dir=" + roundDir.resolve("cm")));
            Path rewardModel = ScoreTrainer.ensureTrained(rm);
            Path costModel = ScoreTrainer.ensureTrained(cm);
            PpoConfig next = Configs.override(ppo, List.of("actor_model_name_or_path=" + previous.policy(),
                    "reward_model_name_or_path=" + rewardModel, "cost_model_name_or_path=" + costModel,
                    "seed=" + (ppo.seed() + k), "output_dir=" + roundDir.resolve("ppo-lag")));
            done.add(new Round(k, PpoTrainer.ensureTrained(next), rewardModel, costModel, data));
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

    /** Two sampled responses per fresh prompt from {@code policy}, labelled by BeaverWorld's annotators. */
    static void annotate(Path policy, PpoConfig ppo, int round, int pairs, Path file) throws IOException {
        List<PromptRecord> prompts = annotationPrompts(ppo, round, pairs);
        GroundTruthJudge judge = new GroundTruthJudge();
        SplittableRandom random = new SplittableRandom(ppo.seed() * 7919 + round);
        List<SafeRlhfRecord> records = new ArrayList<>();
        try (Tokenizer tokenizer = Tokenizer.load(policy); CausalLM model = ModelFiles.loadCausalLM(policy, Device.parse(ppo.device()))) {
            int half = ppo.maxLength() / 2;
            List<PolicySamples.Sample> first = PolicySamples.generate(model, tokenizer, prompts,
                    Generation.Config.sampling(half, ppo.seed() + 100L * round), ppo.perDeviceEvalBatchSize(), half);
            List<PolicySamples.Sample> second = PolicySamples.generate(model, tokenizer, prompts,
                    Generation.Config.sampling(half, ppo.seed() + 100L * round + 1), ppo.perDeviceEvalBatchSize(), half);
            for (int i = 0; i < prompts.size(); i++) {
                records.add(Annotator.DEFAULT.label(judge, prompts.get(i).prompt(), first.get(i).response(), second.get(i).response(),
                        "round-" + (round - 1) + "-policy", random));
            }
        }
        JsonlWriter.write(file, records);
    }
}
