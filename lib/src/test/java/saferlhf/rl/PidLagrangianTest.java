package saferlhf.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The PID multiplier against traces computed by hand from the update rule in {@link PidLagrangian}'s comment. */
class PidLagrangianTest {
    @Test
    void aHandComputedTrace() {
        // K_P 1, K_I 0.5, K_D 2, d_delay 2, no EMA on the error, EMA 0.5 on the cost, threshold 0, lambda_init 0.1
        PidLagrangian pid = new PidLagrangian(1, 0.5, 2, 2, 0, 0.5, 0, 0.1, 0);
        assertEquals(0.1, pid.lambda(), 1e-12);
        // J 1: Delta 1, I 0.1 + 0.5 = 0.6, P 1, D_cost 0.5, dCost 0.5 - 0 -> lambda 1 + 0.6 + 2 * 0.5
        assertEquals(2.6, pid.update(1), 1e-12);
        // J -1: Delta -1, I 0.1, P -1, D_cost -0.25, dCost (-0.25 - 0)+ = 0 -> (-1 + 0.1)+ = 0
        assertEquals(0.0, pid.update(-1), 1e-12);
        // J 2: Delta 2, I 1.1, P 2, D_cost 0.875, dCost 0.875 - 0.5 (two updates ago) = 0.375 -> 2 + 1.1 + 0.75
        assertEquals(3.85, pid.update(2), 1e-12);
        // J -3: Delta -3, I (1.1 - 1.5)+ = 0, P -3, D_cost -1.0625, dCost 0 -> 0
        assertEquals(0.0, pid.update(-3), 1e-12);
    }

    @Test
    void theErrorsEmaTheCapAndTheThreshold() {
        // EMA 0.5 on the error: P = 0.5 * Delta after one update; threshold 1 and J 3: Delta 2
        PidLagrangian smoothed = new PidLagrangian(1, 0, 0, 1, 0.5, 0, 1, 0, 0);
        assertEquals(1.0, smoothed.update(3), 1e-12);
        assertEquals(1.5, smoothed.update(3), 1e-12); // P = 0.5 * 1 + 0.5 * 2
        PidLagrangian capped = new PidLagrangian(1, 0.5, 2, 2, 0, 0.5, 0, 0.1, 3);
        capped.update(1);
        capped.update(-1);
        assertEquals(3.0, capped.update(2), 1e-12); // 3.85 capped at lambda_max 3
    }

    @Test
    void itsStateRoundTripsForAnExactResume() {
        PidLagrangian a = new PidLagrangian(0.1, 0.01, 0.01, 3, 0.95, 0.95, -2, 1, 5);
        for (double j : new double[] {-1, -1.5, -2.5, -0.5}) a.update(j);
        PidLagrangian b = new PidLagrangian(0.1, 0.01, 0.01, 3, 0.95, 0.95, -2, 1, 5);
        b.restore(a.toJson());
        assertEquals(a.lambda(), b.lambda());
        for (double j : new double[] {-3, 0.5, -1}) assertEquals(a.update(j), b.update(j));
    }

    @Test
    void theConfigKeysAreTheOnesTheReadmeNames() { // snake_case of the record components: no pid_ddelay
        PpoConfig c = saferlhf.train.Configs.override(PpoConfig.quick("ppo-lag"), java.util.List.of("lambda_update=pid", "pid_kp=1",
                "pid_ki=0.1", "pid_kd=0", "pid_derivative_delay=4", "pid_proportional_ema_alpha=0.5", "pid_derivative_ema_alpha=0.25"));
        assertEquals(4, c.pidDerivativeDelay());
        assertEquals(0.5, c.pidProportionalEmaAlpha());
        assertEquals(0.25, c.pidDerivativeEmaAlpha());
        assertEquals(1.0, c.pidKp());
    }

    @Test
    void badGainsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new PidLagrangian(-1, 0, 0, 1, 0, 0, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new PidLagrangian(1, 0, 0, 0, 0, 0, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new PidLagrangian(1, 0, 0, 1, 1.0, 0, 0, 1, 0));
    }
}
