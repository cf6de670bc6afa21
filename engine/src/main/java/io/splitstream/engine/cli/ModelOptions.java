package io.splitstream.engine.cli;

import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.tensor.ComputePool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The options every model-running command shares: model file, threads, KV precision. */
record ModelOptions(Path model, int threads, KvPrecision kvPrecision) {

    /** The model that ships with Splitstream, relative to the installation. */
    static final String DEFAULT_MODEL = "models/splitstream-demo.gguf";

    static ModelOptions from(Args args) {
        String model = args.string("model", null);
        Path path = model != null ? Path.of(model) : Path.of(System.getProperty("splitstream.home", ".")).resolve(DEFAULT_MODEL);
        if (!Files.isRegularFile(path)) {
            throw new Args.UsageException("model file " + path + " not found");
        }
        int threads = args.integer("threads", ComputePool.defaultThreads());
        if (threads < 1) {
            throw new Args.UsageException("--threads must be at least 1");
        }
        return new ModelOptions(path, threads, KvPrecision.parse(args.string("kv", "f32")));
    }

    /** A loaded model with its thread pool. */
    record Loaded(Model model, ComputePool pool, Transformer transformer) implements AutoCloseable {
        @Override
        public void close() {
            pool.close();
            model.close();
        }
    }

    Loaded load() throws IOException {
        Model m = Model.load(model);
        ComputePool pool = new ComputePool(threads);
        return new Loaded(m, pool, new Transformer(m, pool));
    }
}
