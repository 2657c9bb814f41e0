import EmoCore
import Foundation

/// One trained split of a run with the seed that made it: the exact indices EmoKit trained, validated and tested on.
public struct SeededSplit: Sendable, Equatable, Codable {
    /// The seed of the split (and of the model trained on it).
    public var seed: UInt64
    /// Train, validation and test indices into the run's items.
    public var split: Split

    /// Creates a record.
    public init(seed: UInt64, split: Split) {
        self.seed = seed
        self.split = split
    }
}

/// Everything a peer pipeline needs to repeat an `emo run` outside EmoKit: the clips and labels, every
/// seed × fold's train/validation/test indices, the scaling, the fusion and classifier configs and the training
/// settings — plus EmoKit's own (unscaled) feature matrix, so a peer can also train on EmoKit's features and
/// separate feature differences from training differences.
///
/// Written by `emo run SPEC --peer` as `OUT/peer-protocol.json` and read by `Tests/Reference/peer_pipeline.py`.
public struct PeerProtocol: Sendable, Equatable, Codable {
    /// One clip.
    public struct Item: Sendable, Equatable, Codable {
        /// Audio file path, as the corpus adapter found it.
        public var path: String
        /// Mapped class label.
        public var label: String
        /// Index of `label` in `classes`.
        public var classIndex: Int
        /// Speaker id ("" when unknown).
        public var speaker: String
        /// Sentence or word id ("" when unknown).
        public var text: String
        /// The corpus it comes from ("ravdess", "tess"; nil in files written before corpus-aware splits), so the peer
        /// reports per-corpus figures as EmoKit does.
        public var corpus: String?
    }

    /// One feature group's identity and width.
    public struct Group: Sendable, Equatable, Codable {
        /// Group name in the spec.
        public var name: String
        /// Component id (e.g. `handcrafted`).
        public var component: String
        /// The component's resolved config hash.
        public var configHash: String
        /// C_g.
        public var width: Int
    }

    /// One trained model's data: the seed and the indices into `items`.
    public struct Fold: Sendable, Equatable, Codable {
        /// Seed of the split and of the model's initialisation and shuffles.
        public var seed: UInt64
        /// The split's name, as EmoKit's report names it (pairs the peer's folds with EmoKit's).
        public var split: String
        /// Training rows (the scaler is fit on these only).
        public var train: [Int]
        /// Validation rows (early stopping, LR plateau).
        public var validation: [Int]
        /// Test rows.
        public var test: [Int]
    }

    /// Format version of this file.
    public var format: Int = 1
    /// The pipeline's name.
    public var pipeline: String
    /// Class names; label index = position.
    public var classes: [String]
    /// The clips EmoKit trained and tested on, in the order the indices refer to.
    public var items: [Item]
    /// Feature groups, in column order.
    public var groups: [Group]
    /// Column names of `emokitFeatures`.
    public var featureNames: [String]
    /// EmoKit's unscaled features `[N][ΣC_g]`, rows aligned with `items`; nil marks a non-finite value.
    public var emokitFeatures: [[Float?]]
    /// The scaling EmoKit used (fit on each fold's train rows).
    public var scaling: ScalingSpec
    /// Fusion component and config.
    public var fusion: FusionSpec
    /// Classifier component and config.
    public var classifier: ComponentRef
    /// Optimiser, batch, epochs, early stopping, LR plateau, L2, class weights.
    public var training: TrainingConfig
    /// Every trained split, in the order of EmoKit's `RunResult.folds`.
    public var folds: [Fold]

    /// The protocol of a finished run.
    public init(run: PipelineRun) {
        pipeline = run.spec.name
        classes = run.corpus.classes
        items = run.items.map {
            Item(path: $0.item.path, label: $0.label, classIndex: $0.classIndex, speaker: $0.item.speaker, text: $0.item.textID,
                 corpus: $0.corpusName)
        }
        groups = run.groups.map { Group(name: $0.name, component: $0.component, configHash: $0.configHash, width: $0.width) }
        featureNames = run.groups.flatMap(\.featureNames)
        let width = run.features.shape.count == 2 ? run.features.shape[1] : 0
        emokitFeatures = (0..<run.items.count).map { r in
            (0..<width).map { j in
                let v = run.features.data[r * width + j]
                return v.isFinite ? v : nil
            }
        }
        scaling = run.spec.scaling
        fusion = run.spec.fusion
        classifier = run.spec.classifier
        training = run.spec.training
        folds = run.trainedSplits.map {
            Fold(seed: $0.seed, split: $0.split.name, train: $0.split.train, validation: $0.split.validation, test: $0.split.test)
        }
    }

    /// Compact JSON with sorted keys.
    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try enc.encode(self)
    }

    /// Writes the file (atomically) and returns its URL.
    @discardableResult
    public func write(to url: URL) throws -> URL {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try jsonData().write(to: url, options: .atomic)
        return url
    }

    /// Reads a protocol file.
    public static func read(from url: URL) throws -> PeerProtocol {
        try JSONDecoder().decode(PeerProtocol.self, from: Data(contentsOf: url))
    }
}
