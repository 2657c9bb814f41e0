import EmoCore
import EmoTextEncoders
import Foundation
import XCTest

/// Full-size (roberta-base shape) parity with transformers, run by hand: the peer script writes a random-weight
/// checkpoint and its CLS outputs, this test compares. Skipped unless EMO_ROBERTA_PEER is set:
///
///     python Tests/Reference/bench_text_peer.py roberta --model /tmp/rb --make | tail -1 > /tmp/rb.json
///     EMO_ROBERTA_PEER=/tmp/rb.json EMO_ROBERTA_MODEL=/tmp/rb swift test --filter RobertaFullSizeTests
final class RobertaFullSizeTests: XCTestCase {
    func testRobertaBaseSizedCheckpointMatchesTransformers() throws {
        let env = ProcessInfo.processInfo.environment
        guard let peerPath = env["EMO_ROBERTA_PEER"], let model = env["EMO_ROBERTA_MODEL"] else {
            throw XCTSkip("set EMO_ROBERTA_PEER (bench_text_peer.py roberta output) and EMO_ROBERTA_MODEL (its --model folder)")
        }
        let peer = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: peerPath))) as? [String: Any])
        let texts = try XCTUnwrap(peer["texts"] as? [String])
        let tokens = try XCTUnwrap(peer["tokens"] as? Int)
        let encoder = try RobertaEncoder(config: ["model": .string(model), "max_tokens": .number(Double(tokens)),
                                                  "padding": "max_length"])
        let start = Date()
        let out = try encoder.forward(texts.map { Value.text($0) })
        let seconds = Date().timeIntervalSince(start)
        let emb = try XCTUnwrap(out[0].array)
        let c = emb.shape[1]
        let ref = floats(peer["cls_rows_0_1"])
        XCTAssertEqual(ref.count, 2 * c)
        var diff: Float = 0, scale: Float = 1
        for (x, y) in zip(emb.data.prefix(2 * c), ref) { diff = max(diff, abs(x - y)); scale = max(scale, abs(y)) }
        XCTAssertLessThanOrEqual(diff / scale, 1e-4)
        print("roberta-base-sized CLS rows 0-1: max diff \(diff) (scale \(scale)); forward of \(texts.count)×\(tokens) took \(seconds) s (this build); peer \(peer["ms_median"] ?? "?") ms")
    }
}
