package saferlhf.cli;

import java.util.ArrayList;
import java.util.List;

/** Texts side by side in fixed-width columns, word-wrapped, for a terminal. */
final class Columns {
    private Columns() {}

    /**
     * One column per entry: its heading, its text and its note below a blank line, wrapped at {@code width / columns} less
     * the separator; a word longer than a column is cut.
     */
    static String sideBySide(List<String> headings, List<String> texts, List<String> notes, int width) {
        int columns = headings.size(), columnWidth = (width - 3 * (columns - 1)) / columns;
        List<List<String>> cells = new ArrayList<>();
        for (int c = 0; c < columns; c++) {
            List<String> lines = new ArrayList<>(wrap(headings.get(c), columnWidth));
            lines.add("-".repeat(columnWidth));
            lines.addAll(wrap(texts.get(c), columnWidth));
            if (!notes.get(c).isEmpty()) {
                lines.add("");
                lines.addAll(wrap(notes.get(c), columnWidth));
            }
            cells.add(lines);
        }
        int rows = cells.stream().mapToInt(List::size).max().orElse(0);
        StringBuilder b = new StringBuilder();
        for (int r = 0; r < rows; r++) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < columns; c++) {
                String cell = r < cells.get(c).size() ? cells.get(c).get(r) : "";
                line.append(c == 0 ? "" : " | ").append(cell).append(" ".repeat(columnWidth - cell.length()));
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        return b.toString();
    }

    /** {@code text} in lines of at most {@code width} characters, broken at spaces. */
    static List<String> wrap(String text, int width) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.strip().split("\\s+")) {
            while (word.length() > width) {
                if (line.length() > 0) {
                    lines.add(line.toString());
                    line.setLength(0);
                }
                lines.add(word.substring(0, width));
                word = word.substring(width);
            }
            if (line.length() > 0 && line.length() + 1 + word.length() > width) {
                lines.add(line.toString());
                line.setLength(0);
            }
            if (line.length() > 0) line.append(' ');
            line.append(word);
        }
        if (line.length() > 0 || lines.isEmpty()) lines.add(line.toString());
        return lines;
    }
}
