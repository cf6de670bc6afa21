package io.splitstream.it;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** An OTLP/gRPC trace receiver on a free loopback port: keeps every span exported to it, with its service name. */
final class OtlpReceiver extends TraceServiceGrpc.TraceServiceImplBase implements AutoCloseable {

    /** A received span and the {@code service.name} of the resource that sent it; ids in lower-case hex. */
    record Received(String service, Span span) {
        String traceId() {
            return hex(span.getTraceId().toByteArray());
        }

        String spanId() {
            return hex(span.getSpanId().toByteArray());
        }

        /** Empty for a root span. */
        String parentId() {
            return hex(span.getParentSpanId().toByteArray());
        }

        String name() {
            return span.getName();
        }

        Optional<AnyValue> attribute(String key) {
            return OtlpReceiver.attribute(span.getAttributesList(), key);
        }

        long longAttribute(String key) {
            return attribute(key).map(AnyValue::getIntValue).orElseThrow(() -> new AssertionError(name() + " has no " + key));
        }

        String stringAttribute(String key) {
            return attribute(key).map(AnyValue::getStringValue).orElse("");
        }

        @Override
        public String toString() {
            return service + " " + name() + " " + span.getKind() + " " + spanId() + " <- " + parentId();
        }
    }

    private final List<Received> spans = new CopyOnWriteArrayList<>();
    private final Server server;

    OtlpReceiver() throws IOException {
        server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).addService(this)
                .build().start();
    }

    /** The endpoint for {@code quarkus.otel.exporter.otlp.traces.endpoint}. */
    String endpoint() {
        return "http://127.0.0.1:" + server.getPort();
    }

    List<Received> spans() {
        return List.copyOf(spans);
    }

    @Override
    public void export(ExportTraceServiceRequest request, StreamObserver<ExportTraceServiceResponse> response) {
        for (ResourceSpans rs : request.getResourceSpansList()) {
            String service = serviceName(rs.getResource());
            for (ScopeSpans ss : rs.getScopeSpansList()) {
                for (Span s : ss.getSpansList()) {
                    spans.add(new Received(service, s));
                }
            }
        }
        response.onNext(ExportTraceServiceResponse.getDefaultInstance());
        response.onCompleted();
    }

    private static String serviceName(Resource r) {
        return attribute(r.getAttributesList(), "service.name").map(AnyValue::getStringValue).orElse("");
    }

    static Optional<AnyValue> attribute(List<KeyValue> attributes, String key) {
        return attributes.stream().filter(kv -> kv.getKey().equals(key)).map(KeyValue::getValue).findFirst();
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
