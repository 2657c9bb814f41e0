import Foundation

/// One metric of EmoKit and the peer side by side (figures are fractions; `difference` is EmoKit − peer).
public struct PeerRow: Sendable, Equatable, Codable {
    /// The metric.
    public var metric: SummaryMetric
    /// EmoKit's mean ± std over seeds × folds.
    public var emokit: MeanStd
    /// The peer's mean ± std over the same seeds × folds.
    public var peer: MeanStd
    /// EmoKit's mean − the peer's mean.
    public var difference: Double
    /// The issue's goal: EmoKit within 1 point of the peer or better (`difference ≥ −0.01`).
    public var withinOnePoint: Bool
}

/// The peer side of `emo run SPEC --peer`: who the peer was, what it measured, or why there is none.
public struct PeerReport: Sendable, Equatable, Codable {
    /// Why there is no peer column (nil when the peer ran).
    public var missing: String?
    /// What the peer is ("librosa 0.11 ... + PyTorch 2.13 model of the same shapes").
    public var peer: String?
    /// `peer` (its own librosa/Praat features) or `emokit` (EmoKit's feature matrix, a diagnostic).
    public var features: String?
    /// Package versions the peer printed.
    public var versions: [String: String] = [:]
    /// Wall seconds the peer spent on features (reading its cache included).
    public var featureSeconds: Double?
    /// Clips whose features the peer computed in this run (the rest came from its cache).
    public var featuresComputed: Int?
    /// Wall seconds of the whole peer run.
    public var totalSeconds: Double?
    /// Accuracy, macro F1, ... side by side.
    public var rows: [PeerRow] = []

    /// A report saying there is no peer column, and why.
    public static func unavailable(_ why: String) -> PeerReport { PeerReport(missing: why) }

    /// Lines for the terminal: the side-by-side table, or the reason there is none.
    public var text: String {
        if let missing { return "peer: unavailable — \(missing)" }
        var lines = ["peer: \(peer ?? "?") (features: \(features ?? "?"))"]
        if let s = featureSeconds, features == "peer" {
            lines.append(String(format: "  peer features: %.1f s wall, ", s) + "\(featuresComputed ?? 0) clips computed (the rest cached)")
        }
        lines.append("  " + "metric".padding(toLength: 15, withPad: " ", startingAt: 0) + "EmoKit              peer                EmoKit − peer  goal (≥ −1 point)")
        for r in rows {
            lines.append("  " + r.metric.title.padding(toLength: 15, withPad: " ", startingAt: 0)
                + (r.emokit.formatted(digits: 2, scale: 100) + " %").padding(toLength: 20, withPad: " ", startingAt: 0)
                + (r.peer.formatted(digits: 2, scale: 100) + " %").padding(toLength: 20, withPad: " ", startingAt: 0)
                + String(format: "%+.2f points", 100 * r.difference).padding(toLength: 15, withPad: " ", startingAt: 0)
                + (r.withinOnePoint ? "met" : "NOT met"))
        }
        return lines.joined(separator: "\n")
    }
}

/// Why a peer's output could not be read. Messages name the peer script and what was wrong.
public enum PeerError: Error, CustomStringConvertible {
    /// The JSON did not have the expected fields.
    case badOutput(String)

    /// The message, naming the script.
    public var description: String {
        switch self {
        case .badOutput(let m): return "Tests/Reference/peer_pipeline.py printed an unusable result: \(m)"
        }
    }
}

/// Turns a peer's JSON result into a `RunResult` (metrics computed by EmoKit's own metric code from the peer's
/// test predictions and probabilities, so both columns are measured the same way) and the side-by-side rows.
public enum PeerComparison {
    /// The peer script's JSON result.
    struct Output: Decodable {
        struct Epoch: Decodable {
            var epoch: Int
            var train_loss: Double
            var val_loss: Double?
            var val_accuracy: Double?
            var lr: Double?
        }

        struct Run: Decodable {
            var seed: UInt64
            var split: String
            var predicted: [Int]
            var probabilities: [[Double]]
            var best_epoch: Int?
            var history: [Epoch]?
            var imputed: Int?
        }

        var peer: String?
        var features: String?
        var versions: [String: String]?
        var feature_seconds: Double?
        var features_computed: Int?
        var total_seconds: Double?
        var runs: [Run]
    }

