package saferlhf.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class AdamWTest {
    static { ModelTesting.class.getName(); }

    @Test
    void noWeightDecayOnBiasesAndNormWeights() {
        assertTrue(AdamW.decays("model.layers.0.self_attn.q_proj.weight"));
        assertTrue(AdamW.decays("transformer.h.0.attn.c_attn.weight"));
        assertTrue(AdamW.decays("score_head.weight"));
        assertFalse(AdamW.decays("model.layers.0.self_attn.q_proj.bias"));
        assertFalse(AdamW.decays("model.layers.3.input_layernorm.weight"));
        assertFalse(AdamW.decays("model.layers.3.post_attention_layernorm.weight"));
        assertFalse(AdamW.decays("model.norm.weight"));
        assertFalse(AdamW.decays("transformer.h.0.ln_1.weight"));
        assertFalse(AdamW.decays("transformer.ln_f.weight"));
        assertFalse(AdamW.decays("score_head.bias"));
        // parameter level: with a zero gradient only weight decay moves a parameter
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> params = new LinkedHashMap<>();
            params.put("layer.weight", m.ones(new Shape(2, 2)));
            params.put("layer.bias", m.ones(new Shape(2)));
            params.put("model.norm.weight", m.ones(new Shape(2)));
            params.values().forEach(p -> p.setRequiresGradient(true));
            try (AdamW opt = new AdamW(params, AdamW.Config.reference(0.1))) {
                try (NDManager s = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray loss = params.values().stream().map(p -> p.sum().mul(Nd.scalar(s, 0f))).reduce(NDArray::add).orElseThrow();
                    gc.backward(loss);
                }
                opt.step(0.5);
                assertEquals(1 - 0.5 * 0.1, params.get("layer.weight").getFloat(0, 0), 1e-6);
                assertEquals(1f, params.get("layer.bias").getFloat(0), 0f);
                assertEquals(1f, params.get("model.norm.weight").getFloat(0), 0f);
                assertEquals(1, opt.step());
            }
        }
    }

    @Test
    void matchesTorchAdamWArithmeticAndClipsToMaxNorm() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray w = m.create(new float[] {1f, -2f, 3f});
            w.setRequiresGradient(true);
            Map<String, NDArray> params = Map.of("w.weight", w);
            double lr = 0.1, wd = 0.01, b1 = 0.9, b2 = 0.95, eps = 1e-8;
            double[] p = {1, -2, 3}, mm = new double[3], vv = new double[3];
            try (AdamW opt = new AdamW(params, AdamW.Config.reference(wd))) {
                for (int t = 1; t <= 3; t++) {
                    try (NDManager s = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        // loss = sum(w^2) * 5 -> grad 10 w (global norm 10 |w| > 1, clipped to 1)
                        gc.backward(w.square().sum().mul(Nd.scalar(s, 5f)));
                    }
                    double norm = Nd.clipGradNorm(params.values(), 1.0);
                    double expectedNorm = 10 * Math.sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
                    assertEquals(expectedNorm, norm, 1e-3 * expectedNorm);
                    assertEquals(1.0, Nd.gradNorm(params.values()), 1e-5, "clipped norm must be <= max");
                    opt.step(lr);
                    for (int i = 0; i < 3; i++) { // torch.optim.AdamW
                        double g = 10 * p[i] / expectedNorm * (1.0 / (1.0 + 1e-6 / expectedNorm));
                        p[i] *= 1 - lr * wd;
                        mm[i] = b1 * mm[i] + (1 - b1) * g;
                        vv[i] = b2 * vv[i] + (1 - b2) * g * g;
                        double denom = Math.sqrt(vv[i]) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
                        p[i] -= lr / (1 - Math.pow(b1, t)) * mm[i] / denom;
                    }
                    float[] got = w.toFloatArray();
                    for (int i = 0; i < 3; i++) assertEquals(p[i], got[i], 1e-5, "step " + t + " index " + i);
                    assertEquals(0.0, Nd.gradNorm(params.values()), 0.0, "gradients must be zeroed after the step");
                }
                assertEquals(3, opt.step());
                assertEquals(new Shape(3), opt.m().get("w.weight").getShape());
            }
        }
    }

    @Test
    void schedulesFollowHuggingFace() {
        LrSchedule cos = LrSchedule.of(LrSchedule.Type.COSINE, 1.0, 100, 0.03);
        assertEquals(3, cos.warmupSteps());
        // the reference's int(ratio * total) floors: 1.2 -> 1 step, 0.9 -> none (the first update at the full rate)
        assertEquals(1, LrSchedule.of(LrSchedule.Type.COSINE, 1.0, 40, 0.03).warmupSteps());
        LrSchedule none = LrSchedule.of(LrSchedule.Type.CONSTANT_WITH_WARMUP, 1.0, 30, 0.03);
        assertEquals(0, none.warmupSteps());
        assertEquals(1.0, none.lr(0));
        assertEquals(0.0, cos.lr(0));
        assertEquals(2.0 / 3, cos.lr(2), 1e-12);
        assertEquals(1.0, cos.lr(3), 1e-12);
        assertEquals(0.5, cos.lr(3 + 97 / 2), 0.02);
        assertEquals(0.0, cos.lr(100), 1e-12);
        LrSchedule lin = LrSchedule.of(LrSchedule.Type.LINEAR, 2.0, 10, 0.0);
        assertEquals(2.0, lin.lr(0));
        assertEquals(1.0, lin.lr(5), 1e-12);
        assertEquals(1.0, LrSchedule.of(LrSchedule.Type.CONSTANT, 1.0, 10, 0.5).lr(0));
        assertEquals(0.0, LrSchedule.of(LrSchedule.Type.CONSTANT_WITH_WARMUP, 1.0, 10, 0.5).lr(0));
        assertEquals(LrSchedule.Type.CONSTANT_WITH_WARMUP, LrSchedule.parse("constant_with_warmup"));
    }
}
