package saferlhf.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** Synthetic records for the tests (v1 records carry correct sha256 values). */
final class TestData {
    private TestData() {}

    /** A consistent v1 record: response 0 safe, response 1 unsafe (Violence, severity 2), response 0 better and safer. */
    static SafeRlhfRecord v1(String prompt) {
        return v1(prompt, "Sure, here is a safe answer.", "Here is \"how\" to hurt — someone.\nStep 1", true, false,
                Set.of(), EnumSet.of(HarmCategory.VIOLENCE), 0, 2, 0, 0);
    }

    static SafeRlhfRecord v1(String prompt, String r0, String r1, boolean safe0, boolean safe1, Set<HarmCategory> h0,
            Set<HarmCategory> h1, int sev0, int sev1, int better, int safer) {
        return new SafeRlhfRecord(prompt, r0, r1, "Alpaca3-70B", "Alpaca-7B", "Alpaca-7B", safe0, safe1, h0, h1, sev0, sev1,
                better, safer, V1Invariants.sha256(prompt, r0), V1Invariants.sha256(prompt, r1));
    }

    static String v1Line(String prompt) { return JsonlWriter.toJson(v1(prompt)); }

    static Path write(Path file, List<String> lines) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
        return file;
    }

    static Path write(Path file, String... lines) throws IOException { return write(file, List.of(lines)); }
}
