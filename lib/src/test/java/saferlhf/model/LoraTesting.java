package saferlhf.model;

import java.util.SplittableRandom;

/** Test helpers for adapters, shared by the model and command-line tests. */
public final class LoraTesting {
    private LoraTesting() {}

    /**
     * Gives every adapter's B random values: B is zero at initialisation, which would hide orientation mistakes and make
     * an adapted model compute exactly what its base does.
     */
    public static void randomizeB(Lora lora, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        lora.namedParameters().forEach((name, array) -> {
            if (!name.endsWith("lora_B.weight")) return;
            float[] values = new float[(int) array.size()];
            for (int i = 0; i < values.length; i++) values[i] = (float) (rng.nextGaussian() * 0.05);
            array.set(values);
        });
    }
}
