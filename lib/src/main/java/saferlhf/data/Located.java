package saferlhf.data;

/**
 * A record with where it was read: its data file and the 1-based line it starts on (what {@link DataReader#file()} and
 * {@link DataReader#line()} say after reading it), so that a check made later, after the data sets were mixed, can
 * still name the record as a {@link DataError} does: {@code FILE:LINE: field 'NAME': ...}.
 */
public record Located<T>(T record, String file, long line) {
    /** The same location holding {@code other} (the record seen as another type). */
    public <U> Located<U> with(U other) {
        return new Located<>(other, file, line);
    }
}
