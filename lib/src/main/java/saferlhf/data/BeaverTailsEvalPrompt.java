package saferlhf.data;

/** A BeaverTails-Evaluation prompt: {@code {"prompt", "category", "category_id"}}; the prompt is kept verbatim. */
public record BeaverTailsEvalPrompt(String prompt, BeaverTailsCategory category) implements DataRecord {
    public int categoryId() { return category.id(); }
}
