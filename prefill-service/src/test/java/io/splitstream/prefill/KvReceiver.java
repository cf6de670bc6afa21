package io.splitstream.prefill;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvChunk;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.model.Batch;
import io.splitstream.engine.model.LayerListener;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.proto.internal.v1.KvEncoding;
import io.splitstream.proto.internal.v1.KvHeader;
import io.splitstream.proto.internal.v1.KvMessage;
import io.splitstream.proto.internal.v1.KvPushReply;
import io.splitstream.proto.internal.v1.KvTransferGrpc;
import io.splitstream.service.GrpcErrors;
import io.splitstream.service.KvWire;
import io.splitstream.service.Protocol;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A decode-side stand-in: a real grpc-java server implementing KvTransfer that decodes chunks with KvWire, imports them
 * into a second engine instance's KV cache and can continue generating from them.
 */
final class KvReceiver implements AutoCloseable {
    enum Mode { ACCEPT, DATA_LOSS }

    record Arrival(int layer, int from, int tokens, long nanos) {
    }

    record Transfer(KvHeader header, int sequence, List<Arrival> arrivals, long[] bytes) {
    }

    final Model model;
    final ComputePool pool = new ComputePool(1);
    final Transformer transformer;
    final KvCache cache;
    final Map<String, Transfer> transfers = new ConcurrentHashMap<>();
    volatile Mode mode = Mode.ACCEPT;
    private final Server server;

    KvReceiver(Model model) throws IOException {
        this.model = model;
        this.transformer = new Transformer(model, pool);
        this.cache = model.newKvCache(KvPrecision.F32, 4096);
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new Service()).build().start();
    }

    String target() {
        return "127.0.0.1:" + server.getPort();
    }

    /** Greedy continuation from an imported transfer: feeds firstToken, then each argmax, {@code n} tokens in all. */
    int[] continueGreedy(String transferId, int firstToken, int n) {
        Transfer t = transfers.get(transferId);
        int seq = t.sequence();
        int[] out = new int[n];
        out[0] = firstToken;
        for (int i = 1; i < n; i++) {
            float[][] logits = transformer.forward(Batch.chunk(seq, cache.length(seq), new int[] {out[i - 1]}, true), cache,
                    LayerListener.NONE);
            out[i] = argmax(logits[0]);
        }
        return out;
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow().awaitTermination();
        pool.close();
    }

    private final class Service extends KvTransferGrpc.KvTransferImplBase {
        @Override
        public StreamObserver<KvMessage> push(StreamObserver<KvPushReply> reply) {
            return new StreamObserver<>() {
                KvHeader header;
                int seq = -1;
                int chunks;
                long bytes;
                final List<Arrival> arrivals = new CopyOnWriteArrayList<>();
                boolean failed;

                @Override
                public void onNext(KvMessage m) {
                    if (failed) {
                        return;
                    }
                    try {
                        if (m.hasHeader()) {
                            header = m.getHeader();
                            cache.checkFingerprint(Protocol.fingerprint(header.getFingerprint()), false);
                            seq = cache.newSequence();
                            cache.reserve(seq, header.getPromptTokens());
                            transfers.put(header.getTransferId(), new Transfer(header, seq, arrivals, new long[1]));
                        } else if (m.hasChunk()) {
                            if (mode == Mode.DATA_LOSS) {
                                throw Status.DATA_LOSS.withDescription("KV chunk for layer " + m.getChunk().getLayer()
                                        + " fails its CRC32C checksum").asRuntimeException();
                            }
                            KvChunk c = KvWire.decode(m.getChunk(), header.getEncoding(),
                                    header.getKvHeads() * header.getHeadDim(), header.getHeadDim());
                            cache.importChunk(seq, c);
                            arrivals.add(new Arrival(c.layer(), c.fromPosition(), c.tokens(), System.nanoTime()));
                            chunks++;
                            bytes += m.getChunk().getKeys().size() + m.getChunk().getValues().size();
                        } else if (m.hasTrailer()) {
                            if (m.getTrailer().getChunks() != chunks || m.getTrailer().getBytes() != bytes) {
                                throw Status.DATA_LOSS.withDescription("trailer says " + m.getTrailer().getChunks()
                                        + " chunks, received " + chunks).asRuntimeException();
                            }
                            cache.setLength(seq, header.getPromptTokens());
                            transfers.get(header.getTransferId()).bytes()[0] = bytes;
                        }
                    } catch (RuntimeException e) {
                        failed = true;
                        reply.onError(GrpcErrors.toStatus(e));
                    }
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    if (!failed) {
                        reply.onNext(KvPushReply.newBuilder().setChunks(chunks).setBytes(bytes).build());
                        reply.onCompleted();
                    }
                }
            };
        }
    }

    static KvEncoding f32() {
        return KvEncoding.KV_ENCODING_F32;
    }
}
