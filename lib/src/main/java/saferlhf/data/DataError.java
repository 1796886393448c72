package saferlhf.data;

/**
 * Bad input data: malformed JSON, a missing, unexpected or mistyped field, or a missing data file.
 * The message always starts with the location, {@code FILE:LINE: field 'NAME': ...}, for example
 * {@code data/train.jsonl:17: field 'better_response_id': expected 0 or 1, got 2}. Lines are 1-based;
 * line 0 means the error concerns the whole file (or folder), and {@link #field()} is null when no single field is at fault.
 * An {@link saferlhf.util.InputError}: the command line prints it as one line and exits with code 2.
 */
public final class DataError extends saferlhf.util.InputError {
    public DataError(String file, long line, String field, String problem) {
        this(file, line, field, problem, null);
    }

    public DataError(String file, long line, String field, String problem, Throwable cause) {
        super(file, line, field, problem, cause);
    }
}
