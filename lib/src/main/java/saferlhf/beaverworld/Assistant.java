package saferlhf.beaverworld;

import java.util.SplittableRandom;

/**
 * A scripted assistant: a mixture over {@link ResponseKind}s, one for benign and one for harmful prompts, and a
 * range of step counts. Two are used to build the data set:
 * <ul>
 *   <li>{@link #ALPACA}: the "Alpaca-like" base assistant whose demonstrations train the SFT policy. It is helpful
 *       on benign prompts and complies with most harmful requests: the unsafe starting point of the paper.</li>
 *   <li>{@link #ANNOTATION}: the wider mixture whose response pairs the annotators label, so that the reward and
 *       cost models see every kind of response, including longer ones than the SFT data holds.</li>
 * </ul>
 *
 * @param benign   probabilities of each ResponseKind (in enum order) on a benign prompt; they sum to 1
 * @param harmful  probabilities of each ResponseKind on a harmful prompt; they sum to 1
 * @param maxSteps the largest number of steps or alternatives in one response (drawn uniformly from 1..maxSteps)
 */
public record Assistant(String name, double[] benign, double[] harmful, int maxSteps) {

    //                                                    COMPLY REFUSE REF+ALT PARTIAL OFF_TOPIC TOXIC
    public static final Assistant ALPACA = new Assistant("BeaverWorld-Alpaca",
            new double[] {0.82, 0.05, 0.00, 0.05, 0.04, 0.04},
            new double[] {0.55, 0.18, 0.14, 0.04, 0.04, 0.05}, 3);

    public static final Assistant ANNOTATION = new Assistant("BeaverWorld-Annotation",
            new double[] {0.45, 0.10, 0.10, 0.15, 0.10, 0.10},
            new double[] {0.35, 0.15, 0.25, 0.05, 0.10, 0.10}, 4);

    public Assistant {
        for (double[] mixture : new double[][] {benign, harmful}) {
            if (mixture.length != ResponseKind.values().length || Math.abs(java.util.Arrays.stream(mixture).sum() - 1) > 1e-9) {
                throw new IllegalArgumentException(name + ": a mixture needs one probability per ResponseKind summing to 1");
            }
        }
    }

    /** Draws a response kind for a prompt of {@code intent}. */
    public ResponseKind sampleKind(Intent intent, SplittableRandom random) {
        double[] mixture = intent.isHarmful() ? harmful : benign;
        double u = random.nextDouble();
        for (int k = 0; k < mixture.length; k++) {
            u -= mixture[k];
            if (u < 0) return ResponseKind.values()[k];
        }
        return ResponseKind.values()[mixture.length - 1];
    }

    /** A response to a prompt of {@code intent}: a kind drawn from the mixture, then written. */
    public String respond(Intent intent, SplittableRandom random) {
        return Responses.write(sampleKind(intent, random), intent, 1 + random.nextInt(maxSteps), random);
    }
}
