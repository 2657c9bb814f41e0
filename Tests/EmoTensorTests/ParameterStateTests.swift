import EmoCore
import EmoLayers
import XCTest

/// A trainable component's state bytes (`fusion.state`, `classifier.state` in a bundle) come from a file: a damaged
/// or hostile one is an error naming what is wrong, never a trap (found by Fuzz/, target `state`).
final class ParameterStateTests: XCTestCase {
    /// `EMOS`, version 1, one entry `w` declaring `count` elements, then `values` floats.
    private func state(count: UInt64, values: [Float]) -> [UInt8] {
        var out = Array("EMOS".utf8)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt32(1))
        put(UInt32(1))
        put(UInt32(1))
        out.append(UInt8(ascii: "w"))
        put(count)
        for v in values { put(v.bitPattern) }
        return out
    }

    func testTheRightStateLoads() throws {
        let w = ParameterStorage("w", shape: [2])
        try ParameterState.decode(state(count: 2, values: [1.5, -2]), into: [w], component: "mlp")
        XCTAssertEqual([w.value[0], w.value[1]], [1.5, -2])
    }

    /// An element count of 2^63 or more used to trap converting to Int before it was compared.
    func testAnElementCountBeyondIntIsAnErrorNotATrap() {
        let w = ParameterStorage("w", shape: [2])
        for count in [UInt64(1) << 63, UInt64.max] {
            XCTAssertThrowsError(try ParameterState.decode(state(count: count, values: [1.5, -2]), into: [w], component: "mlp")) {
                XCTAssertEqual("\($0)", "\(ComponentError.invalidInput(component: "mlp", message: "state: 'w' has \(count) values, this instance needs 2 (was it saved by a mlp with another config?)"))")
            }
        }
    }
}
