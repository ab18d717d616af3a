/// What the controller presented to the array's edges on one clock edge.
/// Values are exact in Double (float32 and int32 both fit).
public struct EdgeInputs: Sendable {
    public var shiftWeights = false
    public var swap = false
    /// Per column: the weight entering the top of the (shadow, if double-buffered) weight chain.
    public var weightIn: [Double]
    public var weightValidIn: [Bool]
    /// Per row: the activation entering at the left edge.
    public var feed: [Double]
    public var feedValid: [Bool]
}

/// Read access to every PE register after a clock edge.
public protocol ArrayStateView {
    var rows: Int { get }
    var cols: Int { get }
    func weight(_ i: Int, _ j: Int) -> Double
    func weightValid(_ i: Int, _ j: Int) -> Bool
    func shadowWeight(_ i: Int, _ j: Int) -> Double
    func activation(_ i: Int, _ j: Int) -> Double
    func activationValid(_ i: Int, _ j: Int) -> Bool
    func psum(_ i: Int, _ j: Int) -> Double
    /// The partial-sum register's raw 32 bits (IEEE 754 or two's complement).
    func psumBits(_ i: Int, _ j: Int) -> UInt32
    func psumValid(_ i: Int, _ j: Int) -> Bool
    func bypass(_ i: Int, _ j: Int) -> Bool
}

/// Sees the registers after every clock edge (the VCD writer and the per-cycle
/// golden tests use it). Attaching one runs the array on a single thread.
public protocol ArrayObserver: AnyObject {
    func edge(_ cycle: Int, inputs: EdgeInputs, state: ArrayStateView)
}
