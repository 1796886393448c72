package saferlhf.data;

/** A PKU-SafeRLHF v0 preference record (PKU-SafeRLHF revision v0, -30K, -10K): exactly the seven fields. */
public record SafeRlhfV0Record(
        String prompt,
        String response0,
        String response1,
        boolean isResponse0Safe,
        boolean isResponse1Safe,
        int betterResponseId,
        int saferResponseId) implements PreferencePair, DataRecord {

    public SafeRlhfV0Record {
        Records.requireId("better_response_id", betterResponseId);
        Records.requireId("safer_response_id", saferResponseId);
    }
}
