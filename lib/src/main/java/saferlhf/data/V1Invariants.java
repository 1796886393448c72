package saferlhf.data;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;

/**
 * Checks the invariants that hold in real PKU-SafeRLHF v1 records (data-formats.md section 2) and counts violations:
 * <ul>
 *   <li>{@code sha256}: {@code response_i_sha256 == hex(sha256(UTF-8(prompt + response_i)))};</li>
 *   <li>{@code safety}: {@code is_response_i_safe} iff {@code severity_level == 0} iff no harm category is set;</li>
 *   <li>{@code safer}: when exactly one response is safe, {@code safer_response_id} points at it.</li>
 * </ul>
 * A record counts once per kind it violates (a record with both responses' hashes wrong counts one sha256 violation).
 * Feed records with {@link #check}; keeps the first few violations as {@code "FILE:LINE: kind: detail"}.
 */
public final class V1Invariants {
    private final int maxSamples;
    private long records;
    private long sha256Violations;
    private long safetyViolations;
    private long saferViolations;
    private final List<String> samples = new ArrayList<>();

    public V1Invariants() { this(10); }

    public V1Invariants(int maxSamples) { this.maxSamples = maxSamples; }

    /** The lowercase hex sha256 of UTF-8(prompt + response), as the data set's {@code response_i_sha256}. */
    public static String sha256(String prompt, String response) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(digest.digest((prompt + response).getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Checks one record.
     *
     * @param where its location for the report, e.g. {@code "data/Alpaca-7B/train.jsonl:17"}
     * @return true if it violates nothing
     */
    public boolean check(SafeRlhfRecord r, String where) {
        records++;
        boolean ok = true;
        for (int i = 0; i < 2; i++) {
            if (!sha256(r.prompt(), r.response(i)).equals(r.sha256(i))) {
                sha256Violations++;
                note(where, "sha256", "response_" + i + "_sha256 does not match sha256(prompt + response_" + i + ")");
                ok = false;
                break;
            }
        }
        for (int i = 0; i < 2; i++) {
            boolean safe = r.isResponseSafe(i);
            if (safe != (r.severityLevel(i) == 0) || safe != r.harmCategory(i).isEmpty()) {
                safetyViolations++;
                note(where, "safety", "response " + i + ": is_safe=" + safe + ", severity=" + r.severityLevel(i)
                        + ", harm categories=" + r.harmCategory(i).size());
                ok = false;
                break;
            }
        }
        if (r.isResponse0Safe() != r.isResponse1Safe()) {
            int safeId = r.isResponse0Safe() ? 0 : 1;
            if (r.saferResponseId() != safeId) {
                saferViolations++;
                note(where, "safer", "only response " + safeId + " is safe but safer_response_id=" + r.saferResponseId());
                ok = false;
            }
        }
        return ok;
    }

    private void note(String where, String kind, String detail) {
        if (samples.size() < maxSamples) samples.add(where + ": " + kind + ": " + detail);
    }

    public long records() { return records; }

    public long sha256Violations() { return sha256Violations; }

    public long safetyViolations() { return safetyViolations; }

    public long saferViolations() { return saferViolations; }

    /** Total violations over the three kinds. */
    public long violations() { return sha256Violations + safetyViolations + saferViolations; }

    /** The first few violations, {@code "FILE:LINE: kind: detail"}. */
    public List<String> samples() { return Collections.unmodifiableList(samples); }
}
