import EmoCore
import EmoModels
import EmoTestSupport
import EmoTextEncoders
import Foundation
import XCTest

/// The `bert` encoder and its WordPiece tokenizer on the real all-MiniLM-L6-v2 weights, against Hugging Face's fast
/// tokenizer, transformers' BertModel and sentence-transformers (fixtures from Tests/Reference/make_bert_fixtures.py).
final class BertTests: XCTestCase {
    /// Built once per run (the 30 522-token vocabulary and 90 MB of weights).
    static let tokenizer: Result<WordPieceTokenizer, Error> = Result { try WordPieceTokenizer(folder: RealModels.miniLM()) }

    func tok() throws -> WordPieceTokenizer { try Self.tokenizer.get() }

    /// Largest |a − b| over the largest |b| (at least 1).
    func scaledMaxDiff<A: Collection, B: Collection>(_ a: A, _ b: B) -> Float where A.Element == Float, B.Element == Float {
        var diff: Float = 0, scale: Float = 1
        for (x, y) in zip(a, b) { diff = max(diff, abs(x - y)); scale = max(scale, abs(y)) }
        return diff / scale
    }

    // MARK: Tokenizer

    func testHardStringsTokeniseExactlyAsHuggingFace() throws {
        let tok = try tok()
        let cases = try XCTUnwrap(Fixtures.json("wordpiece_cases.json")["cases"] as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 180)
        var mismatches: [String] = []
        for c in cases {
            let text = try XCTUnwrap(c["text"] as? String)
            if try tok.encode(text) != ints(c["ids"]) {
                mismatches.append("\(text.debugDescription): got \(tok.tokens(text)), HF \(c["tokens"] ?? "")")
            }
        }
        XCTAssertEqual(mismatches, [], "\(mismatches.count) of \(cases.count) texts differ from Hugging Face")
    }

    func testEveryMELDUtteranceTokenisesExactlyAsHuggingFace() throws {
        let tok = try tok()
        let fx = try Fixtures.json("wordpiece_meld.json")
        let digests = try XCTUnwrap(fx["digests"] as? [String])
        var texts: [String] = []
        for split in ["train", "dev", "test"] {
            let url = try TestRepository.sharedData().appendingPathComponent("meld/\(split)_sent_emo.csv")
            texts += try MELDText.utterances(csv: url)
        }
        XCTAssertEqual(texts.count, digests.count, "MELD utterance count differs from the fixture's")
        var mismatches: [String] = []
        for (text, digest) in zip(texts, digests) {
            let ids = try tok.encode(text)
            let mine = SHA256.hex(of: ids.map(String.init).joined(separator: ",")).prefix(16)
            if mine != digest { mismatches.append("\(text.debugDescription) → \(tok.tokens(text))") }
        }
        XCTAssertEqual(mismatches.count, 0, "first differences: \(mismatches.prefix(5))")
        print("MELD: \(texts.count - mismatches.count) of \(texts.count) utterances tokenised exactly as Hugging Face's BertTokenizerFast")
    }

