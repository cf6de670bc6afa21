package io.splitstream.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/** Token-length distributions for load generation: {@code fixed:N}, {@code uniform:A:B} or {@code file:PATH}. */
sealed interface LengthDistribution {
    int next(SplittableRandom random);

    record Fixed(int n) implements LengthDistribution {
        public int next(SplittableRandom random) {
            return n;
        }
    }

    record Uniform(int min, int max) implements LengthDistribution {
        public int next(SplittableRandom random) {
            return random.nextInt(min, max + 1);
        }
    }

    /** Lengths sampled from a file of real-looking lengths, one per line. */
    record Empirical(int[] lengths) implements LengthDistribution {
        public int next(SplittableRandom random) {
            return lengths[random.nextInt(lengths.length)];
        }
    }

    static LengthDistribution parse(String spec) throws IOException {
        String[] p = spec.split(":", 2);
        try {
            LengthDistribution d = switch (p[0]) {
                case "fixed" -> new Fixed(Integer.parseInt(p[1]));
                case "uniform" -> {
                    String[] r = p[1].split(":");
                    yield new Uniform(Integer.parseInt(r[0]), Integer.parseInt(r[1]));
                }
                case "file" -> new Empirical(Files.readAllLines(Path.of(p[1])).stream().map(String::trim)
                        .filter(s -> !s.isEmpty() && !s.startsWith("#")).mapToInt(Integer::parseInt).toArray());
                default -> throw new IllegalArgumentException();
            };
            if (d instanceof Uniform u && (u.min < 1 || u.max < u.min) || d instanceof Fixed f && f.n < 1
                    || d instanceof Empirical e && e.lengths.length == 0) {
                throw new IllegalArgumentException();
            }
            return d;
        } catch (ArrayIndexOutOfBoundsException | IllegalArgumentException e) {
            throw new io.splitstream.engine.cli.Args.UsageException("bad length distribution '" + spec
                    + "' (fixed:N, uniform:MIN:MAX or file:PATH with positive lengths)");
        }
    }
}
