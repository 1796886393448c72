package saferlhf.rl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayDeque;

/**
 * The PID Lagrange multiplier of Stooke, Achiam and Abbeel, "Responsive Safety in Reinforcement Learning by PID
 * Lagrangian Methods" (ICML 2020, arXiv 2007.03964), Algorithm 2 with the smoothing of its experiments, an option of
 * PPO-Lagrangian beside the reference's SGD on log lambda ({@code lambda_update=pid}). With J_C the episode cost and d
 * the threshold, at every update:
 * <pre>
 * Delta   = J_C - d                                        the error
 * I       = max(0, I + K_I * Delta)                         integral, starts at lambda_init, never negative
 * P       = a_p * P + (1 - a_p) * Delta                     EMA of the error (a_p = 0: the error itself)
 * D_cost  = a_d * D_cost + (1 - a_d) * J_C                  EMA of the cost
 * dCost   = max(0, D_cost - D_cost[d_delay updates ago])    only a rising cost pushes
 * lambda  = min(lambda_max, max(0, K_P * P + I + K_D * dCost))
 * </pre>
 * The same update as OmniSafe's {@code PIDLagrangian} (PKU-Alignment/omnisafe) without its normalised variants; the
 * derivative's history starts with one 0 and holds the last {@code d_delay} smoothed costs. The paper's own code (rlpyt)
 * was not compared.
 * Unlike the SGD rule, lambda can be exactly 0, and it answers a rising cost at once through the proportional and
 * derivative terms, where the SGD step on log lambda is scaled by lambda itself and so climbs slowly from a small lambda
 * (the lag behind the cost that docs/reproduction.md describes for seed 44's round 2).
 */
public final class PidLagrangian {
    private final double kp, ki, kd, alphaP, alphaD, lambdaMax;
    private final int delay;
    private final double threshold;
    private double integral, deltaP, costD, lambda;
    private final ArrayDeque<Double> history = new ArrayDeque<>(); // the last `delay` smoothed costs, oldest first

    /**
     * @param lambdaMax 0 or less for no upper bound
     */
    public PidLagrangian(double kp, double ki, double kd, int delay, double alphaP, double alphaD, double threshold,
                         double lambdaInit, double lambdaMax) {
        if (kp < 0 || ki < 0 || kd < 0) throw new IllegalArgumentException("pid_kp, pid_ki and pid_kd must be >= 0");
        if (delay < 1) throw new IllegalArgumentException("pid_derivative_delay must be >= 1");
        if (alphaP < 0 || alphaP >= 1 || alphaD < 0 || alphaD >= 1) {
            throw new IllegalArgumentException("pid_proportional_ema_alpha and pid_derivative_ema_alpha must be in [0, 1)");
        }
        this.kp = kp;
        this.ki = ki;
        this.kd = kd;
        this.delay = delay;
        this.alphaP = alphaP;
        this.alphaD = alphaD;
        this.threshold = threshold;
        this.lambdaMax = lambdaMax;
        this.integral = lambdaInit;
        this.lambda = lambdaInit;
        history.add(0.0);
    }

    /** The PID controller of a PPO-Lagrangian config. */
    public static PidLagrangian of(PpoConfig c) {
        return new PidLagrangian(c.pidKp(), c.pidKi(), c.pidKd(), c.pidDerivativeDelay(), c.pidProportionalEmaAlpha(), c.pidDerivativeEmaAlpha(),
                c.rectified() ? 0 : c.threshold(), c.lambdaInit(), c.lambdaMax()); // RePO: the violation's target is 0
    }

    /** The multiplier now: lambda_init before the first update. */
    public double lambda() { return lambda; }

    /** One update from the episode cost J_C (the mean over the episode-cost window); returns the new lambda. */
    public double update(double episodeCost) {
        double delta = episodeCost - threshold;                          // Delta = J_C - d
        integral = Math.max(0, integral + ki * delta);                   // I = (I + K_I Delta)+
        deltaP = alphaP * deltaP + (1 - alphaP) * delta;                 // P: EMA of Delta
        costD = alphaD * costD + (1 - alphaD) * episodeCost;             // EMA of J_C
        double derivative = Math.max(0, costD - history.peekFirst());    // (D_cost - D_cost[t - d_delay])+
        double out = Math.max(0, kp * deltaP + integral + kd * derivative);
        lambda = lambdaMax > 0 ? Math.min(out, lambdaMax) : out;
        history.addLast(costD);
        if (history.size() > delay) history.removeFirst();
        return lambda;
    }

    /** The controller's state, for an exact resume. */
    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("integral", integral);
        n.put("delta_p", deltaP);
        n.put("cost_d", costD);
        n.put("lambda", lambda);
        var h = n.putArray("cost_d_history");
        history.forEach(h::add);
        return n;
    }

    /** Restores what {@link #toJson} wrote. */
    public void restore(JsonNode n) {
        integral = n.get("integral").asDouble();
        deltaP = n.get("delta_p").asDouble();
        costD = n.get("cost_d").asDouble();
        lambda = n.get("lambda").asDouble();
        history.clear();
        n.get("cost_d_history").forEach(v -> history.addLast(v.asDouble()));
    }
}
