package saferlhf.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

@EnabledIfSystemProperty(named = "bench", matches = "true")
class ProfileStep {
    static { ModelTesting.class.getName(); }

    @Test
    void profile() throws Exception {
        try (Tokenizer tok = ModelTesting.beaverTokenizer(); CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(599), Device.cpu(), 1);
             AdamW opt = new AdamW(lm.namedParameters(), AdamW.Config.reference(0.01))) {
            TrainingRun.Data data = TrainingRun.data(tok, 16);
            for (int it = 0; it < 4; it++) {
                long t0 = System.nanoTime(), t1, t2, t3, t4;
                try (NDManager step = lm.manager().newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray ids = data.batch().ids(step), mask = data.batch().mask(step);
                    NDArray logp = lm.logProbs(ids, mask);
                    NDArray loss = logp.sum().neg();
                    loss.getFloat();
                    t1 = System.nanoTime();
                    gc.backward(loss);
                    t2 = System.nanoTime();
                }
                Nd.clipGradNorm(lm.namedParameters().values(), 1.0);
                t3 = System.nanoTime();
                opt.step(1e-3);
                t4 = System.nanoTime();
                System.out.printf("PROF fwd %.1f bwd %.1f clip %.1f adam %.1f ms%n", (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6);
            }
            try (NDManager m = lm.manager().newSubManager()) {
                NDArray a = m.randomNormal(new Shape(1024, 1024));
                a.matMul(a).getFloat(0, 0);
                long t0 = System.nanoTime();
                for (int i = 0; i < 10; i++) a.matMul(a).getFloat(0, 0);
                System.out.printf("PROF matmul 1024: %.1f GFLOP/s%n", 10 * 2.0 * 1024 * 1024 * 1024 / ((System.nanoTime() - t0) / 1e9) / 1e9);
            }
        }
    }
}
