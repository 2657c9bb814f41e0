import Foundation

/// A trainable encoder's saved state as a safetensors file: every weight under Hugging Face's names (`format: pt`,
/// so `transformers` loads it), and for a fine-tuned encoder where its dropout stream stands (metadata
/// `emokit.dropout_state`, four hex words), so training resumed from the state draws what the uninterrupted run would
/// have. One implementation for the text, speech and Whisper encoders.
public enum EncoderState {
    /// The metadata key of the training stream's state.
    public static let randomStateKey = "emokit.dropout_state"

    /// The file's bytes for `tensors`, with the training stream's state when one is given.
    public static func serialized(_ tensors: [(name: String, shape: [Int], values: [Float])], randomState: [UInt64]? = nil) -> [UInt8] {
        var writer = SafeTensorsWriter()
        writer.metadata = metadata(randomState: randomState)
        for t in tensors { writer.add(t.name, shape: t.shape, values: t.values) }
        return writer.serialized()
    }

    /// The same file for tensors read in place (`SafeTensorsWriter.serializedF32`): a large encoder's state then
    /// costs its size once while it is written (the weights are not copied into arrays first).
    public static func serialized(views: [TensorView], randomState: [UInt64]? = nil) -> [UInt8] {
        SafeTensorsWriter.serializedF32(views, metadata: metadata(randomState: randomState))
    }

    /// The same file laid out for writing into memory the caller owns (`DirectStateSaving`).
    public static func plan(views: [TensorView], randomState: [UInt64]? = nil) -> SafeTensorsWriter.F32Plan {
        SafeTensorsWriter.F32Plan(views, metadata: metadata(randomState: randomState))
    }

    /// `format: pt`, and the training stream's state when given.
    static func metadata(randomState: [UInt64]?) -> [String: String] {
        var metadata = ["format": "pt"]
        if let randomState { metadata[randomStateKey] = randomState.map { String($0, radix: 16) }.joined(separator: ",") }
        return metadata
    }

    /// Reads state bytes (through a temporary file, which `SafeTensorsFile` maps) and returns the file and the saved
    /// training stream (nil when the state has none).
    public static func read(_ bytes: [UInt8]) throws -> (file: SafeTensorsFile, randomState: [UInt64]?) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("emokit-state-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let file = try SafeTensorsFile(path: path)
        let words = file.metadata[randomStateKey]?.split(separator: ",").compactMap { UInt64($0, radix: 16) }
        return (file, words?.count == 4 ? words : nil)
    }
}
