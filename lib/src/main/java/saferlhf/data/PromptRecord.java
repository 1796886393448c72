package saferlhf.data;

/**
 * A prompt-only record, {@code {"prompt": ...}} with an optional free-text {@code category}
 * (as in the reference's GPT-4 evaluation problems). {@code category} is null when absent.
 */
public record PromptRecord(String prompt, String category) implements DataRecord {
    public PromptRecord(String prompt) { this(prompt, null); }
}
