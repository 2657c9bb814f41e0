import EmoTextEncoders
import Foundation
import XCTest

/// RoBERTa tokenizer parity with Hugging Face's `RobertaTokenizer` (fixtures from Tests/Reference/make_text_fixtures.py).
final class TokenizerTests: XCTestCase {
    /// The tokenizer the fixtures were made with: GPT-2's BPE with RoBERTa's specials in front (GPT-2 id g → g + 4).
    static func robertaOnGPT2() throws -> RobertaTokenizer {
        try cached.get()
    }

    /// Built once per test run (reading the 50k-token vocabulary takes seconds in a debug build).
    static let cached: Result<RobertaTokenizer, Error> = Result { try load() }

    static func load() throws -> RobertaTokenizer {
        let folder = try Fixtures.gpt2Folder()
        let gpt2 = try BytePairEncoding(vocabPath: folder.appendingPathComponent("vocab.json").path,
                                        mergesPath: folder.appendingPathComponent("merges.txt").path)
        var vocab: [String: Int] = ["<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3]
        for (t, i) in gpt2.tokenToID { vocab[t] = i + 4 }
        vocab["<mask>"] = vocab.count
        let text = try String(contentsOf: folder.appendingPathComponent("merges.txt"), encoding: .utf8)
        let merges = text.split(separator: "\n").dropFirst().map(String.init)
        return try RobertaTokenizer(bpe: BytePairEncoding(vocab: vocab, merges: merges))
    }

    func testIDsMatchHuggingFaceOnTrickyStringsAndMELD() throws {
        let tok = try Self.robertaOnGPT2()
        let cases = try XCTUnwrap(Fixtures.json("tokenizer_cases.json")["cases"] as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 100)
        var mismatches: [String] = []
        for c in cases {
            let text = try XCTUnwrap(c["text"] as? String)
            let got = try tok.encode(text)
            if got != ints(c["ids"]) {
                mismatches.append("\(text.debugDescription): got \(tok.tokens(text)), HF \(c["tokens"] ?? "")")
            }
        }
        XCTAssertEqual(mismatches, [], "\(mismatches.count) of \(cases.count) texts differ from Hugging Face")
    }

    /// Opt-in: every MELD utterance (make_text_fixtures.py --all-meld OUT.json; EMO_MELD_TOKENS=OUT.json).
    func testEveryMELDUtteranceMatchesHuggingFace() throws {
        guard let path = ProcessInfo.processInfo.environment["EMO_MELD_TOKENS"] else {
            throw XCTSkip("set EMO_MELD_TOKENS to the output of make_text_fixtures.py --all-meld")
        }
        let tok = try Self.robertaOnGPT2()
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        let texts = try XCTUnwrap(object?["texts"] as? [String])
        let ids = try XCTUnwrap(object?["ids"] as? [[Any]])
        var mismatches = 0
        for (text, ref) in zip(texts, ids) where try tok.encode(text) != ints(ref) {
            mismatches += 1
            if mismatches <= 5 { XCTFail("\(text.debugDescription): \(tok.tokens(text))") }
        }
        XCTAssertEqual(mismatches, 0)
        print("MELD: \(texts.count - mismatches) of \(texts.count) utterances tokenised exactly as Hugging Face")
    }

    func testTruncationPaddingAndMaskMatchHuggingFace() throws {
        let tok = try Self.robertaOnGPT2()
        let cases = try XCTUnwrap(Fixtures.json("tokenizer_cases.json")["truncation"] as? [[String: Any]])
        for c in cases {
            let text = try XCTUnwrap(c["text"] as? String)
            let maxLength = try XCTUnwrap(c["max_length"] as? Int)
            let padding: PaddingStrategy = (c["padding"] as? String) == "max_length" ? .maxLength : .none
            let batch = try tok.encode(batch: [text], maxLength: maxLength, padding: padding)
            XCTAssertEqual(batch.ids[0], ints(c["ids"]), text)
            XCTAssertEqual(batch.attentionMask[0], ints(c["attention_mask"]), text)
        }
    }

    func testDecodeMatchesHuggingFace() throws {
        let tok = try Self.robertaOnGPT2()
        let cases = try XCTUnwrap(Fixtures.json("tokenizer_cases.json")["decode"] as? [[String: Any]])
        for c in cases {
            XCTAssertEqual(tok.decode(ints(c["ids"])), c["text"] as? String)
        }
    }

    func testPreTokenizerSplitsLikeTheGPT2Regex() {
        // Expected pieces: tokenizers' ByteLevel pre-tokenizer on the same string (before the byte map).
        XCTAssertEqual(ByteLevel.split("Hello   world  \n\n x"), ["Hello", "  ", " world", "  \n\n", " x"])
        XCTAssertEqual(ByteLevel.split("it's JOHN'S 'twas"), ["it", "'s", " JOHN", "'", "S", " '", "twas"])
        XCTAssertEqual(ByteLevel.split("a1b 22 ?!"), ["a", "1", "b", " 22", " ?!"])
        for text in ["", " ", "\t\n  x  ", "日本語 😀 a\u{0301}"] {
            XCTAssertEqual(ByteLevel.split(text).joined(), text, "pieces must concatenate back to the input")
        }
    }

    func testByteMapIsABijectionOntoPrintableScalars() {
        XCTAssertEqual(Set(ByteLevel.byteToScalar).count, 256)
        XCTAssertEqual(ByteLevel.byteToScalar[32], "\u{120}")  // space → Ġ
        XCTAssertEqual(ByteLevel.byteToScalar[10], "\u{10A}")  // newline → Ċ
        XCTAssertEqual(ByteLevel.byteToScalar[65], "A")
        let all = (0...255).map { UInt8($0) }
        XCTAssertEqual(ByteLevel.decode(ByteLevel.encode(all)), all)
    }

    func testTinyVocabularyFromTheModelFolderLoads() throws {
        let tok = try RobertaTokenizer(folder: Fixtures.folder.appendingPathComponent("tiny-roberta").path)
        XCTAssertEqual([tok.bosID, tok.padID, tok.eosID, tok.unknownID], [0, 1, 2, 3])
        XCTAssertEqual(tok.bpe.count, 513)
    }

    func testMaxLengthBelowTwoIsRejected() throws {
        let tok = try RobertaTokenizer(folder: Fixtures.folder.appendingPathComponent("tiny-roberta").path)
        XCTAssertThrowsError(try tok.encode("hi", maxLength: 1))
        XCTAssertThrowsError(try tok.encode(batch: ["hi"], maxLength: nil, padding: .maxLength))
    }

    func testMissingVocabularyNamesTheFile() {
        XCTAssertThrowsError(try RobertaTokenizer(folder: "/nonexistent/model")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/model/vocab.json"), "\(error)")
        }
    }
}
