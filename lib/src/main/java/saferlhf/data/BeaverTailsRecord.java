package saferlhf.data;

import java.util.Set;

/** A BeaverTails QA-classification record: a prompt, a response, the 14 category flags and {@code is_safe}. */
public record BeaverTailsRecord(String prompt, String response, Set<BeaverTailsCategory> category, boolean isSafe)
        implements DataRecord {
    public BeaverTailsRecord {
        category = Records.copyOf(category);
    }
}
