import Foundation

/// Request counters and a latency histogram, rendered in Prometheus' text format (`GET /metrics`).
public final class ServeMetrics: @unchecked Sendable {
    /// Upper bounds (seconds) of the latency histogram's buckets.
    public static let buckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    private var requests: [String: Int] = [:]           // "route|status" → count
    private var bucketCounts = [Int](repeating: 0, count: ServeMetrics.buckets.count)
    private var latencyCount = 0
    private var latencySum = 0.0
    private var predictions: [String: Int] = [:]        // predicted class → count
    private let lock = NSLock()

    /// Records one answered request.
    public func record(route: String, status: Int, seconds: Double, predicted: String? = nil) {
        lock.withLock {
            requests["\(route)|\(status)", default: 0] += 1
            if route == "/v1/predict" {
                latencyCount += 1
                latencySum += seconds
                for (i, bound) in Self.buckets.enumerated() where seconds <= bound { bucketCounts[i] += 1 }
                if let predicted { predictions[predicted, default: 0] += 1 }
            }
        }
    }

    /// The Prometheus exposition text; `queueDepth` is the current number of waiting requests.
    public func text(queueDepth: Int) -> String {
        lock.withLock {
            var out = "# HELP emokit_requests_total HTTP requests answered, by route and status.\n# TYPE emokit_requests_total counter\n"
            for key in requests.keys.sorted() {
                let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
                out += "emokit_requests_total{route=\"\(parts[0])\",status=\"\(parts.count > 1 ? parts[1] : "")\"} \(requests[key] ?? 0)\n"
            }
            let errors = requests.filter { $0.key.hasPrefix("/v1/predict|") && !$0.key.hasSuffix("|200") }.values.reduce(0, +)
            out += "# HELP emokit_predict_errors_total Prediction requests not answered with 200.\n# TYPE emokit_predict_errors_total counter\n"
            out += "emokit_predict_errors_total \(errors)\n"
            out += "# HELP emokit_predict_duration_seconds Time to answer a prediction request.\n# TYPE emokit_predict_duration_seconds histogram\n"
            for (i, bound) in Self.buckets.enumerated() {
                out += "emokit_predict_duration_seconds_bucket{le=\"\(bound)\"} \(bucketCounts[i])\n"
            }
            out += "emokit_predict_duration_seconds_bucket{le=\"+Inf\"} \(latencyCount)\n"
            out += "emokit_predict_duration_seconds_sum \(latencySum)\nemokit_predict_duration_seconds_count \(latencyCount)\n"
            out += "# HELP emokit_predictions_total Predictions by class.\n# TYPE emokit_predictions_total counter\n"
            for label in predictions.keys.sorted() { out += "emokit_predictions_total{class=\"\(label)\"} \(predictions[label] ?? 0)\n" }
            out += "# HELP emokit_queue_depth Requests waiting for a worker.\n# TYPE emokit_queue_depth gauge\nemokit_queue_depth \(queueDepth)\n"
            return out
        }
    }
}
