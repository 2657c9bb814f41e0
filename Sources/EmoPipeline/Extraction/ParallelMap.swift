import Foundation

/// `(0..<n).map(body)` on up to `workers` threads, results in index order.
enum ParallelMap {
    /// Uninitialised result memory; each index is initialised exactly once, by one thread.
    private final class Slots<T>: @unchecked Sendable {
        let base: UnsafeMutablePointer<T>
        let count: Int
        init(_ n: Int) {
            base = UnsafeMutablePointer<T>.allocate(capacity: n)
            count = n
        }
        deinit { base.deallocate() }
    }

    /// A shared index dispenser.
    private final class Counter: @unchecked Sendable {
        private var value = 0
        private let lock = NSLock()
        func take(below n: Int) -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard value < n else { return nil }
            value += 1
            return value - 1
        }
    }

    /// Runs `body` for every index; `workers == 1` runs inline. `body` must be safe to call concurrently.
    static func run<T>(_ n: Int, workers: Int, _ body: (Int) -> T) -> [T] {
        if workers <= 1 || n <= 1 { return (0..<n).map(body) }
        let slots = Slots<T>(n)
        let next = Counter()
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: min(workers, n)) { _ in
                while let i = next.take(below: n) { (slots.base + i).initialize(to: work(i)) }
            }
        }
        let out = Array(UnsafeBufferPointer(start: slots.base, count: n))
        slots.base.deinitialize(count: n)
        return out
    }
}
