import EmoCore

/// One epoch of training.
public struct EpochRecord: Sendable, Equatable, Codable {
    /// 1-based epoch number.
    public var epoch: Int
    /// Mean cross-entropy over the training rows of this epoch (training mode: dropout on, batch statistics).
    public var trainLoss: Double
    /// Accuracy over the training rows as they were trained (training mode).
    public var trainAccuracy: Double
    /// Cross-entropy on the validation rows in evaluation mode; nil without validation.
    public var validationLoss: Double?
    /// Validation accuracy; nil without validation.
    public var validationAccuracy: Double?
    /// Validation macro F1; nil without validation.
    public var validationMacroF1: Double?
    /// Learning rate at the epoch's last step.
    public var learningRate: Double
    /// Global gradient norm (before clipping) averaged over the epoch's steps; nil when clipping is off (the
    /// norm is only computed for clipping).
    public var meanGradientNorm: Double?
}

/// What `Trainer.train` returns.
public struct TrainingResult: Sendable {
    /// Per-epoch curves.
    public var history: [EpochRecord]
    /// Epoch whose state the chain holds at the end (the best one when weights were restored).
    public var selectedEpoch: Int
    /// True when early stopping ended training before `maxEpochs`.
    public var stoppedEarly: Bool
    /// Each component's state at the end (what `TrainingChain.loadStates` takes), in data order.
    public var states: [[UInt8]]
    /// Training and validation row indices (into the training set passed in) actually used.
    public var trainRows: [Int]
    /// Validation rows carved out of the training set (empty when a validation set was passed or none used).
    public var validationRows: [Int]
    /// Optimiser steps taken.
    public var steps: Int

    /// The curves as JSON arrays (`epoch`, `train_loss`, `train_accuracy`, `val_loss`, ... ; null where absent).
    public var curves: JSONValue {
        func column(_ f: (EpochRecord) -> Double?) -> JSONValue { .array(history.map { f($0).map(JSONValue.number) ?? .null }) }
        return ["epoch": column { Double($0.epoch) }, "train_loss": column(\.trainLoss),
                "train_accuracy": column(\.trainAccuracy), "val_loss": column(\.validationLoss),
                "val_accuracy": column(\.validationAccuracy), "val_macro_f1": column(\.validationMacroF1),
                "learning_rate": column(\.learningRate), "grad_norm": column(\.meanGradientNorm),
                "selected_epoch": .number(Double(selectedEpoch)), "stopped_early": .bool(stoppedEarly)]
    }
}
