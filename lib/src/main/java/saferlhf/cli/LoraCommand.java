package saferlhf.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import saferlhf.KitPaths;
import saferlhf.model.Device;
import saferlhf.model.PeftFiles;

/** {@code saferlhf lora merge}: LoRA adapter folders (PEFT layout, see docs/lora.md). */
@Command(name = "lora", mixinStandardHelpOptions = true, description = "LoRA adapter folders (PEFT layout).",
        subcommands = {LoraCommand.Merge.class})
public final class LoraCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** {@code saferlhf lora merge --adapter DIR [--base DIR] --out DIR}. */
    @Command(name = "merge", mixinStandardHelpOptions = true,
            description = "Merge adapters into their base (W + alpha/r B A) and write a full model folder.")
    public static final class Merge implements Callable<Integer> {
        @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "adapter folder (adapter_config.json)")
        Path adapter;

        @Option(names = "--base", paramLabel = "DIR",
                description = "base model folder (default: the adapter's base_model_name_or_path)")
        Path base;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "output model folder")
        Path out;

        @Option(names = "--device", description = "cpu, gpu, gpu:N or auto (default: ${DEFAULT-VALUE})")
        String device = "cpu";

        @Override
        public Integer call() throws Exception {
            Path adapterDir = KitPaths.resolve(adapter.toString()), outDir = KitPaths.resolve(out.toString());
            // bad folders reach Errors like every command's: one line and exit code 2, the trace with --verbose
            String kind = PeftFiles.merge(adapterDir, base == null ? null : KitPaths.resolve(base.toString()), outDir,
                    Device.parse(device));
            System.out.printf("merged %s (%s) into %s%n", adapterDir, kind, outDir);
            return 0;
        }
    }
}
