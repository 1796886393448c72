package saferlhf.train;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;

/**
 * A progress bar: {@code sft  [#########...........]  45% 450/1000 | train/loss 1.234 | 12.3 it/s | eta 44s}. In a
 * terminal, and in a notebook on the kit's kernel (its spec sets {@link saferlhf.util.KitJvm#NOTEBOOK_ENV}; Jupyter
 * redraws a line on {@code \r} as a terminal does), it is one line redrawn, so that a finished run leaves its last
 * line only; in a log file, where {@code \r} does not redraw, a new line every 5% of the run.
 */
public final class Progress {
    private final String label;
    private final long total;
    private final PrintStream out;
    private final boolean redraw;
    private final long started = System.nanoTime();
    private long lastPrintedPercentStep = -1;

    public Progress(String label, long total) {
        this(label, total, System.out, redraws());
    }

    Progress(String label, long total, PrintStream out, boolean redraw) {
        this.label = label;
        this.total = Math.max(1, total);
        this.out = out;
        this.redraw = redraw;
    }

    /** Whether this process redraws lines: a terminal, or a notebook on the kit's kernel. */
    public static boolean redraws() {
        return System.console() != null || System.getenv(saferlhf.util.KitJvm.NOTEBOOK_ENV) != null;
    }

    /**
     * A log whose lines overwrite one another where lines redraw ({@link #redraws()}), so that a long log (a
     * reproduction's stage lines) shows its latest line live and leaves its last line only; elsewhere {@code out}
     * itself. Call {@link OneLine#end()} when the log is done.
     */
    public static OneLine oneLine(PrintStream out) {
        return new OneLine(out, redraws());
    }

    /** See {@link #oneLine}. */
    public static final class OneLine extends PrintStream {
        private final PrintStream target;
        private final boolean redraw;
        private final StringBuilder pending = new StringBuilder();
        private int shownLength;

        OneLine(PrintStream target, boolean redraw) {
            super(new java.io.ByteArrayOutputStream(), true, java.nio.charset.StandardCharsets.UTF_8);
            this.target = target;
            this.redraw = redraw;
        }

        @Override
        public synchronized void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] bytes, int offset, int length) {
            if (!redraw) {
                target.write(bytes, offset, length);
                return;
            }
            pending.append(new String(bytes, offset, length, java.nio.charset.StandardCharsets.UTF_8));
            for (int newline; (newline = pending.indexOf("\n")) >= 0; pending.delete(0, newline + 1)) {
                String line = pending.substring(0, newline);
                target.print("\r" + line + " ".repeat(Math.max(0, shownLength - line.length())));
                shownLength = line.length();
            }
            target.flush();
        }

        @Override
        public void flush() { target.flush(); }

        /** Closes the redrawn line (a newline) so that what is printed next starts on a line of its own. */
        public synchronized void end() {
            if (redraw && shownLength > 0) target.println();
            shownLength = 0;
            target.flush();
        }
    }

    /** Reports that {@code done} of the total steps are finished, with a few metrics to show. */
    public void update(long done, Map<String, ? extends Number> shown) {
        long bucket = done * 20 / total;
        if (!redraw && bucket == lastPrintedPercentStep && done != total) return;
        lastPrintedPercentStep = bucket;
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-6s [%s%s] %3d%% %d/%d", label,
                "#".repeat((int) bucket), ".".repeat(20 - (int) bucket), done * 100 / total, done, total));
        shown.forEach((k, v) -> line.append(String.format(Locale.ROOT, " | %s %.4g", k, v.doubleValue())));
        double seconds = (System.nanoTime() - started) / 1e9;
        if (done > 0 && seconds > 0) {
            line.append(String.format(Locale.ROOT, " | %.2f it/s | eta %ds", done / seconds,
                    Math.round(seconds / done * (total - done))));
        }
        if (redraw) {
            out.print("\r" + line);
            if (done >= total) out.println();
        } else {
            out.println(line);
        }
        out.flush();
    }
}
