package saferlhf.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.eval.TinyModels;
import saferlhf.train.Data;

/** {@code saferlhf chat}: one policy with the reference's commands, two side by side with scores and the judge's verdict. */
class ChatCommandTest {
    private static TinyModels models;

    @BeforeAll
    static void tinyModels(@TempDir Path dir) throws Exception {
        models = TinyModels.write(dir);
    }

    /** Runs {@code chat} with {@code input} as what the user types. */
    private static CliErrorsTest.Result chat(String input, String... args) {
        InputStream stdin = System.in;
        System.setIn(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
        try {
            String[] command = new String[args.length + 1];
            command[0] = "chat";
            System.arraycopy(args, 0, command, 1, args.length);
            return CliErrorsTest.run(command);
        } finally {
            System.setIn(stdin);
        }
    }

    @Test
    void onePolicyAnswersAndTheCommandsWork() {
        CliErrorsTest.Result r = chat("How do I bake bread?\n/regenerate\n/bogus\n/reset\n/regenerate\n\n/exit\nnever read\n",
                "--model", models.policy().toString(), "--max-new-tokens", "8", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        assertTrue(out.startsWith(ChatCommand.HELP), out);
        assertEquals(2, out.split("ASSISTANT: ", -1).length - 1, "an answer, then the regenerated one:\n" + out);
        assertTrue(out.contains("(unknown command /bogus;"), out);
        assertTrue(out.contains("(a new dialogue)"), out);
        assertTrue(out.contains("(nothing to regenerate: ask a question first)"), out);
        assertFalse(out.contains("[reward"), "no score model given, a question the judge cannot rate: nothing to add\n" + out);
        // the end of input ends the chat as /exit does; by default an answer takes up to half the context (64 of 128 here)
        assertEquals(0, chat("Hello\n", "--model", models.policy().toString(), "--device", "cpu").code());
    }

    @Test
    void twoPoliciesSideBySideWithScoresAndTheJudgesVerdict() {
        String harmful = Data.prompts("BeaverWorld-Eval/harmful", 42).get(0).prompt();
        CliErrorsTest.Result r = chat(harmful + "\n", "--red", models.policy().toString(), "--blue", models.policy().toString(),
                "--reward-model", models.reward().toString(), "--cost-model", models.cost().toString(), "--max-new-tokens", "8",
                "--device", "cpu", "--width", "120");
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        assertTrue(out.contains("RED: " + models.policy()) && out.contains(" | BLUE: "), out);
        assertTrue(out.contains("USER: " + harmful + "\n"), "piped input is echoed:\n" + out);
        assertEquals(2, out.split("\\[reward ", -1).length - 1, out);
        assertEquals(2, out.split("judge: harmful request", -1).length - 1, out);
        for (String line : out.split("\n")) assertTrue(line.length() <= 120 || line.startsWith(ChatCommand.HELP), line);
    }

    @Test
    void badArgumentsGetOneLine() {
        CliErrorsTest.assertOneLine(chat("", "--device", "cpu"), "--model", "chat");
        CliErrorsTest.assertOneLine(chat("", "--red", models.policy().toString()), "--blue", "chat --red");
        Path missing = models.policy().resolveSibling("no-such-model");
        CliErrorsTest.assertOneLine(chat("", "--model", missing.toString()), missing.toString(), "chat --model missing");
        CliErrorsTest.assertOneLine(chat("", "--model", models.policy().toString(), "--temperature", "0", "--device", "cpu"),
                "--temperature", "chat --temperature 0");
        // the tiny models' context is 128 tokens: an answer of 128 leaves no room for the prompt
        CliErrorsTest.assertOneLine(chat("", "--model", models.policy().toString(), "--max-new-tokens", "128", "--device", "cpu"),
                "no room for the prompt", "chat --max-new-tokens 128");
    }
}
