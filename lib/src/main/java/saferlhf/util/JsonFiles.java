package saferlhf.util;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reading a user's JSON file ({@code config.json}, {@code tokenizer.json}, ...) so that a bad one is named in the error. */
public final class JsonFiles {
    private JsonFiles() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The JSON document in {@code file}.
     *
     * @throws InputError when the file is missing, is a folder, or is not valid JSON ({@code FILE:LINE: not valid JSON
     *                    (column C): ...})
     */
    public static JsonNode read(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new InputError(file, "is a folder, expected a JSON file");
        try {
            JsonNode node = JSON.readTree(Files.readAllBytes(file));
            if (node == null || node.isMissingNode()) throw new InputError(file, "empty, expected JSON");
            return node;
        } catch (NoSuchFileException e) {
            throw new InputError(file, "no such file", e);
        } catch (JsonProcessingException e) {
            long line = e.getLocation() == null ? 0 : Math.max(0, e.getLocation().getLineNr());
            String column = e.getLocation() == null || e.getLocation().getColumnNr() < 1 ? "" : " (column " + e.getLocation().getColumnNr() + ")";
            throw new InputError(file.toString(), line, null, "not valid JSON" + column + ": " + e.getOriginalMessage(), e);
        }
    }

    /** {@link #read}, requiring a JSON object. */
    public static ObjectNode readObject(Path file) throws IOException {
        JsonNode node = read(file);
        if (!node.isObject()) throw new InputError(file, "expected a JSON object, found " + node.getNodeType().toString().toLowerCase());
        return (ObjectNode) node;
    }

    /** Writes {@code value} (a map, record or node) to {@code file} as indented JSON, atomically ({@link AtomicFiles}). */
    public static void write(Path file, Object value) throws IOException {
        AtomicFiles.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(value) + "\n");
    }
}
