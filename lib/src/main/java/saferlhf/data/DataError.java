package saferlhf.data;

/**
 * Bad input data: malformed JSON, a missing, unexpected or mistyped field, or a missing data file.
 * The message always starts with the location, {@code FILE:LINE: field 'NAME': ...}, for example
 * {@code data/train.jsonl:17: field 'better_response_id': expected 0 or 1, got 2}. Lines are 1-based;
 * line 0 means the error concerns the whole file (or folder), and {@link #field()} is null when no single field is at fault.
 */
public final class DataError extends RuntimeException {
    private final String file;
    private final long line;
    private final String field;

    public DataError(String file, long line, String field, String problem) {
        this(file, line, field, problem, null);
    }

    public DataError(String file, long line, String field, String problem, Throwable cause) {
        super(location(file, line) + (field == null ? "" : "field '" + field + "': ") + problem, cause);
        this.file = file;
        this.line = line;
        this.field = field;
    }

    private static String location(String file, long line) {
        return file + (line > 0 ? ":" + line : "") + ": ";
    }

    /** The file (or folder) as given to the reader. */
    public String file() { return file; }

    /** The 1-based line number, or 0 when the error is about the whole file. */
    public long line() { return line; }

    /** The JSON field at fault, or null. */
    public String field() { return field; }
}
