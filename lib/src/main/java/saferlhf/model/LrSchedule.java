package saferlhf.model;

/**
 * Learning-rate schedules as Hugging Face {@code get_scheduler} (the reference's {@code lr_scheduler_type}), with
 * {@code warmupSteps = int(warmupRatio * totalSteps)} (floored, as the reference). {@code lr(step)} is the rate for optimizer step {@code step}
 * (0-based: the first update uses {@code lr(0)}, which is 0 during warmup as in HF).
 */
public record LrSchedule(Type type, double baseLr, int totalSteps, int warmupSteps) {
    public enum Type { CONSTANT, CONSTANT_WITH_WARMUP, LINEAR, COSINE }

    public LrSchedule {
        if (baseLr < 0) throw new IllegalArgumentException("lr must be >= 0");
        if (totalSteps < 1) throw new IllegalArgumentException("total steps must be >= 1");
        if (warmupSteps < 0 || warmupSteps > totalSteps) throw new IllegalArgumentException("warmup steps must be in [0, total]");
    }

    public static LrSchedule of(Type type, double baseLr, int totalSteps, double warmupRatio) {
        return new LrSchedule(type, baseLr, totalSteps, (int) Math.floor(warmupRatio * totalSteps));
    }

    /** Parses the reference's names: constant, constant_with_warmup, linear, cosine. */
    public static Type parse(String name) {
        return Type.valueOf(name.trim().toUpperCase(java.util.Locale.ROOT));
    }

    public double lr(int step) {
        return baseLr * factor(step);
    }

    private double factor(int step) {
        if (type == Type.CONSTANT) return 1.0;
        if (step < warmupSteps) return (double) step / Math.max(1, warmupSteps);
        return switch (type) {
            case CONSTANT_WITH_WARMUP -> 1.0;
            case LINEAR -> Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> {
                double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 2.0 * 0.5 * progress)));
            }
            default -> 1.0;
        };
    }
}
