package saferlhf.util;

import java.nio.file.Path;

/**
 * Bad input from the user: a file or folder that is missing or malformed (a data file, a model folder's
 * {@code config.json}, {@code model.safetensors} or {@code tokenizer.json}, a config file), or a bad value. The message
 * starts with where the problem is, {@code FILE[:LINE]: [field 'NAME': ]what is wrong}, so that the command line prints
 * it as one line, {@code error: MESSAGE}, and exits with code 2 (the Java stack trace only with {@code --verbose}).
 * Anything else that escapes a command is a bug in the kit and keeps its stack trace.
 *
 * <p>{@link saferlhf.data.DataError} (bad data records) and {@code Configs.ConfigException} (bad config keys and
 * values) are input errors too.
 */
public class InputError extends IllegalArgumentException {
    private final String file;
    private final long line;
    private final String field;

    /**
     * @param file    the file or folder at fault, as the user gave it (null when the problem is a value, not a file)
     * @param line    the 1-based line, or 0 when the problem concerns the whole file
     * @param field   the field at fault, or null
     * @param problem what is wrong
     */
    public InputError(String file, long line, String field, String problem, Throwable cause) {
        super((file == null ? "" : file + (line > 0 ? ":" + line : "") + ": ") + (field == null ? "" : "field '" + field + "': ")
                + problem, cause);
        this.file = file;
        this.line = line;
        this.field = field;
    }

    /** A bad value (not a file): the message says which and why. */
    public InputError(String problem) {
        this(null, 0, null, problem, null);
    }

    /** A problem with a whole file or folder. */
    public InputError(Path file, String problem) {
        this(file.toString(), 0, null, problem, null);
    }

    /** A problem with a whole file or folder, caused by {@code cause}. */
    public InputError(Path file, String problem, Throwable cause) {
        this(file.toString(), 0, null, problem, cause);
    }

    /** The file or folder at fault, or null. */
    public String file() { return file; }

    /** The 1-based line number, or 0 when the error is about the whole file (or is not about a file). */
    public long line() { return line; }

    /** The field at fault, or null. */
    public String field() { return field; }
}
