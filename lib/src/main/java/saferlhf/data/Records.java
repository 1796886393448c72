package saferlhf.data;

import java.util.Collection;
import java.util.Collections;
import java.util.TreeSet;
import java.util.Set;

/** Small validation helpers shared by the record types. */
final class Records {
    private Records() {}

    static void requireId(String field, int id) {
        if (id != 0 && id != 1) throw new IllegalArgumentException(field + " must be 0 or 1, got " + id);
    }

    static void requireSeverity(String field, int level) {
        if (level < 0 || level > 3) throw new IllegalArgumentException(field + " must be in 0..3, got " + level);
    }

    /** An unmodifiable copy that iterates in the enum's declaration order (the on-disk key order). */
    static <E extends Enum<E>> Set<E> copyOf(Collection<E> values) {
        if (values == null) throw new IllegalArgumentException("category set must not be null");
        return Collections.unmodifiableSet(new TreeSet<>(values));
    }
}
