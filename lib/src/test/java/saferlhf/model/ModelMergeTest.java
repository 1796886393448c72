package saferlhf.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.KitPaths;
import saferlhf.Offline;
import saferlhf.util.InputError;

/** P-SACPO's linear merge: every tensor (1 - q) a + q b; models of other architectures refused. */
class ModelMergeTest {
    @Test
    void everyTensorIsTheWeightedSumOfTheTwo(@TempDir Path dir) throws Exception {
        Offline.apply();
        Path a = dir.resolve("a"), b = dir.resolve("b"), other = dir.resolve("other"), merged = dir.resolve("merged");
        try (Tokenizer tokenizer = Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
             CausalLM modelA = CausalLM.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), Device.cpu(), 1);
             CausalLM modelB = CausalLM.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), Device.cpu(), 2);
             CausalLM llama = CausalLM.create(ModelConfig.tinyLlama(tokenizer.vocabSize()), Device.cpu(), 3)) {
            ModelFiles.save(modelA, tokenizer, a);
            ModelFiles.save(modelB, tokenizer, b);
            ModelFiles.save(llama, tokenizer, other);
        }
        ModelMerge.linear(a, b, 0.25, merged);
        try (CausalLM x = ModelFiles.loadCausalLM(a, Device.cpu()); CausalLM y = ModelFiles.loadCausalLM(b, Device.cpu());
             CausalLM z = ModelFiles.loadCausalLM(merged, Device.cpu())) {
            Map<String, HostTensor> wx = x.toHost(), wy = y.toHost(), wz = z.toHost();
            assertEquals(wx.keySet(), wz.keySet());
            for (String name : wz.keySet()) {
                float[] p = wx.get(name).data(), q = wy.get(name).data(), r = wz.get(name).data();
                for (int i = 0; i < r.length; i++) assertEquals(0.75f * p[i] + 0.25f * q[i], r[i], 1e-6f, name + "[" + i + "]");
            }
        }
        InputError e = assertThrows(InputError.class, () -> ModelMerge.linear(a, other, 0.5, dir.resolve("no")));
        assertTrue(e.getMessage().contains("architecture"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ModelMerge.linear(a, b, 1.5, dir.resolve("no")));
    }
}
