package io.splitstream.gateway;

/** An error for the OpenAI API: HTTP status and the fields of {"error":{message,type,param,code}}. */
public final class OpenAiException extends RuntimeException {
    private final int httpStatus;
    private final String type;
    private final String param;
    private final String code;

    public OpenAiException(int httpStatus, String message, String type, String param, String code) {
        super(message);
        this.httpStatus = httpStatus;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    public static OpenAiException badRequest(String message, String param) {
        return new OpenAiException(400, message, "invalid_request_error", param, null);
    }

    public int httpStatus() {
        return httpStatus;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
