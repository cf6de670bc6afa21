package io.splitstream.service;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.AbstractStub;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;

/**
 * Client spans and trace-context propagation for the mesh's plain grpc-java channels (Quarkus instruments only its
 * own clients). Each call gets a CLIENT span named after the method, child of the context given with
 * {@link #withParent} or else of the context current when the call starts; the span's context goes in the call's
 * headers, so the Quarkus gRPC server on the other side continues the trace. The span ends when the call closes.
 */
public final class TracingClientInterceptor implements ClientInterceptor {
    private static final CallOptions.Key<Context> PARENT = CallOptions.Key.create("splitstream.trace-parent");
    private static final TextMapSetter<Metadata> SETTER =
            (headers, key, value) -> headers.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value);

    private final Tracer tracer;
    private final TextMapPropagator propagator;

    public TracingClientInterceptor(OpenTelemetry otel) {
        this.tracer = otel.getTracer(TraceAttributes.SCOPE);
        this.propagator = otel.getPropagators().getTextMapPropagator();
    }

    /** The stub with calls parented to {@code parent} (for calls started on threads that do not carry it). */
    public static <S extends AbstractStub<S>> S withParent(S stub, Context parent) {
        return stub.withOption(PARENT, parent);
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        Context given = options.getOption(PARENT);
        Context parent = given != null ? given : Context.current();
        Span span = tracer.spanBuilder(method.getFullMethodName()).setParent(parent).setSpanKind(SpanKind.CLIENT)
                .setAttribute("rpc.system", "grpc")
                .setAttribute("rpc.service", String.valueOf(method.getServiceName()))
                .setAttribute("rpc.method", String.valueOf(method.getBareMethodName()))
                .startSpan();
        Context context = parent.with(span);
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void start(Listener<R> listener, Metadata headers) {
                propagator.inject(context, headers, SETTER);
                try {
                    super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                        @Override
                        public void onClose(Status status, Metadata trailers) {
                            span.setAttribute("rpc.grpc.status_code", status.getCode().value());
                            if (!status.isOk()) {
                                span.setStatus(StatusCode.ERROR, status.getCode() + ": " + status.getDescription());
                            }
                            span.end();
                            super.onClose(status, trailers);
                        }
                    }, headers);
                } catch (RuntimeException | Error e) {
                    TraceAttributes.fail(span, e);
                    span.end();
                    throw e;
                }
            }
        };
    }
}
