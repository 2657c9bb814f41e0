import EmoCore
import EmoLayers
@testable import EmoMedia
import EmoModels
import EmoPipeline
import EmoRuntime
import Foundation

/// One fuzz target: a name (the corpus folder `Fuzz/corpus/<name>`) and what it does with each input.
struct FuzzTarget: Sendable {
    /// Machine name.
    let name: String
    /// What the input is and which entry point reads it.
    let summary: String
    /// Feeds one input to the entry point. Errors are the expected outcome for most inputs and are dropped; a
    /// crash, sanitizer report, hang or huge allocation is a finding.
    let run: @Sendable (Data) -> Void

    /// Every target, in the order Fuzz/run.sh runs them.
    static let all: [FuzzTarget] = [
        FuzzTarget(name: "safetensors", summary: "a .safetensors file: SafeTensorsFile(path:), then every tensor as Float32",
                   run: safetensors),
        FuzzTarget(name: "pickle", summary: "data.pkl of a torch.save zip (storages 0-3 given): PyTorchBinFile(path:), every tensor",
                   run: pickle),
        FuzzTarget(name: "torch-zip", summary: "a whole pytorch_model.bin (ZIP directory + pickle): PyTorchBinFile(path:)",
                   run: torchZip),
        FuzzTarget(name: "registry", summary: "registry.json: RegistryFile.load, and the same bytes as the probe cache",
                   run: registry),
        FuzzTarget(name: "manifest-csv", summary: "a corpus manifest .csv / .tsv and a MELD annotation CSV: CorpusLoader.load",
                   run: manifestCSV),
        FuzzTarget(name: "manifest-jsonl", summary: "a corpus manifest .jsonl: CorpusLoader.load", run: manifestJSONL),
        FuzzTarget(name: "media", summary: "a media file: sniffer, RIFF/AIFF chunk walk, libsndfile decode, rate check, resampling",
                   run: media),
        FuzzTarget(name: "spec", summary: "a pipeline spec: PipelineSpec.parse (decode, unknown keys, validate), corpus options",
                   run: spec),
        FuzzTarget(name: "bundle", summary: "bundle.json, scaler.json, fusion.state, classifier.state split by 0x1E: PipelineBundle.load(folder)",
                   run: bundleFolder),
        FuzzTarget(name: "bundle-archive", summary: "a packed bundle (ustar): PipelineBundle.load(file)", run: bundleArchive),
        FuzzTarget(name: "state", summary: "a fusion/classifier state (EMOS): ParameterState.decode into w[2,3], b[2]",
                   run: parameterState),
    ]
}

/// Reads every tensor, as a model load would.
private func safetensors(_ data: Data) {
    let path = Scratch.write("model.safetensors", data)
    guard let file = try? SafeTensorsFile(path: path) else { return }
    for name in file.names {
        _ = try? file.floats(name)
        _ = try? file.withRawBytes(name) { $0.count }
    }
    _ = file.metadata.count
}

/// 64 bytes per storage: enough for small tensors, so in-bounds and out-of-bounds reads both happen.
private let storageBytes = (0..<16).flatMap { i in withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { Array($0) } }

private func pickle(_ data: Data) {
    var entries = [("archive/data.pkl", [UInt8](data))]
    for key in 0..<4 { entries.append(("archive/data/\(key)", storageBytes)) }
    readTorch(Scratch.write("pytorch_model.bin", TorchZip.archive(entries)))
}

private func torchZip(_ data: Data) { readTorch(Scratch.write("pytorch_model.bin", data)) }

private func readTorch(_ path: String) {
    guard let file = try? PyTorchBinFile(path: path) else { return }
    for name in file.names {
        _ = file.shape(of: name)
        _ = try? file.floats(name)
    }
}

