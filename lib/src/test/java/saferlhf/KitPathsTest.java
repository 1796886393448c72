package saferlhf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class KitPathsTest {

    @Test
    void shownPathsAreRelativeInsideTheProjectAndAbsoluteOutside() {
        assertEquals(Path.of("checkpoints/x/logs/sft.log"), KitPaths.shown(KitPaths.checkpoints().resolve("x/logs/sft.log")));
        Path outside = KitPaths.projectRoot().resolveSibling("elsewhere-" + System.nanoTime()).resolve("a.log");
        assertEquals(outside, KitPaths.shown(outside));
    }
}
