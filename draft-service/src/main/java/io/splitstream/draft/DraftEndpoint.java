package io.splitstream.draft;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.splitstream.proto.internal.v1.DraftGrpc;
import io.splitstream.proto.internal.v1.IndexDocumentsRequest;
import io.splitstream.proto.internal.v1.IndexDocumentsResponse;
import io.splitstream.proto.internal.v1.SpeculateRequest;
import io.splitstream.proto.internal.v1.SpeculateResponse;
import io.splitstream.service.GrpcErrors;
import java.util.List;
import java.util.function.Supplier;

/**
 * The {@code Draft} service over {@link DraftModels}, plain grpc-java (a Quarkus bean subclasses it; tests host it
 * on a server they can stop). Nothing here blocks the calling thread: the work runs on the models' workers.
 */
public class DraftEndpoint extends DraftGrpc.DraftImplBase {
    private final Supplier<DraftModels> models;
    private final DraftListener listener;

    /** @param models the loaded models; throws a StatusRuntimeException (UNAVAILABLE) while they load */
    public DraftEndpoint(Supplier<DraftModels> models, DraftListener listener) {
        this.models = models;
        this.listener = listener;
    }

    @Override
    public StreamObserver<SpeculateRequest> speculate(StreamObserver<SpeculateResponse> responses) {
        return new SpeculationSession(models, responses, listener);
    }

    @Override
    public void indexDocuments(IndexDocumentsRequest request, StreamObserver<IndexDocumentsResponse> response) {
        try {
            DraftModel model = models.get().find(request.getModelId());
            if (request.getDocumentsCount() == 0) {
                throw Status.INVALID_ARGUMENT.withDescription("no documents to index").asRuntimeException();
            }
            model.call(() -> {
                List<int[]> documents = Documents.tokens(request.getDocumentsList(), model);
                long tokens = model.index(documents);
                return IndexDocumentsResponse.newBuilder().setDocuments(documents.size()).setTokensIndexed(tokens)
                        .setCorpusTokens(model.corpusTokens()).build();
            }).whenComplete((reply, failure) -> {
                if (failure != null) {
                    response.onError(GrpcErrors.toStatus(failure));
                } else {
                    response.onNext(reply);
                    response.onCompleted();
                }
            });
        } catch (RuntimeException e) {
            response.onError(GrpcErrors.toStatus(e));
        }
    }
}
