package saferlhf.train;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import saferlhf.util.AtomicFiles;
import saferlhf.util.InputError;
import saferlhf.util.JsonFiles;

/**
 * One typed config record per stage, the same object from the command line, a notebook and a test. JSON keys are the
 * record components in snake_case, which are the reference's argument names ({@code per_device_train_batch_size},
 * {@code lr_warmup_ratio}, ...). A record validates itself in its compact constructor; this class loads and saves it
 * and applies {@code key=value} overrides, turning every mistake into a {@link ConfigException} that names the file,
 * the key and what was expected.
 */
public final class Configs {
    private Configs() {}

    static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /**
     * A config whose checks need all its values (records' compact constructors run before the fields are set):
     * {@link #load} and {@link #override} call {@link #validate()}, and so does every trainer before it starts.
     */
    public interface Validated {
        /** Throws IllegalArgumentException naming the key and the rule when a value is invalid. */
        void validate();
    }

    /**
     * Refuses a blank model path, naming the key (for a config's {@code validate()}): the {@code paper} presets leave
     * every model path to the user.
     */
    public static void requireModel(String key, String path) {
        if (path == null || path.isBlank()) {
            throw new ConfigException(key + " must be given: a Hugging Face model folder (config.json, "
                    + "model.safetensors, tokenizer.json) or a model preset (" + Models.PRESETS + ")", null);
        }
    }

    /** A bad config file, key or value (an input error: one line on the command line, exit code 2). */
    public static final class ConfigException extends InputError {
        public ConfigException(String message, Throwable cause) { super(null, 0, null, message, cause); }
    }

    /** Reads a config from JSON; keys not given keep the values of {@code defaults}. */
    public static <T extends Record> T load(Path file, T defaults) {
        return merge(defaults, readObject(file), file.toString(), true);
    }

    private static ObjectNode readObject(Path file) {
        JsonNode given;
        try {
            given = JsonFiles.read(file);
        } catch (InputError e) { // missing, a folder, not JSON
            throw new ConfigException(e.getMessage(), e);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read config: " + e.getMessage(), e);
        }
        if (!given.isObject()) throw new ConfigException(file + ": expected a JSON object", null);
        return (ObjectNode) given;
    }

    /** Applies {@code key=value} overrides (snake_case keys) to {@code config}. */
    public static <T extends Record> T override(T config, List<String> overrides) {
        return merge(config, overrides(overrides), "override", true);
    }

    /**
     * A preset, then a JSON file (null for none), then {@code key=value} overrides, validated once at the end: a key
     * the preset leaves for the user (the {@code paper} presets' model paths) may come from either the file or the
     * command line.
     */
    public static <T extends Record> T resolve(T preset, Path file, List<String> overrides) {
        T fromFile = file == null ? preset : merge(preset, readObject(file), file.toString(), false);
        return merge(fromFile, overrides(overrides), file == null ? "config" : "config (" + file + " and overrides)", true);
    }

    private static ObjectNode overrides(List<String> overrides) {
        ObjectNode given = JSON.createObjectNode();
        for (String override : overrides) {
            int eq = override.indexOf('=');
            if (eq <= 0) throw new ConfigException("override '" + override + "': expected key=value", null);
            given.put(override.substring(0, eq).strip(), override.substring(eq + 1).strip());
        }
        return given;
    }

    /** Writes the config as JSON (atomically). */
    public static void save(Record config, Path file) {
        try {
            AtomicFiles.writeString(file, toJson(config) + "\n");
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot write config: " + e.getMessage(), e);
        }
    }

    /** The config as pretty-printed JSON with snake_case keys. */
    public static String toJson(Record config) {
        try {
            return JSON.writeValueAsString(config);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The snake_case keys of a config type, in declaration order. */
    public static List<String> keys(Class<? extends Record> type) {
        return Arrays.stream(type.getRecordComponents())
                .map(c -> PropertyNamingStrategies.SnakeCaseStrategy.INSTANCE.translate(c.getName())).toList();
    }

    @SuppressWarnings("unchecked")
    private static <T extends Record> T merge(T defaults, ObjectNode given, String where, boolean validate) {
        Class<T> type = (Class<T>) defaults.getClass();
        ObjectNode merged = JSON.valueToTree(defaults);
        List<String> keys = keys(type);
        for (var field : (Iterable<java.util.Map.Entry<String, JsonNode>>) given::fields) {
            if (!keys.contains(field.getKey())) {
                throw new ConfigException(where + ": unknown key '" + field.getKey() + "' for " + type.getSimpleName()
                        + "; valid keys: " + String.join(", ", keys), null);
            }
            merged.set(field.getKey(), field.getValue());
        }
        T config;
        try {
            config = JSON.treeToValue(merged, type);
        } catch (InvalidFormatException e) {
            String key = e.getPath().isEmpty() ? "?" : e.getPath().get(0).getFieldName();
            throw new ConfigException(where + ": key '" + key + "': cannot read '" + e.getValue() + "' as "
                    + e.getTargetType().getSimpleName(), e);
        } catch (UnrecognizedPropertyException e) {
            throw new ConfigException(where + ": unknown key '" + e.getPropertyName() + "'", e);
        } catch (IOException e) {
            Throwable cause = rootCause(e);
            throw new ConfigException(where + ": invalid " + type.getSimpleName() + ": " + cause.getMessage(), e);
        }
        if (validate && config instanceof Validated validated) {
            try {
                validated.validate();
            } catch (IllegalArgumentException e) {
                throw new ConfigException(where + ": invalid " + type.getSimpleName() + ": " + e.getMessage(), e);
            }
        }
        return config;
    }

    private static Throwable rootCause(Throwable e) {
        while (e.getCause() != null && e.getCause() != e) e = e.getCause();
        return e;
    }

    /** A readable one-line-per-key listing of a config, for logs and notebooks. */
    public static String describe(Record config) {
        return Arrays.stream(config.getClass().getRecordComponents())
                .map(c -> PropertyNamingStrategies.SnakeCaseStrategy.INSTANCE.translate(c.getName()) + " = " + value(c, config))
                .collect(Collectors.joining("\n"));
    }

    private static Object value(RecordComponent component, Record config) {
        try {
            return component.getAccessor().invoke(config);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Resuming under other arguments would silently mix two runs: throws an {@link InputError}, naming the keys that differ from the
     * {@code arguments.json} a checkpoint saved (nothing to compare when the file is absent).
     */
    public static void requireSameAsSaved(Record config, Path saved) throws IOException {
        if (!Files.isRegularFile(saved)) return;
        JsonNode before = JsonFiles.read(saved), now = JSON.readTree(toJson(config)); // a damaged file is named
        List<String> changed = new java.util.ArrayList<>();
        now.fieldNames().forEachRemaining(key -> {
            // a key the saved run predates (a kit version before it) keeps the behaviour it had: its default
            if (before.has(key) && !now.get(key).equals(before.get(key))) changed.add(key + " (" + before.get(key) + " -> " + now.get(key) + ")");
        });
        if (!changed.isEmpty()) {
            throw new InputError(saved.getParent(), "holds a run with other arguments: " + String.join(", ", changed)
                    + ". Delete " + saved.getParent().getParent() + " or choose another output_dir.");
        }
    }
}
