package saferlhf.model;

import ai.djl.ndarray.NDArray;

import java.nio.FloatBuffer;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Named float32 tensors whose values are read only when asked for: {@code get} reads the tensor (from a file, or copies
 * it from a live array) each time and keeps nothing, and shapes are known without reading. Loading or saving a model
 * through it holds one tensor in Java memory at a time instead of the whole model (at 113M parameters, 459 MB of heap
 * that the JVM keeps once it has grown to hold it).
 *
 * <p>A tensor's values may be changed as they are read ({@link #transform}: LoRA adapters merged into their base weight)
 * or taken from another lazy map ({@link #replace}: a score head an adapter folder saves), so that loading an adapter
 * folder still reads and holds one tensor at a time.
 */
final class LazyTensors extends AbstractMap<String, HostTensor> {
    private final Map<String, long[]> shapes;
    /** Reads a tensor: a new array on every call (a {@link #transform} changes it in place). */
    private final Function<String, float[]> reader;
    /** Reads a tensor straight into a buffer, or null (then {@link #reader} is used). */
    private final BiConsumer<String, FloatBuffer> into;
    /** Changes made to a tensor's values each time it is read, by name. */
    private final Map<String, Consumer<FloatBuffer>> transforms = new HashMap<>();
    /** Tensors read from another lazy map instead of {@link #reader}, by name. */
    private final Map<String, Elsewhere> elsewhere = new HashMap<>();

    private record Elsewhere(LazyTensors tensors, String name) {}

    LazyTensors(Map<String, long[]> shapes, Function<String, float[]> reader) {
        this(shapes, reader, null);
    }

    private LazyTensors(Map<String, long[]> shapes, Function<String, float[]> reader, BiConsumer<String, FloatBuffer> into) {
        this.shapes = new LinkedHashMap<>(shapes);
        this.reader = reader;
        this.into = into;
    }

    /** Host copies of live arrays, made one at a time, in the map's order. */
    static LazyTensors of(Map<String, NDArray> arrays) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        arrays.forEach((name, a) -> shapes.put(name, a.getShape().getShape()));
        return new LazyTensors(shapes, name -> HostTensor.of(arrays.get(name)).data());
    }

    /** The floating-point tensors (F32, F16, BF16, read as F32) of one or more safetensors files, in data order. */
    static LazyTensors of(Iterable<SafeTensors> files) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, SafeTensors> source = new LinkedHashMap<>();
        for (SafeTensors file : files) {
            for (SafeTensors.TensorInfo t : file.tensors()) {
                if (t.dtype() == SafeTensors.DType.F32 || t.dtype() == SafeTensors.DType.F16 || t.dtype() == SafeTensors.DType.BF16) {
                    shapes.put(t.name(), t.shape());
                    source.put(t.name(), file);
                }
            }
        }
        return new LazyTensors(shapes, name -> source.get(name).readFloats(name), (name, out) -> source.get(name).readFloats(name, out));
    }

    /** A tensor's shape, without reading it. */
    long[] shape(String name) { return shapes.get(name).clone(); }

    /**
     * From now on, {@code change} is applied to the values of {@code name} each time they are read, after the changes
     * given before: it gets a buffer of exactly the tensor's values (row-major, indices from 0) to change in place.
     */
    void transform(String name, Consumer<FloatBuffer> change) {
        if (!shapes.containsKey(name)) throw new IllegalArgumentException("no tensor " + name);
        transforms.merge(name, change, Consumer::andThen);
    }

    /** Adds or replaces {@code name} by the tensor {@code sourceName} of {@code source}, read from there when asked for. */
    void replace(String name, LazyTensors source, String sourceName) {
        if (!source.containsKey(sourceName)) throw new IllegalArgumentException("no tensor " + sourceName);
        shapes.put(name, source.shape(sourceName));
        transforms.remove(name);
        elsewhere.put(name, new Elsewhere(source, sourceName));
    }

    /** Puts a tensor's values into {@code out}, from its position on (from a file: no Java array in between). */
    void readInto(String name, FloatBuffer out) {
        int start = out.position();
        Elsewhere other = elsewhere.get(name);
        if (other != null) other.tensors().readInto(other.name(), out);
        else if (into != null) into.accept(name, out);
        else out.put(reader.apply(name));
        Consumer<FloatBuffer> change = transforms.get(name);
        if (change != null) change.accept(out.duplicate().position(start).limit(out.position()).slice());
    }

    /** The shape of a tensor of {@code tensors} without reading its values when the map is lazy. */
    static long[] shape(Map<String, HostTensor> tensors, String name) {
        if (tensors instanceof LazyTensors lazy) return lazy.shapes.get(name).clone();
        return tensors.get(name).shape();
    }

    /** The tensor's values, read now into a new array (changed as {@link #transform} says); nothing is kept. */
    @Override
    public HostTensor get(Object key) {
        if (!(key instanceof String name) || !shapes.containsKey(name)) return null;
        Elsewhere other = elsewhere.get(name);
        float[] data = other != null ? other.tensors().get(other.name()).data() : reader.apply(name);
        Consumer<FloatBuffer> change = transforms.get(name);
        if (change != null) change.accept(FloatBuffer.wrap(data));
        return new HostTensor(data, shapes.get(name).clone());
    }

    @Override
    public boolean containsKey(Object name) { return shapes.containsKey(name); }

    /** Drops a tensor from the map (the file or array behind it is untouched); returns its values, read now. */
    @Override
    public HostTensor remove(Object name) {
        HostTensor old = get(name);
        shapes.remove(name);
        transforms.remove(name);
        elsewhere.remove(name);
        return old;
    }

    @Override
    public Set<String> keySet() { return shapes.keySet(); }

    @Override
    public int size() { return shapes.size(); }

    /** Iterating the entries reads every tensor, one per step: prefer {@link #keySet()} and {@link #get}. */
    @Override
    public Set<Entry<String, HostTensor>> entrySet() {
        return new AbstractSet<>() {
            @Override
            public Iterator<Entry<String, HostTensor>> iterator() {
                Iterator<String> names = shapes.keySet().iterator();
                return new Iterator<>() {
                    @Override
                    public boolean hasNext() { return names.hasNext(); }

                    @Override
                    public Entry<String, HostTensor> next() {
                        String name = names.next();
                        return new SimpleImmutableEntry<>(name, get(name));
                    }
                };
            }

            @Override
            public int size() { return shapes.size(); }
        };
    }
}
