package io.splitstream.draft;

import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The models a draft instance serves, by id (file name). */
public final class DraftModels implements AutoCloseable {
    private final Map<String, DraftModel> byId = new LinkedHashMap<>();

    private DraftModels() {
    }

    public static DraftModels load(DraftSettings settings) throws IOException {
        DraftModels models = new DraftModels();
        try {
            for (Path path : settings.models()) {
                DraftModel m = DraftModel.load(path, settings);
                if (models.byId.putIfAbsent(m.id(), m) != null) {
                    m.close();
                    throw new IllegalArgumentException("two models named " + m.id());
                }
            }
        } catch (IOException | RuntimeException e) {
            models.close();
            throw e;
        }
        return models;
    }

    public Collection<DraftModel> all() {
        return byId.values();
    }

    /**
     * The model with id {@code modelId}; an empty id names the only model.
     *
     * @throws io.grpc.StatusRuntimeException NOT_FOUND for an unknown id, INVALID_ARGUMENT for an empty one among several
     */
    public DraftModel find(String modelId) {
        if (modelId.isEmpty()) {
            if (byId.size() == 1) {
                return byId.values().iterator().next();
            }
            throw Status.INVALID_ARGUMENT.withDescription("model_id is required: this instance serves " + byId.keySet())
                    .asRuntimeException();
        }
        DraftModel m = byId.get(modelId);
        if (m == null) {
            throw Status.NOT_FOUND.withDescription("unknown model '" + modelId + "': this instance serves " + byId.keySet())
                    .asRuntimeException();
        }
        return m;
    }

    @Override
    public void close() {
        List<DraftModel> models = new ArrayList<>(byId.values());
        byId.clear();
        models.forEach(DraftModel::close);
    }
}
