package saferlhf.eval;

import ai.djl.Device;
import java.io.IOException;
import java.nio.file.Path;
import saferlhf.KitPaths;
import saferlhf.Offline;
import saferlhf.model.CausalLM;
import saferlhf.model.ModelConfig;
import saferlhf.model.ModelFiles;
import saferlhf.model.ScoreModel;
import saferlhf.model.ScoreType;
import saferlhf.model.Tokenizer;

/** Untrained tiny GPT-2-shaped models on BeaverWorld's tokenizer, saved as model folders: a policy, a reward and a cost model. */
public record TinyModels(Path policy, Path reward, Path cost) {
    public static TinyModels write(Path dir) throws IOException {
        Offline.apply();
        TinyModels models = new TinyModels(dir.resolve("policy"), dir.resolve("rm"), dir.resolve("cm"));
        try (Tokenizer tokenizer = Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
             CausalLM actor = CausalLM.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), Device.cpu(), 1);
             ScoreModel rm = ScoreModel.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), ScoreType.REWARD, Device.cpu(), 2);
             ScoreModel cm = ScoreModel.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), ScoreType.COST, Device.cpu(), 3)) {
            ModelFiles.save(actor, tokenizer, models.policy());
            ModelFiles.save(rm, tokenizer, models.reward());
            ModelFiles.save(cm, tokenizer, models.cost());
        }
        return models;
    }
}
