import SystolicArray

/// The FAT mask of one K x N GEMM weight matrix, stored as the flat indices of
/// the weights that the layer's `WeightMapping` puts on faulty PEs.
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

    /// The mask of a K x N weight matrix under `faults` and `mapping` (nil: the
    /// default mapping of the fault map's array).
    public init(faults: FaultMap, k: Int, n: Int, mapping: WeightMapping? = nil) {
        let map = mapping ?? WeightMapping(k: k, n: n, rows: faults.rows, cols: faults.cols)
        precondition(map.k == k && map.n == n, "mapping for K=\(map.k) N=\(map.n) used on K=\(k) N=\(n)")
        count = k * n
        pruned = map.prunedIndices(faults: faults)
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