private func registry(_ data: Data) {
    let path = Scratch.write("registry.json", data)
    if let r = try? RegistryFile.load(path, hostDirectory: "/opt/emokit/bin") {
        _ = r.entries.map { ($0.path, $0.pinnedSHA256, $0.enabled) }
    }
    let cache = ProbeCache(path: path)
    _ = cache.fresh(path)
}

private func manifestCSV(_ data: Data) {
    let options = CorpusOptions(checkFiles: false)
    for ext in ["csv", "tsv"] {
        let path = Scratch.write("manifest.\(ext)", data)
        if let c = try? CorpusLoader.load(kind: .manifest, path: path, options: options) { _ = c.labelledItems }
    }
    Scratch.write("meld/train_sent_emo.csv", data)
    let meld = CorpusOptions(checkFiles: false, mediaRoot: Scratch.folder + "/meld")
    if let c = try? CorpusLoader.load(kind: .meld, path: Scratch.folder + "/meld", options: meld) { _ = c.labelledItems }
}

private func manifestJSONL(_ data: Data) {
    let path = Scratch.write("manifest.jsonl", data)
    if let c = try? CorpusLoader.load(kind: .manifest, path: path, options: CorpusOptions(checkFiles: false)) {
        _ = c.labelledItems
    }
}

/// `MediaDecoder.decodeNative` without its libavformat fallback (sniff, chunk walk, libsndfile decode and downmix,
/// sample-rate check), then the resampling to 16 kHz that `MediaDecoder.decode` applies.
private func media(_ data: Data) {
    let head = Array(data.prefix(64 * 1024))
    _ = ContainerSniffer.kind(of: head)
    let path = Scratch.write("clip.audio", data)
    guard let audio = try? MediaDecoder.decodeNative(path: path, bytes: data, libavformat: false) else { return }
    if audio.sampleRate != 16_000, let resampler = try? Resampler(inputRate: audio.sampleRate, outputRate: 16_000) {
        _ = resampler.process(audio.samples)
    }
}

private func spec(_ data: Data) {
    guard let spec = try? PipelineSpec.parse(data, file: "fuzz.json") else { return }
    _ = try? spec.jsonData()
    // The corpus options a run reads (never the paths: a spec may name any folder, and the fuzzer should not walk them).
    for source in spec.corpus.sources {
        var options = source.options.objectValue ?? [:]
        options["annotations"] = nil
        let safe = CorpusSource(kind: source.kind, path: Scratch.folder + "/no-such-corpus", options: .object(options))
        _ = try? CorpusLoader.load(source: safe, environment: [:])
    }
}

/// The four bundle files, in `bundle/`; a part the input lacks is a missing file.
private func bundleFolder(_ data: Data) {
    let parts = data.split(separator: 0x1E, maxSplits: 3, omittingEmptySubsequences: false)
    for (i, name) in ["bundle.json", "scaler.json", "fusion.state", "classifier.state"].enumerated() {
        if i < parts.count { Scratch.write("bundle/" + name, Data(parts[i])) } else { Scratch.remove("bundle/" + name) }
    }
    useBundle(Scratch.folder + "/bundle")
}

private func bundleArchive(_ data: Data) { useBundle(Scratch.write("bundle.emobundle", data)) }

/// Loads a bundle and does what prediction does before any plugin is involved: map labels, scale a mean row.
private func useBundle(_ path: String) {
    guard let bundle = try? PipelineBundle.load(path) else { return }
    _ = bundle.manifest.classIndex(ofRawLabel: "neutral")
    _ = bundle.manifest.audio?.decodeOptions.cacheKey
    let width = bundle.scaler.layout.width
    guard width > 0, width <= 100_000, let row = try? NDArray(shape: [1, width], data: [Float](repeating: 0, count: width)) else { return }
    _ = try? bundle.scaler.transform(row)
}

private func parameterState(_ data: Data) {
    let parameters = [ParameterStorage("w", shape: [2, 3]), ParameterStorage("b", shape: [2])]
    _ = try? ParameterState.decode([UInt8](data), into: parameters, component: "fuzz")
}
