import Foundation

/// Wall time a forward pass spends in each kind of step, for benchmarks that
/// need to say where inference time goes (GEMM vs the memory-bound layers).
public final class ForwardProfile {
    public private(set) var seconds: [String: Double] = [:]
    public init() {}

    @inline(__always) func time<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer { seconds[phase, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
        return try body()
    }

    /// Seconds measured elsewhere (the workers of a tiled conv block).
    func add(_ phase: String, _ value: Double) { seconds[phase, default: 0] += value }

    public func reset() { seconds.removeAll() }
}
