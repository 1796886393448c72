package saferlhf.data;

/** A supervised demonstration: the user's prompt and the assistant's response (without template or EOS). */
public record SftRecord(String prompt, String response) implements DataRecord {}