    func testTruncationPaddingAndMaskMatchHuggingFace() throws {
        let tok = try tok()
        let cases = try XCTUnwrap(Fixtures.json("wordpiece_cases.json")["truncation"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 5)
        for c in cases {
            let text = try XCTUnwrap(c["text"] as? String)
            let padding: PaddingStrategy = (c["padding"] as? String) == "max_length" ? .maxLength : .none
            let batch = try tok.encode(batch: [text], maxLength: try XCTUnwrap(c["max_length"] as? Int), padding: padding)
            XCTAssertEqual(batch.ids[0], ints(c["ids"]), text)
            XCTAssertEqual(batch.attentionMask[0], ints(c["attention_mask"]), text)
        }
    }

    // MARK: Model

    func testHiddenStatesMatchTransformersOnTheRealWeights() throws {
        let fx = try XCTUnwrap(Fixtures.json("minilm_reference.json")["hidden"] as? [String: Any])
        let model = try TextTransformer(folder: RealModels.miniLM())
        XCTAssertEqual(model.config.family, .bert)
        let texts = try XCTUnwrap(fx["texts"] as? [String])
        let batch = try tok().encode(batch: texts, maxLength: 256, padding: .longest)
        XCTAssertEqual(batch.ids, try XCTUnwrap(fx["input_ids"] as? [[Any]]).map { ints($0) })
        let out = try model.forward(ids: batch.ids, mask: batch.attentionMask, keepHiddenStates: true)
        let hidden = try XCTUnwrap(out.hiddenStates)
        let per = out.batch * out.tokens * out.channels
        let states = try XCTUnwrap(fx["states"] as? [String: Any])
        for layer in [0, 3, 6] {
            let ref = floats(states["\(layer)"])
            XCTAssertEqual(ref.count, per)
            let d = scaledMaxDiff(hidden[(layer * per)..<((layer + 1) * per)], ref)
            XCTAssertLessThanOrEqual(d, 1e-4, "hidden state \(layer): \(d) of its scale")
            print("all-MiniLM-L6-v2 hidden state \(layer) (padding rows included): max |swift − transformers| / max(1, |transformers|) = \(d)")
        }
    }

    func testPooledAndSentenceEmbeddingsMatchTransformersAndSentenceTransformers() throws {
        let fx = try Fixtures.json("minilm_reference.json")
        let model = try RealModels.miniLM()
        let texts = try XCTUnwrap(fx["texts"] as? [String]).map { Value.text($0) }
        for (pooling, normalize, key) in [("cls", false, "cls"), ("mean", false, "mean"), ("mean", true, "sentence_transformers")] {
            let encoder = try BertEncoder(config: ["model": .string(model), "pooling": .string(pooling), "normalize": .bool(normalize)])
            let out = try XCTUnwrap(try encoder.forward(texts).first?.array)
            XCTAssertEqual(out.shape, [texts.count, 384])
            let ref = floats(fx[key])
            XCTAssertEqual(ref.count, out.data.count)
            var worst: Float = 0
            for r in 0..<texts.count {
                let a = out.data[(r * 384)..<((r + 1) * 384)], b = ref[(r * 384)..<((r + 1) * 384)]
                worst = max(worst, scaledMaxDiff(a, b))
                if normalize {
                    let norm = a.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    XCTAssertEqual(norm, 1, accuracy: 1e-5)
                }
            }
            XCTAssertLessThanOrEqual(worst, normalize ? 2e-5 : 1e-4, "\(key): \(worst)")
            print("all-MiniLM-L6-v2 \(key): max |swift − reference| / max(1, |reference|) = \(worst)")
        }
    }

    func testWordEmbeddingGradientThroughNormalisedMeanMatchesAutograd() throws {
        let fx = try XCTUnwrap(Fixtures.json("minilm_reference.json")["gradient"] as? [String: Any])
        let encoder = try BertEncoder(config: ["model": .string(try RealModels.miniLM()), "normalize": true,
                                               "token_embeddings": true])
        let first = try encoder.forward([.text(try XCTUnwrap(fx["text"] as? String))])
        XCTAssertEqual(first.count, 3)
        guard case .ids(_, let values) = first[1] else { return XCTFail("second output must be the token ids") }
        XCTAssertEqual(values.map { Int($0) }, ints(fx["ids"]))
        _ = try encoder.forward([first[2], first[1]])
        let w = (0..<384).map { Float(sin(0.37 * Double($0))) }
        let grad = try encoder.backward([try NDArray(shape: [1, 384], data: w)])
        let ref = floats(fx["d_word_embeddings"])
        XCTAssertEqual(grad[0].data.count, ref.count)
        var diff: Float = 0, scale: Float = 0
        for (x, y) in zip(grad[0].data, ref) { diff = max(diff, abs(x - y)); scale = max(scale, abs(y)) }
        XCTAssertGreaterThan(scale, 0)
        XCTAssertLessThanOrEqual(diff / scale, 1e-3, "gradient off by \(diff) of scale \(scale)")
        print("all-MiniLM-L6-v2 d(normalize(mean) · w)/d word embeddings: max diff \(diff) / max |grad| \(scale) = \(diff / scale)")
    }

    // MARK: Bad input

    func testBadFoldersAndTextsAreExplained() throws {
        let model = try RealModels.miniLM()
        let dir = try TestRepository.temporaryFolder(self)
        // A BERT folder whose vocabulary is larger than the embedding table.
        for name in ["config.json", "model.safetensors"] {
            try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent(name).path,
                                                       withDestinationPath: model + "/" + name)
        }
        let big = (0..<40_000).map { $0 < 5 ? ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"][$0] : "tok\($0)" }
        try big.joined(separator: "\n").write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BertEncoder(config: ["model": .string(dir.path)])) {
            XCTAssertTrue("\($0)".contains("40000 tokens") && "\($0)".contains("30522"), "\($0)")
        }
        // No vocabulary at all.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("vocab.txt"))
        XCTAssertThrowsError(try BertEncoder(config: ["model": .string(dir.path)])) {
            XCTAssertTrue("\($0)".contains("vocab.txt"), "\($0)")
        }
        // A RoBERTa folder given to the bert component, and the other way round.
        let tiny = Fixtures.folder.appendingPathComponent("tiny-roberta").path
        XCTAssertThrowsError(try BertEncoder(config: ["model": .string(tiny)])) {
            XCTAssertTrue("\($0)".contains("use the `roberta` component"), "\($0)")
        }
        XCTAssertThrowsError(try RobertaEncoder(config: ["model": .string(model)])) {
            XCTAssertTrue("\($0)".contains("use the `bert` component"), "\($0)")
        }
        // More tokens than positions.
        XCTAssertThrowsError(try BertEncoder(config: ["model": .string(model), "max_tokens": 600])) {
            XCTAssertTrue("\($0)".contains("512"), "\($0)")
        }
    }

