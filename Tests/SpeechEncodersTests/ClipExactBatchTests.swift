import EmoModels
import EmoSpeechEncoders
import EmoTensor
import XCTest

/// `forward(clipExact: true)`: a padded batch gives each clip what a forward on that clip alone gives, for every
/// family and layout (group-normed and layer-normed conv stacks, post-LN and pre-LN), split across threads or not.
final class ClipExactBatchTests: XCTestCase {
    static let lengths = [4_000, 2_513, 3_301, 977]

    func clips() -> [[Float]] {
        var rng = SeededGenerator(seed: 7)
        return Self.lengths.enumerated().map { k, n in
            (0..<n).map { i in Float(sin(Double(i) * 0.021 * Double(k + 1))) * 0.5 + Float.random(in: -0.3...0.3, using: &rng) }
        }
    }

    func testPaddedBatchEqualsEachClipAlone() throws {
        for name in SpeechEncoderParityTests.cases {
            let encoder = try SpeechEncoder(directory: Fixtures.encoder(name).path)
            let clips = clips()
            let batch = encoder.prepare(clips)
            for serial in [false, true] {
                let out = try Dense.serially(if: serial) {
                    try encoder.forward(batch.input, batch: clips.count, samples: batch.samples, lengths: batch.lengths,
                                        keepHiddenStates: false, clipExact: true)
                }
                let pooled = out.meanPooled()
                let c = out.channels
                for (b, clip) in clips.enumerated() {
                    let one = encoder.prepare([clip])
                    let alone = try encoder.forward(one.input, batch: 1, samples: one.samples, keepHiddenStates: false).meanPooled()
                    let got = Array(pooled[(b * c)..<((b + 1) * c)])
                    let tol = 1e-5 * max(1, maxAbs(alone))
                    XCTAssertLessThanOrEqual(maxAbsDiff(got, alone), tol, "\(name) clip \(b) (serial \(serial))")
                }
            }
        }
    }

    func testClipExactRefusesShortClipsAndTapes() throws {
        let encoder = try SpeechEncoder(directory: Fixtures.encoder("wav2vec2-base").path)
        let batch = encoder.prepare([[Float](repeating: 0.1, count: 2_000), [Float](repeating: 0.2, count: 30)])
        XCTAssertThrowsError(try encoder.forward(batch.input, batch: 2, samples: batch.samples, lengths: batch.lengths,
                                                 clipExact: true)) { error in
            XCTAssertTrue("\(error)".contains("too few"), "\(error)")
        }
        let ok = encoder.prepare([[Float](repeating: 0.1, count: 2_000), [Float](repeating: 0.2, count: 900)])
        XCTAssertThrowsError(try encoder.forward(ok.input, batch: 2, samples: ok.samples, lengths: ok.lengths,
                                                 recordTape: true, clipExact: true))
    }
}

extension Dense {
    /// `body` serially (single-threaded GEMMs, no batch split) when `serial`, else as is.
    static func serially<R>(if serial: Bool, _ body: () throws -> R) rethrows -> R {
        serial ? try Dense.serially(body) : try body()
    }
}
