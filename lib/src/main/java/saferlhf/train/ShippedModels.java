package saferlhf.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import saferlhf.KitPaths;
import saferlhf.util.AtomicFiles;

/**
 * The full preset's SFT, reward and cost models of seed 42, shipped with the kit in {@value #FOLDER} (about 3.5 MB each:
 * the model folder, {@code arguments.json} and {@code metrics.jsonl} of each run, no optimizer state). The quick preset's
 * RL, its reproduction and the notebooks start from them: the quick score models, trained for seconds on a tenth of the
 * pairs, paid an off-topic answer nearly what they paid a helpful one, and every quick PPO-Lagrangian round learned to
 * change the subject (docs/differences.md). {@link #ensureShipped} trains any that is missing with the full presets
 * ({@code SftConfig.full()}, {@code ScoreModelConfig.full(...)}), so deleting the folder and running
 * {@code ./saferlhf reproduce --preset quick} regenerates them.
 */
public final class ShippedModels {
    /** Where the shipped runs are, relative to the project root. */
    public static final String FOLDER = "checkpoints/beaverworld-full-seed42";

    private ShippedModels() {}

    /** The shipped SFT run's config: the full preset, seed 42. */
    public static SftConfig sft() {
        return Configs.override(SftConfig.full(), List.of("output_dir=" + FOLDER + "/sft"));
    }

    /** The shipped reward ({@code reward}) or cost ({@code cost}) model's config: the full preset from the shipped SFT model. */
    public static ScoreModelConfig score(String scoreType) {
        return Configs.override(ScoreModelConfig.full(scoreType), List.of("model_name_or_path=" + FOLDER + "/sft/model",
                "output_dir=" + FOLDER + "/" + (scoreType.equals("cost") ? "cm" : "rm")));
    }

    /** The shipped run of {@code config} (one of the three above), trained first if it is missing; its run folder. */
    public static Path ensureShipped(TrainingArguments config) throws IOException {
        if (config instanceof SftConfig sft) SftTrainer.ensureTrained(sft);
        else if (config instanceof ScoreModelConfig score) {
            SftTrainer.ensureTrained(sft());
            ScoreTrainer.ensureTrained(score);
        } else {
            throw new IllegalArgumentException("not a shipped run: " + config.getClass().getSimpleName());
        }
        return KitPaths.resolve(config.outputDir());
    }

    /**
     * Copies a shipped run into {@code copy}'s output folder as a finished run: its model, its metrics and {@code copy}
     * itself as {@code arguments.json} ({@code copy} is the shipped config with other paths). The model folder comes last
     * and atomically, so an interrupted copy is not taken for a finished one.
     */
    public static <T extends Record & TrainingArguments> Path copyTo(TrainingArguments shipped, T copy) throws IOException {
        Path from = ensureShipped(shipped), to = KitPaths.resolve(copy.outputDir());
        Files.createDirectories(to);
        Files.copy(from.resolve("metrics.jsonl"), to.resolve("metrics.jsonl"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Configs.save(copy, to.resolve("arguments.json"));
        Path model = to.resolve("model"), staged = AtomicFiles.temporaryFolderFor(model);
        try (var files = Files.list(from.resolve("model"))) {
            for (Path file : files.toList()) Files.copy(file, staged.resolve(file.getFileName()));
        }
        AtomicFiles.replaceFolder(staged, model);
        return model;
    }
}
