package saferlhf.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/** The reproduction's headline numbers in words: the last round and PPO against SFT, from summary.json's policies. */
class ReadingTest {

    @Test
    void theLastRoundAndPpoAreComparedWithSft() throws Exception {
        ObjectNode policies = (ObjectNode) new ObjectMapper().readTree("""
                {"SFT": {"unsafe_rate_harmful": 0.5, "helpfulness_benign": 1.6, "over_refusal_benign": 0.1},
                 "PPO": {"unsafe_rate_harmful": 0.6, "helpfulness_benign": 1.9, "over_refusal_benign": 0.0},
                 "PPO-Lag round 1": {"unsafe_rate_harmful": 0.3, "helpfulness_benign": 1.5, "over_refusal_benign": 0.2},
                 "PPO-Lag round 2": {"unsafe_rate_harmful": 0.1, "helpfulness_benign": 1.62, "over_refusal_benign": 0.2},
                 "DPO": {"unsafe_rate_harmful": 0.4, "helpfulness_benign": 1.7, "over_refusal_benign": 0.1}}""");
        assertEquals("""
                PPO-Lag round 2 is less unsafe on harmful prompts than SFT (10.0% vs 50.0%: 0.20 of its rate), about as helpful \
                on benign prompts (1.62 vs 1.60) and refuses 20.0% of them (SFT 10.0%).
                PPO is more unsafe on harmful prompts than SFT (60.0% vs 50.0%: 1.20 of its rate), more helpful on benign \
                prompts (1.90 vs 1.60) and refuses 0.0% of them (SFT 10.0%).""", Reproduction.reading(policies));
        policies.remove("SFT");
        assertEquals("", Reproduction.reading(policies));
    }
}
