package io.splitstream.engine.cli;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** The {@code splitstream} command line. */
public final class Main {
    private static final Map<String, Command> COMMANDS = Map.of(
            "generate", new GenerateCommand(),
            "tokenize", new TokenizeCommand(),
            "perplexity", new PerplexityCommand(),
            "quantize", new QuantizeCommand(),
            "make-model", new MakeModelCommand(),
            "bench", new BenchCommand());

    /** One sub-command. */
    interface Command {
        String usage();

        int run(List<String> args) throws Exception;
    }

    public static void main(String[] argv) {
        System.exit(run(argv));
    }

    public static int run(String[] argv) {
        if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("help")) {
            printUsage();
            return argv.length == 0 ? 2 : 0;
        }
        Command c = COMMANDS.get(argv[0]);
        if (c == null) {
            System.err.println("splitstream: unknown command '" + argv[0] + "'");
            printUsage();
            return 2;
        }
        try {
            return c.run(Arrays.asList(argv).subList(1, argv.length));
        } catch (Args.UsageException e) {
            System.err.println("splitstream " + argv[0] + ": " + e.getMessage());
            System.err.println("usage: splitstream " + argv[0] + " " + c.usage());
            return 2;
        } catch (Exception e) {
            System.err.println("splitstream " + argv[0] + ": " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            if (System.getenv("SPLITSTREAM_DEBUG") != null) {
                e.printStackTrace();
            }
            return 1;
        }
    }

    private static void printUsage() {
        System.err.println("usage: splitstream COMMAND [options]");
        COMMANDS.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> System.err.println("  " + e.getKey() + " " + e.getValue().usage()));
    }

    private Main() {
    }
}
