package io.splitstream.engine.cli;

import io.splitstream.engine.gguf.GgufFile;
import io.splitstream.engine.tokenizer.Tokenizer;
import io.splitstream.engine.tokenizer.Vocabulary;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/** Prints the token ids of a text (the model's tokenizer only; weights are not loaded). */
final class TokenizeCommand implements Main.Command {
    @Override
    public String usage() {
        return "[--model F] --text TEXT [--no-special] [--parse-special]";
    }

    @Override
    public int run(List<String> argList) throws Exception {
        Args args = new Args(argList, Set.of("no-special", "parse-special"));
        ModelOptions options = ModelOptions.from(args);
        String text = args.required("text");
        boolean special = !args.flag("no-special");
        boolean parse = args.flag("parse-special");
        args.checkAllUsed();
        try (GgufFile gguf = GgufFile.open(options.model())) {
            Tokenizer t = Tokenizer.create(Vocabulary.fromMetadata(gguf.metadata()));
            System.out.println(Arrays.toString(t.encode(text, special, parse)));
        }
        return 0;
    }
}
