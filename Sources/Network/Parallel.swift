import Foundation

/// Splits elementwise layer work (im2col, BN, pooling, the Winograd transforms)
/// and the independent single-threaded GEMMs of training and functional
/// inference (`TrainerGEMMs`) over the machine's cores. Neither leaves its
/// GEMMs to OpenBLAS's own threads, because OpenBLAS's spinning worker then
/// slows these loops down.
public enum Parallel {
    /// Worker count for the elementwise loops and the trainer's GEMMs:
    /// $FAPSIM_THREADS when set to a positive number (e.g. a batch job's CPU
    /// allocation), else the process's active cores.
    nonisolated(unsafe) public static var threads: Int = {
        if let text = ProcessInfo.processInfo.environment["FAPSIM_THREADS"], let n = Int(text), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Calls `body` on disjoint, contiguous sub-ranges covering 0..<count.
    /// Work below `minChunk` items per thread stays on the calling thread, where
    /// a dispatch round trip would cost more than it saves.
    public static func forRanges(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let t = min(threads, max(1, count / max(1, minChunk)))
        if t <= 1 {
            body(0..<count)
            return
        }
        let per = (count + t - 1) / t
        DispatchQueue.concurrentPerform(iterations: t) { i in
            let lo = i * per
            let hi = min(count, lo + per)
            if lo < hi { body(lo..<hi) }
        }
    }
}
