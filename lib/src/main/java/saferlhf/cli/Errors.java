package saferlhf.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;
import saferlhf.eval.ChatJudge;
import saferlhf.pipeline.StageGraph;
import saferlhf.train.TrainingLoop;
import saferlhf.util.InputError;

/**
 * How every command answers a failure: one line on stderr, {@code error: FILE[:LINE]: what is wrong}, and an exit code.
 * <ul>
 *   <li>2: bad input: an {@link InputError} anywhere in the cause chain (a missing or malformed data file, model folder,
 *       {@code config.json}, {@code model.safetensors}, {@code tokenizer.json} or config file, a bad key or value: the
 *       code that found it names the file, line and key); or the command itself failing with an I/O error on a file it was
 *       pointed at (see {@link #io});</li>
 *   <li>3: training diverged (a NaN or infinite loss);</li>
 *   <li>a reproduction's stage that failed in a child JVM: that JVM's exit code, with its error line and its log;</li>
 *   <li>1: the model judge's endpoint kept failing, or an internal error: a bug in the kit, printed with its stack trace
 *       and what happened.</li>
 * </ul>
 * The Java stack trace of the first two kinds is printed only with {@code --verbose} or {@code SAFERLHF_VERBOSE=1}.
 * Bad command-line syntax (an unknown option, a missing or mistyped option value) is one line too, exit code 2.
 */
final class Errors implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {
    static final int EXIT_INPUT = 2;
    static final int EXIT_DIVERGED = 3;
    static final int EXIT_INTERNAL = 1;

    /** {@code --verbose} on any command, or {@code SAFERLHF_VERBOSE} set to 1 or true. */
    static boolean verbose(ParseResult parsed) {
        String env = System.getenv("SAFERLHF_VERBOSE");
        if (env != null && (env.equals("1") || env.equalsIgnoreCase("true"))) return true;
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) return true;
        }
        return false;
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine command, ParseResult parsed) {
        PrintWriter err = command.getErr();
        boolean verbose = verbose(parsed);
        TrainingLoop.TrainingDiverged diverged = find(e, TrainingLoop.TrainingDiverged.class);
        InputError input = find(e, InputError.class);
        Throwable io = io(e);
        ChatJudge.JudgeException judge = find(e, ChatJudge.JudgeException.class);
        StageGraph.StageFailed stage = find(e, StageGraph.StageFailed.class);
        String line;
        int code;
        if (stage != null) { // a reproduction's stage failed in its own JVM, which printed its error to the stage's log
            line = stage.getMessage();
            code = stage.exitCode();
        } else if (diverged != null) {
            line = diverged.getMessage();
            code = EXIT_DIVERGED;
        } else if (input != null) {
            line = input.getMessage();
            code = EXIT_INPUT;
        } else if (io != null) {
            line = describe(io);
            code = EXIT_INPUT;
        } else if (judge != null) {
            line = judge.getMessage();
            code = EXIT_INTERNAL;
        } else { // a bug: the trace is what a report needs
            e.printStackTrace(err);
            err.println("error: internal error (a bug in saferlhf; please report it with the trace above): " + e);
            err.flush();
            return EXIT_INTERNAL;
        }
        if (verbose) e.printStackTrace(err);
        err.println("error: " + String.valueOf(line).replaceAll("\\s*\\R\\s*", " ")); // one line, even for a quoted reply
        err.flush();
        return code;
    }

    /** An unknown option, a missing required option or a value of the wrong type: one line, and where to get help. */
    @Override
    public int handleParseException(CommandLine.ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        PrintWriter err = command.getErr();
        String name = command.getCommandSpec().qualifiedName();
        err.println("error: " + e.getMessage() + " (see '" + name + " --help')");
        err.flush();
        return command.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** The outermost exception of {@code type} in the cause chain, or null. */
    static <T extends Throwable> T find(Throwable e, Class<T> type) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) return type.cast(t);
        }
        return null;
    }

    /**
     * {@code e} when the command failed with an I/O error on the files it reads and writes (model folders, data files,
     * config files, its output folder), else null. Precisely: {@code e} itself is an {@link IOException}, or an
     * {@link UncheckedIOException} of one (the kit's file readers throw these, naming the file), and not a Jackson
     * {@link JsonProcessingException}. Not input errors, and so reported as internal ones:
     * <ul>
     *   <li>an I/O exception that internal code wrapped in another exception (a child JVM that cannot start, in an
     *       {@link IllegalStateException}): the wrapper says what failed, and it is not a file the user gave;</li>
     *   <li>Jackson's exceptions: the kit reads a user's JSON through {@code JsonFiles}, {@code Configs} and the data
     *       readers, which report bad JSON as an {@link InputError} naming the file and line, so a Jackson exception that
     *       escapes is the kit's own (de)serialisation failing.</li>
     * </ul>
     */
    static Throwable io(Throwable e) {
        Throwable t = e instanceof UncheckedIOException u && u.getCause() != null ? u.getCause() : e;
        return t instanceof IOException && !(t instanceof JsonProcessingException) ? e : null;
    }

    /** An I/O failure as {@code FILE: what} ({@link NoSuchFileException}'s own message is only the path). */
    static String describe(Throwable e) {
        if (e instanceof UncheckedIOException u && u.getCause() != null) {
            String cause = describe(u.getCause());
            return u.getMessage() == null || u.getMessage().equals(u.getCause().toString()) ? cause : u.getMessage() + " (" + cause + ")";
        }
        if (e instanceof FileSystemException fs && fs.getFile() != null) {
            String what = fs.getReason() != null ? fs.getReason()
                    : e instanceof NoSuchFileException ? "no such file or folder"
                    : e instanceof AccessDeniedException ? "permission denied"
                    : e instanceof NotDirectoryException ? "not a folder"
                    : e.getClass().getSimpleName();
            return fs.getFile() + ": " + what;
        }
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }
}
