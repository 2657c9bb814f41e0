import EmoCore
import Foundation

/// Everything a training run needs to continue exactly where it stopped: written after every epoch
/// (`Trainer.onCheckpoint`), read back with `Trainer.train(_:on:validation:resumingFrom:)`.
///
/// Besides the components' states (weights, batch-norm statistics and where their dropout streams stand) and the
/// optimisers' (step counts, moments), it keeps the trainer's own state: the epoch and step reached, the row order
/// and the shuffle stream, the plateau schedule and early stopping's bookkeeping, and the curves so far. A run
/// resumed from it continues bit for bit as the uninterrupted run would have (`TrainerTests`). A fingerprint of
/// the settings and data refuses a checkpoint of another run.
///
/// On disk it is a folder: `checkpoint.json` (the small fields) and one binary file per state; `write(to:)` replaces
/// the folder atomically, so a run killed while writing leaves the previous epoch's checkpoint intact.
public struct TrainingCheckpoint: Sendable, Equatable {
    /// Epochs completed.
    public var epochsDone: Int
    /// Optimiser steps taken.
    public var step: Int
    /// True when training had ended (last epoch reached or early stopping).
    public var finished: Bool
    /// True when early stopping ended it.
    public var stoppedEarly: Bool
    /// The row order after the last shuffle, and the shuffle stream's state.
    public var order: [Int]
    public var shuffleState: [UInt64]
    /// The plateau schedule: its current factor, best value and epochs without improvement.
    public var plateauFactor: Double
    public var plateauBest: Double?
    public var plateauBadEpochs: Int
    /// Early stopping: the best monitored value, its epoch, epochs waited, and the best epoch's states.
    public var stoppingBest: Double?
    public var stoppingBestEpoch: Int
    public var stoppingWaited: Int
    public var stoppingBestStates: [[UInt8]]?
    /// The curves so far.
    public var history: [EpochRecord]
    /// Each component's state, in `TrainingChain.components` order.
    public var componentStates: [[UInt8]]
    /// Each optimiser's state: the head's, then one per fine-tuned encoder.
    public var optimizerStates: [[UInt8]]
    /// Digest of the training settings, the chain's components and the rows (a checkpoint of another run is refused).
    public var fingerprint: String

    /// The small fields, as `checkpoint.json` holds them.
    private struct Header: Codable {
        var format = 1
        var epochsDone: Int, step: Int, finished: Bool, stoppedEarly: Bool, order: [Int], shuffleState: [UInt64]
        var plateauFactor: Double, plateauBest: Double?, plateauBadEpochs: Int
        var stoppingBest: Double?, stoppingBestEpoch: Int, stoppingWaited: Int, stoppingBestStates: Int?
        var history: [EpochRecord], components: Int, optimizers: Int, fingerprint: String
    }

    /// Writes the checkpoint as folder `directory`, replacing an earlier one only once the new one is complete.
    public func write(to directory: String) throws {
        let fm = FileManager.default
        let partial = directory + ".partial"
        try? fm.removeItem(atPath: partial)
        try fm.createDirectory(atPath: partial, withIntermediateDirectories: true)
        let header = Header(epochsDone: epochsDone, step: step, finished: finished, stoppedEarly: stoppedEarly, order: order,
                            shuffleState: shuffleState, plateauFactor: plateauFactor, plateauBest: plateauBest,
                            plateauBadEpochs: plateauBadEpochs, stoppingBest: stoppingBest, stoppingBestEpoch: stoppingBestEpoch,
                            stoppingWaited: stoppingWaited, stoppingBestStates: stoppingBestStates?.count, history: history,
                            components: componentStates.count, optimizers: optimizerStates.count, fingerprint: fingerprint)
        func put(_ bytes: [UInt8], _ name: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: partial + "/" + name)) }
        for (i, s) in componentStates.enumerated() { try put(s, "component-\(i).state") }
        for (i, s) in optimizerStates.enumerated() { try put(s, "optimizer-\(i).state") }
        for (i, s) in (stoppingBestStates ?? []).enumerated() { try put(s, "best-\(i).state") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try encoder.encode(header).write(to: URL(fileURLWithPath: partial + "/checkpoint.json"))
        let old = directory + ".old"
        try? fm.removeItem(atPath: old)
        if fm.fileExists(atPath: directory) { try fm.moveItem(atPath: directory, toPath: old) }
        try fm.moveItem(atPath: partial, toPath: directory)
        try? fm.removeItem(atPath: old)
    }

    /// Reads a checkpoint `write(to:)` made; nil when `directory` holds none.
    public static func read(from directory: String) throws -> TrainingCheckpoint? {
        let fm = FileManager.default
        var folder = directory
        if !fm.fileExists(atPath: folder + "/checkpoint.json") {
            // Killed between the two renames of `write`: the previous checkpoint is complete under `.old`.
            guard fm.fileExists(atPath: directory + ".old/checkpoint.json") else { return nil }
            folder = directory + ".old"
        }
        func get(_ name: String) throws -> [UInt8] {
            guard let data = fm.contents(atPath: folder + "/" + name) else {
                throw TrainingError.invalidData("training checkpoint \(folder) is incomplete: \(name) is missing; delete the folder to train from the start")
            }
            return [UInt8](data)
        }
        let header: Header
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            header = try decoder.decode(Header.self, from: Data(try get("checkpoint.json")))
        } catch let error as TrainingError {
            throw error
        } catch {
            throw TrainingError.invalidData("training checkpoint \(folder)/checkpoint.json cannot be read (\(error)); delete the folder to train from the start")
        }
        guard header.format == 1 else {
            throw TrainingError.invalidData("training checkpoint \(folder) has format \(header.format); this build reads format 1")
        }
        return TrainingCheckpoint(
            epochsDone: header.epochsDone, step: header.step, finished: header.finished, stoppedEarly: header.stoppedEarly,
            order: header.order, shuffleState: header.shuffleState, plateauFactor: header.plateauFactor,
            plateauBest: header.plateauBest, plateauBadEpochs: header.plateauBadEpochs, stoppingBest: header.stoppingBest,
            stoppingBestEpoch: header.stoppingBestEpoch, stoppingWaited: header.stoppingWaited,
            stoppingBestStates: try header.stoppingBestStates.map { n in try (0..<n).map { try get("best-\($0).state") } },
            history: header.history, componentStates: try (0..<header.components).map { try get("component-\($0).state") },
            optimizerStates: try (0..<header.optimizers).map { try get("optimizer-\($0).state") }, fingerprint: header.fingerprint)
    }

    /// The fingerprint of a run: its settings, the chain's components (id, version, parameter shapes) and its rows
    /// (labels and the training set's digest).
    static func fingerprint(config: TrainingConfig, chain: TrainingChain, data: TrainingSet, validation: TrainingSet?) -> String {
        var text = ""
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let json = try? encoder.encode(config) { text += String(decoding: json, as: UTF8.self) }
        text += "|seed \(config.seed) validationFraction \(config.validationFraction) labelSmoothing \(config.labelSmoothing)"
        for c in chain.components {
            text += "|\(c.info.id) \(c.info.version) " + c.parameters.map { "\($0.name)\($0.shape)" }.joined(separator: ",")
        }
        for set in [data] + (validation.map { [$0] } ?? []) {
            text += "|rows \(set.count) labels \(SHA256.hex(of: set.labels.map(String.init).joined(separator: ",")))"
            for g in set.groups { text += " \(g.shape) \(SHA256.hex(ofSamples: g.data))" }
        }
        return SHA256.hex(of: text)
    }
}

