package io.splitstream.cli;

import io.splitstream.engine.cli.Args;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** The {@code splitstream} command: mesh commands here, engine commands delegated to the engine's command line. */
public final class Main {
    /** A mesh command. */
    interface Command {
        String usage();

        int run(List<String> args) throws Exception;
    }

    private static final Map<String, Command> COMMANDS = Map.of(
            "up", new UpCommand(),
            "complete", new CompleteCommand(),
            "loadgen", new LoadgenCommand());

    public static void main(String[] argv) {
        System.exit(run(argv));
    }

    static int run(String[] argv) {
        Command c = argv.length == 0 ? null : COMMANDS.get(argv[0]);
        if (c == null) {
            if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("help")) {
                COMMANDS.forEach((name, cmd) -> System.err.println("  " + name + " " + cmd.usage()));
            }
            return io.splitstream.engine.cli.Main.run(argv);
        }
        try {
            return c.run(Arrays.asList(argv).subList(1, argv.length));
        } catch (Args.UsageException e) {
            System.err.println("splitstream " + argv[0] + ": " + e.getMessage());
            System.err.println("usage: splitstream " + argv[0] + " " + c.usage());
            return 2;
        } catch (Exception e) {
            System.err.println("splitstream " + argv[0] + ": " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        }
    }

    private Main() {
    }
}
