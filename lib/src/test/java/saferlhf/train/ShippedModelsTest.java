package saferlhf.train;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.KitPaths;
import saferlhf.model.ModelFiles;

class ShippedModelsTest {
    @Test
    void theShippedRunsAreTheFullPresetsAndComplete() throws IOException {
        assertEquals(SftConfig.full().epochs(), ShippedModels.sft().epochs());
        assertEquals(ScoreModelConfig.full("cost").trainDatasets(), ShippedModels.score("cost").trainDatasets());
        for (TrainingArguments shipped : List.of(ShippedModels.sft(), ShippedModels.score("reward"), ShippedModels.score("cost"))) {
            assertTrue(TrainingLoop.isComplete(shipped), shipped.outputDir() + " is not shipped complete");
            // what was saved with the run is the config that names it: the kit's presets made these files
            Configs.requireSameAsSaved((Record) shipped, KitPaths.resolve(shipped.outputDir()).resolve("arguments.json"));
        }
    }

    @Test
    void aCopyIsAFinishedRunWithItsOwnArguments(@TempDir Path dir) throws IOException {
        ScoreModelConfig copy = Configs.override(ShippedModels.score("reward"), List.of("output_dir=" + dir.resolve("rm")));
        Path model = ShippedModels.copyTo(ShippedModels.score("reward"), copy);
        assertTrue(ModelFiles.isComplete(model));
        assertTrue(TrainingLoop.isComplete(copy));
        Configs.requireSameAsSaved(copy, dir.resolve("rm/arguments.json"));
        assertArrayEquals(Files.readAllBytes(KitPaths.resolve(ShippedModels.FOLDER).resolve("rm/model/model.safetensors")),
                Files.readAllBytes(model.resolve("model.safetensors")));
        assertTrue(Files.size(dir.resolve("rm/metrics.jsonl")) > 0, "the training curves travel with the copy");
    }
}
