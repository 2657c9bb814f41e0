/// Why a tokenizer or text encoder could not be built or run.
///
/// Every message names the file or input, what is wrong, and what to do about it.
public enum TextEncoderError: Error, CustomStringConvertible, Equatable {
    /// A tokenizer file (vocab.json, merges.txt, vocab.txt) is missing or unreadable.
    case io(path: String, message: String)
    /// A tokenizer file exists but its content is not what the format requires.
    case malformedVocabulary(path: String, message: String)
    /// A special token the model needs is absent from the vocabulary.
    case missingSpecialToken(path: String, token: String)
    /// An encoding option is out of range (e.g. a max length too small for the special tokens).
    case invalidOption(message: String)
    /// A token id is outside the vocabulary or the model's embedding table.
    case tokenOutOfRange(id: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case .io(let p, let m):
            return "\(p): \(m)"
        case .malformedVocabulary(let p, let m):
            return "\(p): \(m)"
        case .missingSpecialToken(let p, let t):
            return "\(p): special token \(t) is not in the vocabulary (the vocabulary is not this model kind's: RoBERTa needs <s> </s> <pad> <unk>, BERT [CLS] [SEP] [PAD] [UNK])"
        case .invalidOption(let m):
            return m
        case .tokenOutOfRange(let id, let n):
            return "token id \(id) is outside the vocabulary of \(n) tokens (tokenizer and model disagree)"
        }
    }
}
