import EmoCore

/// The OpenAPI 3.1 description of `emo serve`'s API, served at `GET /openapi.json`.
public enum OpenAPIDocument {
    /// The document, with the served model's class names in the prediction schema.
    public static func document(classes: [String]) -> JSONValue {
        let error: JSONValue = ["description": "error", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
        let probabilities: JSONValue = ["type": "object", "properties": .object(Dictionary(uniqueKeysWithValues: classes.map { ($0, ["type": "number"]) })),
                                        "required": .array(classes.map { .string($0) })]
        return [
            "openapi": "3.1.0",
            "info": ["title": "EmoKit emo serve", "version": "1.0.0",
                     "description": "Speech emotion recognition with a trained EmoKit bundle: upload an audio or video file, get class probabilities."],
            "paths": [
                "/v1/predict": ["post": [
                    "summary": "Classify one uploaded audio or video file.",
                    "parameters": [["name": "text", "in": "query", "required": false, "schema": ["type": "string"],
                                    "description": "the utterance's text, for models that also read it"]],
                    "requestBody": ["required": true, "content": [
                        "application/octet-stream": ["schema": ["type": "string", "format": "binary"]],
                        "audio/*": ["schema": ["type": "string", "format": "binary"]],
                        "multipart/form-data": ["schema": ["type": "object", "properties": [
                            "file": ["type": "string", "format": "binary"], "text": ["type": "string"]], "required": ["file"]]],
                    ]],
                    "responses": [
                        "200": ["description": "probabilities", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Prediction"]]]],
                        "400": error, "413": error, "415": error, "422": error,
                        "503": ["description": "busy; retry after the Retry-After header's seconds",
                                "headers": ["Retry-After": ["schema": ["type": "integer"]]],
                                "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]],
                        "504": error, "500": error,
                    ],
                ]],
                "/v1/model": ["get": ["summary": "The model's evaluation card: classes, protocol, test metrics, components, limits.",
                                      "responses": ["200": ["description": "card", "content": ["application/json": ["schema": ["type": "object"]]]]]]],
                "/healthz": ["get": ["summary": "Liveness.", "responses": ["200": ["description": "ok"]]]],
                "/metrics": ["get": ["summary": "Prometheus text: requests, latency histogram, errors, queue depth.",
                                     "responses": ["200": ["description": "metrics", "content": ["text/plain": ["schema": ["type": "string"]]]]]]],
            ],
            "components": ["schemas": [
                "Prediction": ["type": "object", "properties": [
                    "predicted": ["type": "string", "enum": .array(classes.map { .string($0) })],
                    "probabilities": probabilities,
                    "duration_s": ["type": "number"], "sha256": ["type": "string"]], "required": ["predicted", "probabilities"]],
                "Error": ["type": "object", "properties": ["error": ["type": "string"]], "required": ["error"]],
            ]],
        ]
    }
}