    func testEmptyAndLongTextsHaveAStatedBehaviour() throws {
        let encoder = try BertEncoder(config: ["model": .string(try RealModels.miniLM()), "max_tokens": 16])
        // Empty text: [CLS] [SEP] only, a finite embedding (as sentence-transformers gives).
        let empty = try XCTUnwrap(try encoder.forward([.text("")]).first?.array)
        XCTAssertTrue(empty.data.allSatisfy(\.isFinite))
        // A long text is cut to max_tokens: its embedding equals that of its first 14 word pieces.
        let long = String(repeating: "the quick brown fox jumps over the lazy dog ", count: 10)
        let cut = try XCTUnwrap(try encoder.forward([.text(long)]).first?.array)
        let first14 = "the quick brown fox jumps over the lazy dog the quick brown fox jumps"
        let ref = try XCTUnwrap(try encoder.forward([.text(first14)]).first?.array)
        XCTAssertLessThanOrEqual(scaledMaxDiff(cut.data, ref.data), 1e-5)
        // Text that is not UTF-8 cannot reach the encoder (Value.text is a Swift String); ids out of range are refused.
        XCTAssertThrowsError(try encoder.forward([.ids(shape: [1, 3], values: [101, 99_999, 102])])) {
            XCTAssertTrue("\($0)".contains("99999"), "\($0)")
        }
    }
}

/// MELD's Utterance column in file order.
enum MELDText {
    static func utterances(csv url: URL) throws -> [String] {
        let records = CSVReader.parse(try String(contentsOf: url, encoding: .utf8))
        let column = try XCTUnwrap(records.first?.fields.firstIndex(of: "Utterance"), "\(url.path) has no Utterance column")
        return records.dropFirst().filter { $0.fields.count > column }.map { $0.fields[column] }
    }
}