    /// Reads the peer's `output` (its last stdout line) against the protocol it was given; returns the peer's
    /// run (model name `<emokit model> [peer]`) and the report comparing it with `emokit`.
    public static func compare(output: Data, protocol proto: PeerProtocol, emokit: RunResult) throws(PeerError)
        -> (peer: RunResult, report: PeerReport) {
        let out: Output
        do { out = try JSONDecoder().decode(Output.self, from: output) } catch {
            throw .badOutput("\(error)")
        }
        guard out.runs.count == proto.folds.count else {
            throw .badOutput("\(out.runs.count) runs for \(proto.folds.count) folds")
        }
        let k = proto.classes.count
        var folds: [FoldResult] = []
        for (run, fold) in zip(out.runs, proto.folds) {
            guard run.seed == fold.seed, run.split == fold.split else {
                throw .badOutput("run '\(run.split)' seed \(run.seed) where fold '\(fold.split)' seed \(fold.seed) was expected")
            }
            guard run.predicted.count == fold.test.count, run.probabilities.count == fold.test.count,
                  run.predicted.allSatisfy({ (0..<k).contains($0) }), run.probabilities.allSatisfy({ $0.count == k }) else {
                throw .badOutput("fold '\(fold.split)': \(run.predicted.count) predictions in 0..<\(k) expected \(fold.test.count)")
            }
            let truth = fold.test.map { proto.items[$0].classIndex }
            let metrics: ClassificationMetrics
            do {
                metrics = try ClassificationMetrics.compute(truth: truth, predicted: run.predicted, classes: proto.classes,
                                                            scores: run.probabilities)
            } catch { throw .badOutput("fold '\(fold.split)': \(error)") }
            // Per corpus, as EmoKit reports it (from the protocol's item corpora; files without them give none).
            var perCorpus: [String: ClassificationMetrics]?
            if Set(proto.items.compactMap(\.corpus)).count > 1 {
                var byCorpus: [String: [Int]] = [:]
                for (r, i) in fold.test.enumerated() { byCorpus[proto.items[i].corpus ?? "", default: []].append(r) }
                do {
                    perCorpus = try byCorpus.mapValues { rows in
                        try ClassificationMetrics.compute(truth: rows.map { truth[$0] }, predicted: rows.map { run.predicted[$0] },
                                                          classes: proto.classes, scores: rows.map { run.probabilities[$0] })
                    }
                } catch { throw .badOutput("fold '\(fold.split)' per corpus: \(error)") }
            }
            let emokitFold = emokit.folds.first { $0.seed == fold.seed && $0.split == fold.split }
            let curves = run.history.map { h in
                TrainingCurves(epochs: h.map {
                    TrainingCurves.Epoch(epoch: $0.epoch, trainLoss: $0.train_loss, validationLoss: $0.val_loss,
                                         validationAccuracy: $0.val_accuracy, learningRate: $0.lr)
                }, bestEpoch: run.best_epoch)
            }
            folds.append(FoldResult(seed: fold.seed, split: fold.split, overlap: emokitFold?.overlap
                                        ?? SplitOverlap(trainSide: [], test: [], items: [RunItem]()),
                                    metrics: metrics, curves: curves, imputedValues: run.imputed ?? 0, perCorpus: perCorpus))
        }
        var runProtocol = emokit.runProtocol
        runProtocol.corpus += "; peer features: \(out.features ?? "peer")"
        let peerRun = RunResult(model: emokit.model + " [peer]", runProtocol: runProtocol, folds: folds)
        let report = PeerReport(missing: nil, peer: out.peer, features: out.features, versions: out.versions ?? [:],
                                featureSeconds: out.feature_seconds, featuresComputed: out.features_computed,
                                totalSeconds: out.total_seconds, rows: rows(emokit: emokit, peer: peerRun))
        return (peerRun, report)
    }

    /// Accuracy, balanced accuracy, macro F1, weighted F1 and macro AUC of both runs side by side.
    public static func rows(emokit: RunResult, peer: RunResult) -> [PeerRow] {
        SummaryMetric.allCases.compactMap { m in
            guard let a = emokit.summary(m), let b = peer.summary(m) else { return nil }
            let d = a.mean - b.mean
            return PeerRow(metric: m, emokit: a, peer: b, difference: d, withinOnePoint: d >= -0.01 - 1e-12)
        }
    }
}
