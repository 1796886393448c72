package saferlhf.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class PromptTemplateTest {
    @Test
    void constantsAreTheReferenceValues() {
        assertEquals("BEGINNING OF CONVERSATION: ", PromptTemplate.PROMPT_BEGIN);
        assertEquals("USER: {input} ", PromptTemplate.PROMPT_USER);
        assertEquals("ASSISTANT:", PromptTemplate.PROMPT_ASSISTANT);
        assertEquals("BEGINNING OF CONVERSATION: USER: {input} ASSISTANT:", PromptTemplate.PROMPT_INPUT);
    }

    @Test
    void singleTurn() {
        assertEquals("BEGINNING OF CONVERSATION: USER: How do I bake bread? ASSISTANT:", PromptTemplate.format("How do I bake bread?"));
        assertEquals("BEGINNING OF CONVERSATION: USER:  x\n ASSISTANT:", PromptTemplate.format(" x\n"), "input kept verbatim");
        assertEquals("BEGINNING OF CONVERSATION: USER: $1 {input} ASSISTANT:", PromptTemplate.format("$1 {input}"));
    }

    @Test
    void multiTurnFollowsFormatPrompt() {
        assertEquals("BEGINNING OF CONVERSATION: USER: hi ASSISTANT:", PromptTemplate.format(List.of("hi"), "</s>"));
        assertEquals("BEGINNING OF CONVERSATION: USER: hi ASSISTANT:Hello!</s>USER: bye ASSISTANT:",
                PromptTemplate.format(List.of("hi", "Hello!", "bye"), "</s>"));
        assertEquals(PromptTemplate.format("q"), PromptTemplate.format(List.of("q"), "<eos>"));
        assertThrows(IllegalArgumentException.class, () -> PromptTemplate.format(List.of(), "</s>"));
        assertThrows(IllegalArgumentException.class, () -> PromptTemplate.format(List.of("hi", "Hello!"), "</s>"));
    }
}
