package saferlhf.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class DeviceTest {
    @Test
    void autoFollowsLibtorchsCudaCheck() {
        assertEquals(ai.djl.Device.gpu(0), Device.parse("auto", () -> true));
        assertEquals(ai.djl.Device.cpu(), Device.parse("auto", () -> false));
        assertEquals(ai.djl.Device.cpu(), Device.parse("cpu", () -> true), "an explicit cpu is never overruled");
        assertEquals(ai.djl.Device.gpu(1), Device.parse("cuda:1", () -> false));
        var bad = assertThrows(IllegalArgumentException.class, () -> Device.parse("gpu:-1", () -> true));
        assertTrue(bad.getMessage().contains("gpu:N"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Device.parse("tpu", () -> true));
    }

    @Test
    void autoIsTheCpuWhenLibtorchHasNoCuda() {
        // The CPU case: the build's CPU natives (or a machine without a GPU) report no CUDA, so auto picks the CPU.
        Assumptions.assumeFalse(Engine.getEngine("PyTorch").hasCapability(StandardCapabilities.CUDA), "this machine has CUDA");
        assertFalse(Device.cudaAvailable());
        assertEquals(ai.djl.Device.cpu(), Device.parse("auto"));
        assertEquals(ai.djl.Device.cpu(), Device.parse(null));
        assertEquals("device: cpu() (device=auto: libtorch reports no CUDA)", Device.describe("auto"));
        assertEquals("device: gpu(0) (device=gpu)", Device.describe("gpu"));
    }
}
