// Splitting memory-bound kernels (GELU, softmax, layer norm) across the cores BLAS uses.
import Dispatch

extension Kernels {
    /// Runs `body` on consecutive slices of `0..<count` on up to `BLASInfo.threadCount` threads; runs inline when
    /// `count < minimumPerThread · 2`, one thread is configured, or the caller is inside `Dense.serially` (a
    /// batch already split across threads). Slices start at multiples of `alignment`.
    ///
    /// The kernels call this between BLAS calls, when OpenBLAS's own threads are idle, so the two never compete.
    @inlinable
    static func parallelSlices(count: Int, minimumPerThread: Int, alignment: Int = 1,
                               _ body: (Range<Int>) -> Void) {
        let threads = Dense.isSerial ? 1 : min(BLASInfo.threadCount, count / max(minimumPerThread, 1))
        if threads <= 1 {
            body(0..<count)
            return
        }
        let per = (count / threads + alignment - 1) / alignment * alignment
        withoutActuallyEscaping(body) { escapable in
            // The slices are disjoint, and the caller's buffers outlive the call: sharing the body is safe.
            let shared = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: threads) { i in
                let start = min(count, i * per), end = i == threads - 1 ? count : min(count, (i + 1) * per)
                if start < end { shared.value(start..<end) }
            }
        }
    }
}

/// Hands a value to worker threads when the caller guarantees the access pattern is race-free.
@usableFromInline
struct UncheckedSendable<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @usableFromInline init(_ value: Value) { self.value = value }
}
