import EmoCore
import EmoRuntime
import Foundation

/// Why one prediction came out as it did, for `emo serve`'s `?explain=` and its web page: the target class's
/// probability drop when each 0.1 s of the clip is silenced (black-box occlusion, any bundle), the feature
/// attributions of Integrated Gradients over the scaled features (top ones by magnitude), each group's share of
/// the total attribution, and a waveform envelope to draw them over.
public struct PredictionExplanation: Sendable, Equatable {
    /// One feature's attribution.
    public struct Feature: Sendable, Equatable {
        /// Feature group and column name.
        public var group: String, name: String
        /// Integrated Gradients attribution (to the target probability).
        public var value: Float
    }

    /// The class explained (the predicted one).
    public var target: Int
    /// Seconds per occlusion window.
    public var window: Double
    /// Per window: p(target | clip) − p(target | clip with that window silenced).
    public var occlusion: [Float]
    /// The largest attributions by magnitude, at most 12.
    public var topFeatures: [Feature]
    /// Each group's share of Σ|attribution| (sums to 1; empty when nothing was attributed).
    public var groupShares: [String: Float]
    /// Waveform envelope: per point the minimum and maximum sample of its stretch.
    public var envelopeMin: [Float], envelopeMax: [Float]
    /// Integrated Gradients' completeness gap (Σ attributions − (F(x) − F(baseline))), if reported.
    public var delta: Float?

    /// Explains `prediction` (made by `predictor` on its clip) for its most probable class. `integratedGradients` is
    /// an instance of the `integrated-gradients` explainer (nil skips the feature attributions); the occlusion
    /// window is `window` seconds (0.1), or longer for long clips so that at most 100 windows run.
    public static func explain(_ prediction: Prediction, predictor: Predictor, text: String?,
                               integratedGradients: LoadedComponent?, window seconds: Double = 0.1) throws -> PredictionExplanation {
        let p = prediction.probabilities
        let target = p.indices.max { p[$0] < p[$1] } ?? 0
        let clip = prediction.clip
        let rate = clip.sampleRate, n = clip.samples.count
        let windowSamples = max(Int(Double(rate) * max(0.01, seconds)), (n + 99) / 100)
        var occlusion: [Float] = []
        // Text groups keep the text they encoded, so only the audio is occluded.
        let texts = prediction.texts.values.first ?? text
        for start in stride(from: 0, to: n, by: windowSamples) {
            var silenced = clip
            for i in start..<min(n, start + windowSamples) { silenced.samples[i] = 0 }
            let q = try predictor.predict(clip: silenced, text: texts).probabilities
            occlusion.append(p[target] - q[target])
        }
        var top: [Feature] = [], shares: [String: Float] = [:], delta: Float?
        if let ig = integratedGradients {
            let bundle = predictor.bundle
            let scaled = try predictor.singleClipScaler.transform(prediction.features).values  // as the prediction was
            let model = ChainModel(chain: predictor.chain, layout: bundle.scaler.layout, classes: bundle.manifest.classes.count)
            let attribution = try ig.explain(model: model, input: scaled, baseline: nil, targets: [target])
            delta = attribution.delta?.first
            var all: [Feature] = []
            var offset = 0
            for group in bundle.manifest.groups {
                var sum: Float = 0
                for (j, name) in group.featureNames.enumerated() where offset + j < attribution.values.data.count {
                    let v = attribution.values.data[offset + j]
                    all.append(Feature(group: group.name, name: name, value: v))
                    sum += abs(v)
                }
                shares[group.name] = sum
                offset += group.featureNames.count
            }
            let total = shares.values.reduce(0, +)
            if total > 0 { shares = shares.mapValues { $0 / total } } else { shares = [:] }
            top = Array(all.sorted { abs($0.value) > abs($1.value) }.prefix(12))
        }
        let points = min(400, max(1, n))
        var lo = [Float](repeating: 0, count: points), hi = [Float](repeating: 0, count: points)
        for k in 0..<points {
            let a = k * n / points, b = max(a + 1, (k + 1) * n / points)
            var mn = Float.infinity, mx = -Float.infinity
            for i in a..<min(b, n) { mn = min(mn, clip.samples[i]); mx = max(mx, clip.samples[i]) }
            lo[k] = mn.isFinite ? mn : 0
            hi[k] = mx.isFinite ? mx : 0
        }
        return PredictionExplanation(target: target, window: Double(windowSamples) / Double(rate), occlusion: occlusion,
                                     topFeatures: top, groupShares: shares, envelopeMin: lo, envelopeMax: hi, delta: delta)
    }

    /// The start (seconds) of the window whose silencing lowers the target most.
    public var peakWindowStart: Double? {
        guard let i = occlusion.indices.max(by: { occlusion[$0] < occlusion[$1] }) else { return nil }
        return Double(i) * window
    }

    /// As JSON (`classes` names the target); `waveform: false` leaves the envelope out (batch outputs).
    public func json(classes: [String], waveform: Bool = true) -> JSONValue {
        func numbers(_ v: [Float]) -> JSONValue { .array(v.map { .number(Double($0)) }) }
        return [
            "target": .string(classes.indices.contains(target) ? classes[target] : "\(target)"),
            "occlusion": ["window_s": .number(window), "values": numbers(occlusion),
                          "meaning": "probability of the target class lost when that window is silenced"],
            "features": .array(topFeatures.map { ["group": .string($0.group), "name": .string($0.name), "value": .number(Double($0.value))] }),
            "modalities": .object(groupShares.mapValues { .number(Double($0)) }),
            "waveform": waveform ? ["min": numbers(envelopeMin), "max": numbers(envelopeMax)] : .null,
            "peak_window_s": peakWindowStart.map { .number($0) } ?? .null,
            "ig_delta": delta.map { .number(Double($0)) } ?? .null,
        ]
    }
}
