package saferlhf;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the kit's own folders are. The project root is taken from the system property {@code saferlhf.projectRoot},
 * else the environment variable {@code SAFERLHF_HOME}, else the first folder at or above the working directory
 * that holds {@code datasets/beaverworld} (so the same code works from the project root, {@code lib/} and
 * {@code notebooks/}).
 */
public final class KitPaths {
    private KitPaths() {}

    public static Path projectRoot() {
        String configured = System.getProperty("saferlhf.projectRoot", System.getenv("SAFERLHF_HOME"));
        if (configured != null && !configured.isBlank()) return Path.of(configured).toAbsolutePath().normalize();
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("datasets").resolve("beaverworld"))) return dir;
        }
        throw new saferlhf.util.InputError("cannot find the kit's project root (a folder holding datasets/beaverworld) at or above "
                + Path.of("").toAbsolutePath() + "; set -Dsaferlhf.projectRoot=DIR or SAFERLHF_HOME");
    }

    /** The shipped BeaverWorld data set: {@code <root>/datasets/beaverworld}. */
    public static Path beaverWorld() { return projectRoot().resolve("datasets").resolve("beaverworld"); }

    /** Run outputs: {@code <root>/checkpoints}. */
    public static Path checkpoints() { return projectRoot().resolve("checkpoints"); }

    /** The shared real-data folder next to the project ({@code <root>/../shared/realdata}), which may be absent. */
    public static Path sharedRealData() { return projectRoot().resolveSibling("shared").resolve("realdata"); }

    /** A path for people to read (logs, notebook outputs): relative to the project root when inside it, else absolute. */
    public static Path shown(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        try {
            Path root = projectRoot();
            return absolute.startsWith(root) ? root.relativize(absolute) : absolute;
        } catch (RuntimeException outsideTheKit) {
            return absolute;
        }
    }

    /**
     * A path from a config or a notebook: absolute paths as they are; relative ones against the project root when the
     * code runs inside the kit (so {@code checkpoints/sft} means the same folder from the command line, a test and a
     * notebook), else against the working directory.
     */
    public static Path resolve(String path) {
        Path p = Path.of(path);
        if (p.isAbsolute()) return p;
        try {
            return projectRoot().resolve(p).normalize();
        } catch (IllegalStateException outsideTheKit) {
            return p.toAbsolutePath().normalize();
        }
    }
}
