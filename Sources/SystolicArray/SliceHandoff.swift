import Synchronization
import Foundation

/// Progress of one column slice, published to its neighbours.
final class SliceProgress: @unchecked Sendable {
    /// Edges this slice has finished.
    let completed = Atomic<Int>(0)
    /// Set once the slice has captured all its outputs and stopped clocking.
    let stopped = Atomic<Bool>(false)
    // Keeps two slices' counters out of one cache line (each is written every edge).
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
}

/// The activations leaving the right edge of one column slice, edge by edge, for
/// the slice to its right. A ring of `depth` edges lets the two threads drift
/// apart by that much, so they synchronise rarely and a busy machine that
/// deschedules one of them costs little.
final class SliceHandoff<Lane>: @unchecked Sendable {
    let rows: Int
    let depth: Int
    let values: UnsafeMutablePointer<Lane>
    let valid: UnsafeMutablePointer<UInt8>

    init(rows: Int, depth: Int, zero: Lane) {
        self.rows = rows
        self.depth = depth
        values = .allocate(capacity: rows * depth)
        values.initialize(repeating: zero, count: rows * depth)
        valid = .allocate(capacity: rows * depth)
        valid.initialize(repeating: 0, count: rows * depth)
    }

    deinit {
        values.deallocate()
        valid.deallocate()
    }

    @inline(__always) func slot(_ edge: Int) -> Int { (edge % depth) * rows }
}

/// Spin briefly, then yield, then sleep: the waits are short on an idle machine,
/// and on a loaded one the waiting thread must not take the core from the thread
/// it is waiting for.
@inline(__always)
func waitUntil(_ condition: () -> Bool) {
    var spins = 0
    while !condition() {
        spins += 1
        if spins > 4000 {
            usleep(50)
        } else if spins > 200 {
            sched_yield()
        }
    }
}
