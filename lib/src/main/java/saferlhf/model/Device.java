package saferlhf.model;

import ai.djl.engine.Engine;

/**
 * Parses the kit's device names into {@link ai.djl.Device}: {@code "cpu"}, {@code "gpu"} (= {@code gpu:0}),
 * {@code "gpu:N"}, and {@code "auto"} (the first GPU if DJL's engine sees one, else the CPU).
 */
public final class Device {
    private Device() {}

    public static ai.djl.Device parse(String name) {
        String s = name == null ? "auto" : name.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("cpu")) return ai.djl.Device.cpu();
        if (s.equals("auto")) return Engine.getInstance().getGpuCount() > 0 ? ai.djl.Device.gpu(0) : ai.djl.Device.cpu();
        if (s.equals("gpu") || s.equals("cuda")) return ai.djl.Device.gpu(0);
        if (s.startsWith("gpu:") || s.startsWith("cuda:")) {
            String index = s.substring(s.indexOf(':') + 1);
            try {
                int n = Integer.parseInt(index);
                if (n < 0) throw new NumberFormatException();
                return ai.djl.Device.gpu(n);
            } catch (NumberFormatException e) {
                throw new saferlhf.util.InputError("bad GPU index in device '" + name + "': expected gpu:N with N >= 0");
            }
        }
        throw new saferlhf.util.InputError("unknown device '" + name + "': expected cpu, gpu, gpu:N or auto");
    }
}
