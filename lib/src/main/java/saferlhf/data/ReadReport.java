package saferlhf.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a {@link DataReader} has read so far: records returned, lines skipped as invalid (only with
 * {@link ReadOptions#skipInvalid()}), the first few of those errors, and the record count per file. Nothing is dropped
 * silently: every skipped line is counted here.
 */
public final class ReadReport {
    private final int maxErrorSamples;
    private long records;
    private long invalid;
    private final List<DataError> errors = new ArrayList<>();
    private final Map<String, Long> files = new LinkedHashMap<>();

    ReadReport(int maxErrorSamples) { this.maxErrorSamples = maxErrorSamples; }

    void fileStarted(String file) { files.putIfAbsent(file, 0L); }

    void recordRead(String file) {
        records++;
        files.merge(file, 1L, Long::sum);
    }

    void invalidLine(DataError error) {
        invalid++;
        if (errors.size() < maxErrorSamples) errors.add(error);
    }

    /** Records returned so far. */
    public long records() { return records; }

    /** Lines skipped as invalid so far. */
    public long invalid() { return invalid; }

    /** The first few skipped-line errors. */
    public List<DataError> errors() { return Collections.unmodifiableList(errors); }

    /** Records returned per data file, in reading order. */
    public Map<String, Long> files() { return Collections.unmodifiableMap(files); }

    @Override
    public String toString() {
        return "ReadReport[records=" + records + ", invalid=" + invalid + ", files=" + files.size() + "]";
    }
}
