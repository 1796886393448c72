package saferlhf.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressTest {
    @Test
    void oneLineRedrawsEachLineOverTheLastAndEndsWithANewline() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Progress.OneLine log = new Progress.OneLine(new PrintStream(bytes, true, StandardCharsets.UTF_8), true);
        log.println("[ 0.1 s] sft started");
        log.print("[ 22.1 s] sft ");
        log.println("done");
        log.printf("%s%n", "ok");
        log.end();
        // each line overwrites the one before, padded to its length so no old characters show
        assertEquals("\r[ 0.1 s] sft started\r[ 22.1 s] sft done  \rok" + " ".repeat(16) + "\n",
                bytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void oneLineWhereLinesDoNotRedrawKeepsEveryLine() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Progress.OneLine log = new Progress.OneLine(new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
        log.println("a");
        log.println("b");
        log.end();
        assertEquals("a" + System.lineSeparator() + "b" + System.lineSeparator(), bytes.toString(StandardCharsets.UTF_8));
    }
}
