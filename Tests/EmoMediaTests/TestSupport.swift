import Foundation
import EmoCore
import EmoMedia
import XCTest

/// Decoded clips shared between tests (the 96 kHz and 44.1 kHz originals take seconds to resample in debug).
enum DecodedCache {
    nonisolated(unsafe) private static var clips: [String: Clip] = [:]
    private static let lock = NSLock()

    /// The default-options clip of `path`, decoded once per test run.
    static func clip(_ path: String) throws -> Clip {
        lock.lock()
        defer { lock.unlock() }
        if let c = clips[path] { return c }
        let c = try MediaDecoder().decode(path: path)
        clips[path] = c
        return c
    }
}
