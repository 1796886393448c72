package saferlhf.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class V1InvariantsTest {
    private static SafeRlhfRecord withSha(SafeRlhfRecord r, String sha0) {
        return new SafeRlhfRecord(r.prompt(), r.response0(), r.response1(), r.promptSource(), r.response0Source(),
                r.response1Source(), r.isResponse0Safe(), r.isResponse1Safe(), r.response0HarmCategory(),
                r.response1HarmCategory(), r.response0SeverityLevel(), r.response1SeverityLevel(), r.betterResponseId(),
                r.saferResponseId(), sha0, r.response1Sha256());
    }

    @Test
    void sha256IsOfPromptPlusResponseWithoutSeparator() {
        // printf 'ab' | sha256sum
        assertEquals("fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603", V1Invariants.sha256("a", "b"));
        assertEquals(V1Invariants.sha256("ab", ""), V1Invariants.sha256("a", "b"));
    }

    @Test
    void goodRecordsPass() {
        V1Invariants inv = new V1Invariants();
        assertTrue(inv.check(TestData.v1("p"), "f:1"));
        assertTrue(inv.check(TestData.v1("p", "a", "b", false, false, EnumSet.of(HarmCategory.DRUGS),
                EnumSet.of(HarmCategory.CYBERCRIME, HarmCategory.DRUGS), 1, 3, 0, 1), "f:2"), "both unsafe: safer may be either");
        assertTrue(inv.check(TestData.v1("p", "a", "b", true, true, Set.of(), Set.of(), 0, 0, 1, 0), "f:3"));
        assertEquals(3, inv.records());
        assertEquals(0, inv.violations());
        assertTrue(inv.samples().isEmpty());
    }

    @Test
    void eachKindOfViolationIsCountedWithItsLocation() {
        V1Invariants inv = new V1Invariants(2);
        assertFalse(inv.check(withSha(TestData.v1("p"), V1Invariants.sha256("p", "other")), "f:1"));
        assertFalse(inv.check(TestData.v1("p", "a", "b", true, false, Set.of(), Set.of(), 0, 2, 0, 0), "f:2"),
                "unsafe with no category");
        assertFalse(inv.check(TestData.v1("p", "a", "b", true, false, Set.of(), EnumSet.of(HarmCategory.VIOLENCE), 1, 2, 0, 0), "f:3"),
                "safe with severity 1");
        assertFalse(inv.check(TestData.v1("p", "a", "b", true, false, Set.of(), EnumSet.of(HarmCategory.VIOLENCE), 0, 2, 0, 1), "f:4"),
                "safer points at the unsafe one");
        assertEquals(4, inv.records());
        assertEquals(1, inv.sha256Violations());
        assertEquals(2, inv.safetyViolations());
        assertEquals(1, inv.saferViolations());
        assertEquals(4, inv.violations());
        assertEquals(2, inv.samples().size());
        assertTrue(inv.samples().get(0).startsWith("f:1: sha256: "), inv.samples().get(0));
        assertTrue(inv.samples().get(1).startsWith("f:2: safety: "), inv.samples().get(1));
    }
}
