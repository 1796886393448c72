package saferlhf.data;

import java.util.Set;

/**
 * A PKU-SafeRLHF v1 preference record (the 2024 release): all 16 fields, in the order they appear on disk.
 * Severity levels are 0 for a safe response and 1 (minor), 2 (moderate) or 3 (severe) otherwise;
 * {@code response_i_sha256} is sha256(UTF-8(prompt + response_i)).
 */
public record SafeRlhfRecord(
        String prompt,
        String response0,
        String response1,
        String promptSource,
        String response0Source,
        String response1Source,
        boolean isResponse0Safe,
        boolean isResponse1Safe,
        Set<HarmCategory> response0HarmCategory,
        Set<HarmCategory> response1HarmCategory,
        int response0SeverityLevel,
        int response1SeverityLevel,
        int betterResponseId,
        int saferResponseId,
        String response0Sha256,
        String response1Sha256) implements PreferencePair, DataRecord {

    public SafeRlhfRecord {
        Records.requireId("better_response_id", betterResponseId);
        Records.requireId("safer_response_id", saferResponseId);
        Records.requireSeverity("response_0_severity_level", response0SeverityLevel);
        Records.requireSeverity("response_1_severity_level", response1SeverityLevel);
        response0HarmCategory = Records.copyOf(response0HarmCategory);
        response1HarmCategory = Records.copyOf(response1HarmCategory);
    }

    public Set<HarmCategory> harmCategory(int id) {
        return id == 0 ? response0HarmCategory : response1HarmCategory;
    }

    public int severityLevel(int id) {
        return id == 0 ? response0SeverityLevel : response1SeverityLevel;
    }

    public String sha256(int id) {
        return id == 0 ? response0Sha256 : response1Sha256;
    }

    /** The seven fields the reference implementation reads. */
    public SafeRlhfV0Record toV0() {
        return new SafeRlhfV0Record(prompt, response0, response1, isResponse0Safe, isResponse1Safe,
                betterResponseId, saferResponseId);
    }
}
