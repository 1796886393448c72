package saferlhf.util;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writing files so that a reader never sees half of one: write a temporary sibling, then rename it onto the target
 * (atomically where the file system can). An interrupted write leaves the previous file, or none.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** A new empty temporary file next to {@code target} (hidden, ending in {@code .tmp}); parent folders are created. */
    public static Path temporarySibling(Path target) throws IOException {
        Path folder = target.toAbsolutePath().getParent();
        Files.createDirectories(folder);
        return Files.createTempFile(folder, "." + target.getFileName() + ".", ".tmp");
    }

    /**
     * Moves a finished temporary file or folder onto {@code target}, replacing a file (not a non-empty folder), and
     * gives a file the usual {@code rw-r--r--} permissions (temporary files are created owner-only).
     */
    public static void commit(Path temporary, Path target) throws IOException {
        if (Files.isRegularFile(temporary) && FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-r--r--"));
        }
        try {
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Writes {@code text} as UTF-8 to {@code target} atomically. */
    public static void writeString(Path target, String text) throws IOException {
        Path temporary = temporarySibling(target);
        try {
            Files.writeString(temporary, text, StandardCharsets.UTF_8);
            commit(temporary, target);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }
}
