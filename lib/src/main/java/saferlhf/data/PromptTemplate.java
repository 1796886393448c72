package saferlhf.data;

import java.util.List;

/**
 * The reference's conversation template ({@code safe_rlhf/configs/constants.py} and
 * {@code safe_rlhf/datasets/utils.py::format_prompt}). The response follows {@code "ASSISTANT:"} directly, with no space,
 * and is followed by the EOS token.
 */
public final class PromptTemplate {
    private PromptTemplate() {}

    public static final String PROMPT_BEGIN = "BEGINNING OF CONVERSATION: ";
    public static final String PROMPT_USER = "USER: {input} ";
    /** No trailing space. */
    public static final String PROMPT_ASSISTANT = "ASSISTANT:";
    /** {@code "BEGINNING OF CONVERSATION: USER: {input} ASSISTANT:"}. */
    public static final String PROMPT_INPUT = PROMPT_BEGIN + PROMPT_USER + PROMPT_ASSISTANT;

    /** A single-turn prompt: {@code "BEGINNING OF CONVERSATION: USER: " + input + " ASSISTANT:"}. */
    public static String format(String input) {
        return PROMPT_INPUT.replace("{input}", input);
    }

    /**
     * A multi-turn prompt, as {@code format_prompt(input=dialogue, eos_token)}: the turns alternate user, assistant, ...,
     * user; each user turn becomes {@code "USER: {turn} ASSISTANT:"} and each earlier assistant turn is followed by
     * {@code eosToken}.
     *
     * @throws IllegalArgumentException if the dialogue is empty or has even length (it must end on a user turn)
     */
    public static String format(List<String> dialogue, String eosToken) {
        if (dialogue.isEmpty() || dialogue.size() % 2 == 0) {
            throw new IllegalArgumentException("dialogue must have an odd number of turns and end on a user turn, got "
                    + dialogue.size() + " turns");
        }
        StringBuilder b = new StringBuilder(PROMPT_BEGIN);
        for (int i = 0; i < dialogue.size(); i++) {
            if (i % 2 == 0) b.append(PROMPT_USER.replace("{input}", dialogue.get(i))).append(PROMPT_ASSISTANT);
            else b.append(dialogue.get(i)).append(eosToken);
        }
        return b.toString();
    }
}
