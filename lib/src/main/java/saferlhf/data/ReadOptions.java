package saferlhf.data;

/**
 * How to read a file or folder.
 *
 * @param split        when reading a folder, keep only data files whose stem is this split ({@code train}, {@code test});
 *                     null keeps all
 * @param skipInvalid  false: the first bad line throws {@link DataError}; true: bad lines are skipped and counted in the
 *                     {@link ReadReport}
 * @param maxErrorSamples how many skipped-line errors the report keeps (the count is always exact)
 */
public record ReadOptions(String split, boolean skipInvalid, int maxErrorSamples) {
    public ReadOptions {
        if (maxErrorSamples < 0) throw new IllegalArgumentException("maxErrorSamples must be >= 0");
    }

    /** All files, fail on the first bad line, keep 10 sample errors. */
    public static ReadOptions defaults() { return new ReadOptions(null, false, 10); }

    public ReadOptions split(String name) { return new ReadOptions(name, skipInvalid, maxErrorSamples); }

    public ReadOptions skipInvalid(boolean skip) { return new ReadOptions(split, skip, maxErrorSamples); }

    public ReadOptions maxErrorSamples(int n) { return new ReadOptions(split, skipInvalid, n); }
}
