package io.splitstream.engine.tensor;

import static io.splitstream.engine.tensor.Kernels.LE;
import static io.splitstream.engine.tensor.Kernels.ROUNDER;
import static io.splitstream.engine.tensor.Kernels.ROUNDER_BITS;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Weights in 32-element blocks with an F16 scale (Q8_0, Q4_0), multiplied the way llama.cpp does: the
 * activations are quantized to Q8_0 ({@link #quantizeBlock}), every block's integer dot is exact, and the row's
 * sum is accumulated in block order as {@code sum += sumi * d_w * d_x} (ggml's scalar order: with it our Q8_0
 * greedy output matches llama.cpp's golden data token for token; ggml's AVX2 order departs once in 512 tokens).
 *
 * <p>Before the first multiply ({@link #prepareForMultiply}, which {@code Weights.load} runs on its load
 * threads) the rows are repacked into tiles of LANES rows in which a float or int lane holds one row, as
 * llama.cpp repacks Q4_0 on x86. A tile holds its blocks in pairs: first the pair's scales, as F16 like the
 * file, in one int vector (lane r: block 2j's scale of row r in the upper half, block 2j+1's in the lower), then
 * per block one int vector per 4 bytes of its quants, lane r holding row r's 4 bytes (xor the type's flip). So a
 * tile takes as many bytes as the file's rows, and decode streams it front to back; the scales widen to F32
 * exactly ({@link #tileScales}). The kernels that read the tiles are the type's own ({@link Q8_0Matrix}: floats,
 * {@link Q4_0Matrix}: integer nibble pairs); the prefill driver ({@link #tokenLanes}) is shared. The Vector API has no integer dot product, so neither kernel uses one;
 * every kernel forms the same integer block sums and adds them in the same float order, so results are
 * bit-identical across paths, batch sizes and thread counts.
 *
 * <p>The kernels are written out in full, not split into helpers: a vector that passes through a call C2 did
 * not inline is boxed, which made earlier kernels 3-10x slower.
 *
 * <p>The original (mapped) data stays for {@link #dequantizeRow}; after repacking, its pages are released
 * from memory ({@link MemorySegment#unload()}), so resident memory holds the weights about once.
 */
abstract sealed class Q8DotMatrix extends WeightMatrix permits Q8_0Matrix, Q4_0Matrix {

    static final VectorSpecies<Float> QF = Kernels.F;
    static final VectorSpecies<Integer> QI = QF.withLanes(int.class);
    /** Rows per tile. */
    static final int LANES = QF.length();
    /**
     * Batches of at least this many rows take {@link #tokenLanes} (prefill); smaller ones the row-lane paths. A
     * prefill pass takes 2*LANES tokens, padded: below three quarters of a pass, groups of eight ({@link #GROUP})
     * waste less. Measured with 16 lanes, one thread, alternating in one process: groups of eight 1.2-1.3x as fast
     * at 17 and 20 tokens, token lanes 1.07-1.1x at 25 and 28.
     */
    static final int TOKEN_LANES_MIN = 3 * LANES / 2 + 1;
    /** Tile rows that one prefill pass takes (LANES is a multiple of it). */
    static final int ROWS_PER_PASS = 8;

    static {
        if (LANES % ROWS_PER_PASS != 0) {
            throw new ExceptionInInitializerError("Q8_0/Q4_0 kernels need vectors of 8 or 16 floats, not " + LANES);
        }
    }
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    /**
     * An F16 scale in the upper half of an int, shifted right by SCALE_SHIFT and masked with SCALE_BITS, is an
     * F32's exponent and mantissa 2^112 times too small (the sign comes from bit 31); see {@link #tileScales}.
     */
    static final int SCALE_SHIFT = 3;
    static final int SCALE_BITS = 0x0FFFE000;

    private final int blockBytes;
    final int blocks;
    /** Int words per row and block: 4 quant bytes each (4 for Q4_0, 8 for Q8_0). */
    final int words;
    /** Bytes of a block's words in a tile. */
    private final long blockWordBytes;
    /** Bytes of a pair of blocks in a tile: their scales, then their words. */
    private final long pairBytes;
    private final long tileBytes;
    private final int tiles;
    private final int flip;
    /** The repacked rows, made once by {@link #tiles()}. */
    private volatile MemorySegment tiled;

    /** @param flip xor applied to each word when repacking */
    Q8DotMatrix(GgmlType type, MemorySegment data, int rows, int cols, int flip) {
        super(type, data, rows, cols);
        this.blockBytes = (int) type.bytesFor(32);
        this.blocks = cols / 32;
        this.words = (blockBytes - 2) / 4;
        this.blockWordBytes = 4L * LANES * words;
        this.pairBytes = 4L * LANES + 2 * blockWordBytes;
        this.tileBytes = (blocks + 1) / 2 * 4L * LANES + blocks * blockWordBytes;
        this.tiles = (rows + LANES - 1) / LANES;
        this.flip = flip;
    }

    @Override
    public final void prepareForMultiply() {
        tiles();
    }

    final MemorySegment tiles() {
        MemorySegment t = tiled;
        if (t == null) {
            synchronized (this) {
                t = tiled;
                if (t == null) {
                    tiled = t = repack();
                    if (data.isMapped()) {
                        data.unload();
                    }
                }
            }
        }
        return t;
    }

    /** The repacked rows: tile after tile, each its pairs of blocks (class comment). */
    private MemorySegment repack() {
        MemorySegment t = AnonymousMemory.allocate(tiles * tileBytes);
        for (int r = 0; r < rows; r++) {
            int tile = r / LANES;
            int lane = r % LANES;
            for (int blk = 0; blk < blocks; blk++) {
                long bo = r * rowBytes + (long) blk * blockBytes;
                short scale = data.get(Kernels.SHORT_LE, bo);
                if ((scale & 0x7C00) == 0x7C00) {
                    throw new IllegalArgumentException("row " + r + ", block " + blk + " has a non-finite scale ("
                            + Float.float16ToFloat(scale) + ")");
                }
                long so = scalesAt(tile, blk) + 4L * lane;
                int pair = t.get(INT_LE, so);
                t.set(INT_LE, so, (blk & 1) == 0 ? pair | (scale & 0xFFFF) << 16 : pair | (scale & 0xFFFF));
                long o = wordsAt(tile, blk) + 4L * lane;
                for (int w = 0; w < words; w++) {
                    t.set(INT_LE, o + 4L * LANES * w, data.get(INT_LE, bo + 2 + 4L * w) ^ flip);
                }
            }
        }
        return t;
    }

    /** Where the int vector holding block blk's scales (and its pair's) of a tile starts. */
    final long scalesAt(int tile, int blk) {
        return tile * tileBytes + (blk >> 1) * pairBytes;
    }

    /** Where block blk's first word vector of a tile starts; word w follows at {@code + 4*LANES*w}. */
    final long wordsAt(int tile, int blk) {
        return scalesAt(tile, blk) + 4L * LANES + (blk & 1) * blockWordBytes;
    }

    /**
     * Blocks [blkFrom, blkTo) of a tile's scales widened to floats, block blk's (lane = row) to
     * {@code dw[blk*LANES ..]}: the F16 bits, moved to the upper half, shifted so that exponent and mantissa sit
     * where F32 keeps them, read as a float 2^-112 times too small (subnormals included), times 2^112: exact. Finite scales only: {@link #repack} refuses the
     * others. For the prefill kernels, which unpack a tile before using it. The decode kernels widen each block's
     * scales in their block loop, written out: there C2 would not inline a call (the kernels are large) and would
     * box its vectors, and a separate pass over the scales would break the stream from memory.
     */
    final void tileScales(MemorySegment tiled, int tile, int blkFrom, int blkTo, float[] dw) {
        for (int blk = blkFrom; blk < blkTo; blk++) {
            IntVector h = IntVector.fromMemorySegment(QI, tiled, scalesAt(tile, blk), LE)
                    .lanewise(VectorOperators.LSHL, (blk & 1) << 4);
            ((FloatVector) h.lanewise(VectorOperators.LSHR, SCALE_SHIFT).and(SCALE_BITS).or(h.and(0x80000000))
                    .convert(VectorOperators.REINTERPRET_I2F, 0)).mul(0x1p112f).intoArray(dw, blk * LANES);
        }
    }

    @Override
    final int rowGrain() {
        return LANES;
    }

    /** Row sums of a tile (lane = row) for token t, to the rows of the tile inside [rowFrom, rowTo). */
    final void storeTile(float[] sums, int from, int tile, int t, float[] out, int rowFrom, int rowTo) {
        int first = Math.max(rowFrom, tile * LANES);
        int end = Math.min(rowTo, (tile + 1) * LANES);
        for (int r = first; r < end; r++) {
            out[t * rows + r] = sums[from + r - tile * LANES];
        }
    }

    /** {@link #storeTile} for tokens t0..t3, whose row sums stand one after another in {@code sums}. */
    final void storeFourTiles(float[] sums, int tile, int t0, int t1, int t2, int t3, float[] out, int rowFrom, int rowTo) {
        storeTile(sums, 0, tile, t0, out, rowFrom, rowTo);
        storeTile(sums, LANES, tile, t1, out, rowFrom, rowTo);
        storeTile(sums, 2 * LANES, tile, t2, out, rowFrom, rowTo);
        storeTile(sums, 3 * LANES, tile, t3, out, rowFrom, rowTo);
    }

    /**
     * Tokens per group of the eight-token kernels. A batch of {@link #TOKEN_GROUP_MIN} to
     * {@link #TOKEN_LANES_MIN} - 1 tokens is laid out in groups, token lane i of group g, block blk at slot
     * {@code (g*blocks + blk)*GROUP + i} ({@link #groupSlot}), the last group padded with zeros, and each group
     * takes one pass over the tiles.
     */
    static final int GROUP = 8;
    /**
     * Batches of at least this many tokens take the eight-token kernels, the last group padded: alone, alternating
     * in one process, they did eight tokens 1.2-1.4x (Q4_0) and 1.3-1.6x (Q8_0) as fast as the four-token kernels
     * did two fours, so even half a group costs no more.
     */
    static final int TOKEN_GROUP_MIN = 5;

    /** Token t's slot for block blk in a group layout ({@link #GROUP}). */
    static int groupSlot(int t, int blk, int blocks) {
        return (t / GROUP * blocks + blk) * GROUP + t % GROUP;
    }

    /** Slots of a group layout of {@code batch} tokens, the last group padded. */
    static int groupSlots(int batch, int blocks) {
        return (batch + GROUP - 1) / GROUP * GROUP * blocks;
    }

    /** {@link #storeTile} for the tokens of group {@code group} below {@code batch}, whose sums stand in order. */
    final void storeGroup(float[] sums, int tile, int group, int batch, float[] out, int rowFrom, int rowTo) {
        for (int t = group * GROUP; t < Math.min(batch, (group + 1) * GROUP); t++) {
            storeTile(sums, (t - group * GROUP) * LANES, tile, t, out, rowFrom, rowTo);
        }
    }

    /** A type's prefill kernel over a run of blocks of one tile at a time, with its scratch. */
    interface PrefillKernel {
        /** Makes blocks [blkFrom, blkTo) of tile {@code tile} ready for {@link #pass}. */
        void unpack(int tile, int blkFrom, int blkTo);

        /**
         * Blocks [blkFrom, blkTo) of rows lane..lane+ROWS_PER_PASS-1 of the unpacked tile against tokens
         * [tv, tv + 2*LANES): block by block, in order, row i's sum for token t is added to
         * {@code sums[at + i*2*LANES + t - tv]}.
         */
        void pass(int tv, int lane, int blkFrom, int blkTo, float[] sums, int at);

        /** Bytes of one block of the activations of one token, as the kernel reads them. */
        int activationBytesPerBlock();
    }

    /** Bytes of activations that one run of blocks may take, so that it stays in L2 while every tile uses it. */
    private static final int RUN_ACTIVATION_BYTES = 256 << 10;
    /** Fewer blocks per run would make the per-pass overhead show. */
    private static final int MIN_RUN_BLOCKS = 16;

    /**
     * Prefill: lanes hold tokens. The columns are taken in runs of blocks whose activations fit in L2; within a
     * run, each tile is unpacked once and serves every token, ROWS_PER_PASS rows and 2*LANES tokens per pass.
     * Each pass adds its blocks to row sums kept per tile, lane and token vector, in block order, so the sums
     * are those of one pass over all blocks. {@code paddedTokens} is the batch rounded up by {@link #paddedTokens}.
     */
    final void tokenLanes(PrefillKernel kernel, int paddedTokens, int batch, float[] out, int rowFrom, int rowTo) {
        int firstTile = rowFrom / LANES;
        int endTile = (rowTo + LANES - 1) / LANES;
        int passSums = ROWS_PER_PASS * 2 * LANES;
        int passesPerTile = LANES / ROWS_PER_PASS * (paddedTokens / (2 * LANES));
        float[] sums = new float[(endTile - firstTile) * passesPerTile * passSums];
        long runBlocks = Math.max(MIN_RUN_BLOCKS,
                RUN_ACTIVATION_BYTES / ((long) kernel.activationBytesPerBlock() * paddedTokens));
        int runs = (int) ((blocks + runBlocks - 1) / runBlocks);
        int touched = 0;
        for (int run = 0; run < runs; run++) {
            int blkFrom = (int) ((long) blocks * run / runs);
            int blkTo = (int) ((long) blocks * (run + 1) / runs);
            for (int tile = firstTile; tile < endTile; tile++) {
                touched += touch(tile, blkFrom, blkTo);
                kernel.unpack(tile, blkFrom, blkTo);
                int at = (tile - firstTile) * passesPerTile * passSums;
                for (int lane = 0; lane < LANES; lane += ROWS_PER_PASS) {
                    int r0 = tile * LANES + lane;
                    boolean inRange = r0 + ROWS_PER_PASS > rowFrom && r0 < rowTo;
                    for (int tv = 0; tv < paddedTokens; tv += 2 * LANES, at += passSums) {
                        if (inRange) {
                            kernel.pass(tv, lane, blkFrom, blkTo, sums, at);
                        }
                    }
                }
            }
        }
        touchedSink = touched;
        for (int tile = firstTile; tile < endTile; tile++) {
            int at = (tile - firstTile) * passesPerTile * passSums;
            for (int lane = 0; lane < LANES; lane += ROWS_PER_PASS) {
                int r0 = tile * LANES + lane;
                int first = Math.max(r0, rowFrom), end = Math.min(r0 + ROWS_PER_PASS, rowTo);
                for (int tv = 0; tv < paddedTokens; tv += 2 * LANES, at += passSums) {
                    for (int t = tv; t < Math.min(batch, tv + 2 * LANES); t++) {
                        for (int r = first; r < end; r++) {
                            out[t * rows + r] = sums[at + (r - r0) * 2 * LANES + t - tv];
                        }
                    }
                }
            }
        }
    }

    /** Keeps {@link #touch}'s loads from being optimized away. */
    private volatile int touchedSink;

    /**
     * Reads one byte per cache line of blocks [blkFrom, blkTo) of a tile, just before they are unpacked. The
     * unpack does some thirty operations per line it loads, so only a dozen misses fit in the core's window
     * and it ran at about 6 GB/s per thread; this loop has many more in flight. Measured: unpacking takes 20%
     * less time, prompts run 3-5% faster.
     */
    private int touch(int tile, int blkFrom, int blkTo) {
        MemorySegment t = tiled;
        long from = scalesAt(tile, blkFrom);
        long to = Math.min((tile + 1) * tileBytes, scalesAt(tile, blkTo + 1));
        int s = 0;
        for (long o = from; o < to; o += 64) {
            s += t.get(ValueLayout.JAVA_BYTE, o);
        }
        return s;
    }

    /** The batch rounded up to whole prefill passes (2*LANES tokens); the padding tokens are zero. */
    static int paddedTokens(int batch) {
        return (batch + 2 * LANES - 1) / (2 * LANES) * (2 * LANES);
    }

    /** Receives one quantized block of one token. */
    interface QuantizedBlockSink {
        void accept(int blk, int t, float d, int[] q);
    }

    /**
     * Quantizes every block of {@code batch} rows of {@code n} activations ({@link #quantizeBlock}) into a type's
     * layout; threads split the blocks (pool may be null: the row-lane layouts of small batches use none).
     */
    static void quantizeBlocks(float[] x, int batch, int n, ComputePool pool, QuantizedBlockSink sink) {
        IntRangeTask task = (from, to) -> {
            int[] q = new int[32];
            for (int blk = from; blk < to; blk++) {
                for (int t = 0; t < batch; t++) {
                    sink.accept(blk, t, quantizeBlock(x, t * n + blk * 32, q), q);
                }
            }
        };
        if (pool == null) {
            task.run(0, n / 32);
        } else {
            pool.parallelFor(n / 32, task);
        }
    }

    /**
     * One 32-block of activations quantized to Q8_0 exactly as ggml's x86 SIMD quantize_row_q8_0 (what llama.cpp
     * runs here, and what the golden data used), not the scalar _ref: d = amax/127 rounded to F16, and
     * q = round-half-even of x*127/amax (_mm256_round_ps). Writes q in element order to {@code q}; returns d.
     * Vectorized: adding {@link Kernels#ROUNDER} to x*id (|x*id| &lt;= 127) rounds it half-even like {@code rint}
     * and leaves the integer in the low mantissa bits. A NaN or infinite activation makes d NaN, which the block's
     * products carry to the output.
     */
    static float quantizeBlock(float[] x, int xo, int[] q) {
        FloatVector max = FloatVector.zero(QF);
        for (int j = 0; j < 32; j += LANES) {
            max = max.max(FloatVector.fromArray(QF, x, xo + j).abs());
        }
        float amax = max.reduceLanes(VectorOperators.MAX);
        float id = amax != 0f ? 127f / amax : 0.0f;
        for (int j = 0; j < 32; j += LANES) {
            ((IntVector) FloatVector.fromArray(QF, x, xo + j).mul(id).add(ROUNDER).convert(VectorOperators.REINTERPRET_F2I, 0))
                    .sub(ROUNDER_BITS).intoArray(q, j);
        }
        return Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
    }
}
