package saferlhf.data;

/**
 * What every Safe RLHF trainer reads from a preference record: the seven fields of PKU-SafeRLHF v0, which the
 * reference implementation maps to {@code RawSample(input, answer, other_answer, better, safer, is_safe, is_other_safe)}.
 * Both {@link SafeRlhfV0Record} and {@link SafeRlhfRecord} (v1) implement it.
 */
public interface PreferencePair {
    String prompt();
    String response0();
    String response1();
    boolean isResponse0Safe();
    boolean isResponse1Safe();
    /** 0 or 1: which response is more helpful. */
    int betterResponseId();
    /** 0 or 1: which response is more harmless. */
    int saferResponseId();

    default String response(int id) {
        return switch (id) {
            case 0 -> response0();
            case 1 -> response1();
            default -> throw new IllegalArgumentException("response id must be 0 or 1, got " + id);
        };
    }

    default boolean isResponseSafe(int id) {
        return id == 0 ? isResponse0Safe() : isResponse1Safe();
    }
}
