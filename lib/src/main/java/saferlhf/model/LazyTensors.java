package saferlhf.model;

import ai.djl.ndarray.NDArray;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Named float32 tensors whose values are read only when asked for: {@code get} reads the tensor (from a file, or copies
 * it from a live array) each time and keeps nothing, and shapes are known without reading. Loading or saving a model
 * through it holds one tensor in Java memory at a time instead of the whole model (at 113M parameters, 459 MB of heap
 * that the JVM keeps once it has grown to hold it).
 */
final class LazyTensors extends AbstractMap<String, HostTensor> {
    private final Map<String, long[]> shapes;
    private final Function<String, float[]> reader;
    /** Reads a tensor straight into a buffer, or null (then {@link #reader} is used). */
    private final java.util.function.BiConsumer<String, java.nio.FloatBuffer> into;
    /** Tensors put into the map: held in memory, in place of what the reader would give. */
    private final Map<String, HostTensor> replaced = new LinkedHashMap<>();

    LazyTensors(Map<String, long[]> shapes, Function<String, float[]> reader) {
        this(shapes, reader, null);
    }

    private LazyTensors(Map<String, long[]> shapes, Function<String, float[]> reader,
                        java.util.function.BiConsumer<String, java.nio.FloatBuffer> into) {
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

    /** Puts a tensor's values into {@code out} (from a file: no Java array in between). */
    void readInto(String name, java.nio.FloatBuffer out) {
        HostTensor held = replaced.get(name);
        if (held != null) out.put(held.data());
        else if (into != null) into.accept(name, out);
        else out.put(reader.apply(name));
    }

    /** The shape of a tensor of {@code tensors} without reading its values when the map is lazy. */
    static long[] shape(Map<String, HostTensor> tensors, String name) {
        if (tensors instanceof LazyTensors lazy) return lazy.shapes.get(name).clone();
        return tensors.get(name).shape();
    }

    @Override
    public HostTensor get(Object name) {
        HostTensor held = replaced.get(name);
        if (held != null) return held;
        long[] shape = shapes.get(name);
        return shape == null ? null : new HostTensor(reader.apply((String) name), shape);
    }

    /** Replaces (or adds) a tensor, held in memory from now on; returns the old values, read now. */
    @Override
    public HostTensor put(String name, HostTensor tensor) {
        HostTensor old = get(name);
        shapes.put(name, tensor.shape());
        replaced.put(name, tensor);
        return old;
    }


    @Override
    public boolean containsKey(Object name) { return shapes.containsKey(name); }

    /** Drops a tensor from the map (the file or array behind it is untouched); returns its values, read now. */
    @Override
    public HostTensor remove(Object name) {
        HostTensor old = get(name);
        shapes.remove(name);
        replaced.remove(name);
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
