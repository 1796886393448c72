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

    /** The sibling a folder is moved to while {@link #replaceFolder} swaps in its successor. */
    public static Path previousOf(Path folder) {
        return folder.resolveSibling(folder.getFileName() + ".previous");
    }

    /** A new empty temporary folder next to {@code target}, to be filled and then passed to {@link #replaceFolder}. */
    public static Path temporaryFolderFor(Path target) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        return Files.createTempDirectory(parent, "." + target.getFileName() + ".");
    }

    /**
     * Puts a finished folder in place of {@code target}: the old folder is first renamed to {@link #previousOf}, the
     * new one renamed onto {@code target}, then the old one deleted. A crash at any point leaves either the old or the
     * new folder complete under {@code target}, or (between the two renames) the old one under {@code previousOf};
     * {@link #existingFolder} finds it.
     */
    public static void replaceFolder(Path finished, Path target) throws IOException {
        Path previous = previousOf(target);
        deleteRecursively(previous);
        if (Files.exists(target)) Files.move(target, previous, StandardCopyOption.ATOMIC_MOVE);
        Files.move(finished, target, StandardCopyOption.ATOMIC_MOVE);
        deleteRecursively(previous);
    }

    /** {@code folder} if it exists, else its {@link #previousOf} left by an interrupted swap, else {@code folder}. */
    public static Path existingFolder(Path folder) {
        if (Files.isDirectory(folder)) return folder;
        Path previous = previousOf(folder);
        return Files.isDirectory(previous) ? previous : folder;
    }

    /** Deletes a file or folder tree if it exists. */
    public static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path)) return;
        try (var walk = Files.walk(path)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
