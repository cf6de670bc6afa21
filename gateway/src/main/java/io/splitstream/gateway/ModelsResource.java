package io.splitstream.gateway;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

/** GET /v1/models: the one model this gateway serves. */
@Path("/v1/models")
public class ModelsResource {
    private static final long STARTED = System.currentTimeMillis() / 1000;

    @Inject
    Gateway gateway;

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public String models() {
        return OpenAiResponses.models(gateway.model().name(), STARTED);
    }
}
