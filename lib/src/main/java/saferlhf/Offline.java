package saferlhf;

/**
 * DJL's offline settings, applied wherever the engine can start (command line, tests, notebooks):
 * no downloads ({@code ai.djl.offline}), no telemetry ({@code OPT_OUT_TRACKING}) and PyTorch as the default
 * engine (the tokenizers jar registers a second one). Environment variables of the same names, when set, win.
 * Call {@link #apply()} before the first use of DJL; it is idempotent.
 */
public final class Offline {
    private Offline() {}

    public static void apply() {
        setIfAbsent("ai.djl.offline", "DJL_OFFLINE", "true");
        setIfAbsent("OPT_OUT_TRACKING", "OPT_OUT_TRACKING", "true");
        setIfAbsent("ai.djl.default_engine", "DJL_DEFAULT_ENGINE", "PyTorch");
    }

    private static void setIfAbsent(String property, String environmentVariable, String value) {
        if (System.getProperty(property) == null && System.getenv(environmentVariable) == null) {
            System.setProperty(property, value);
        }
    }
}
