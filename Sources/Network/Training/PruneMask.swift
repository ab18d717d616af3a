import SystolicArray

/// The FAT mask of one K x N GEMM weight matrix, stored as the flat indices of
/// the weights that sit on faulty PEs (mask[k][n] = 0 where
/// fault[k mod R][n mod C] = 1, SPEC section 2).
///
/// Keeping the pruned indices instead of a dense 0/1 mask lets the optimizer run
/// its ordinary, unmasked arithmetic over the whole tensor and then force the
/// few pruned entries to zero: the kept weights then see bit-for-bit the same
/// operations as in unmasked training, and a fault-free map (no indices) costs nothing.
public struct PruneMask: Sendable, Equatable {
    /// Number of weights in the matrix the mask is for.
    public let count: Int
    /// Ascending flat indices k * N + n of the pruned weights.
    public let pruned: [Int]

    public init(count: Int, pruned: [Int]) {
        precondition(pruned.allSatisfy { $0 >= 0 && $0 < count })
        self.count = count
        self.pruned = pruned.sorted()
    }

    /// The mask of a K x N weight matrix under `faults`.
    public init(faults: FaultMap, k: Int, n: Int) {
        var idx: [Int] = []
        idx.reserveCapacity(faults.prunedWeights(k: k, n: n))
        // One pass in k-major order, so the indices come out ascending.
        for kk in 0..<k {
            let fr = kk % faults.rows
            for nn in 0..<n where faults.isFaulty(fr, nn % faults.cols) { idx.append(kk * n + nn) }
        }
        count = k * n
        pruned = idx
    }

    /// From a dense 0/1 mask (0 = pruned), e.g. `FaultMap.weightMask(k:n:)`.
    public init(dense: [Float]) {
        count = dense.count
        pruned = dense.indices.filter { dense[$0] == 0 }
    }

    /// True when nothing is pruned (the map has no faults this matrix can see).
    public var isEmpty: Bool { pruned.isEmpty }

    /// Sets every pruned entry of `values` (count elements) to +0.
    public func zero(_ values: UnsafeMutablePointer<Float>) {
        for i in pruned { values[i] = 0 }
    }

    public func zero(_ values: inout [Float]) {
        precondition(values.count == count, "mask of \(count) weights applied to \(values.count)")
        values.withUnsafeMutableBufferPointer { zero($0.baseAddress!) }
    }

    /// `values` with the pruned entries zeroed (the FAP-masked weights).
    public func applied(to values: [Float]) -> [Float] {
        var out = values
        zero(&out)
        return out
    }
}
