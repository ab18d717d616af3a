/// The arithmetic of a PE's MAC. Every register is held in a 32-bit lane so one
/// datapath kernel serves both: float32, and int8 weights/activations (held
/// sign-extended) with int32 partial sums that wrap as two's complement.
public protocol PEArithmetic {
    associatedtype Lane: SIMDScalar & Sendable
    static var zero: Lane { get }
    /// `mac` on eight PEs of a row at once.
    static func mac8(_ p: SIMD8<Lane>, _ w: SIMD8<Lane>, _ a: SIMD8<Lane>, _ mask: SIMD8<UInt32>) -> SIMD8<Lane>
    /// The FAP bypass mux: p + w x a where `mask` is all ones, else p's bits unchanged
    /// (a true select, so -0, NaN payloads and stuck bits pass through as a mux would).
    static func mac(_ p: Lane, _ w: Lane, _ a: Lane, _ mask: UInt32) -> Lane
    static func bits(_ x: Lane) -> UInt32
    /// `bits` on eight lanes (register comparisons for idle skipping).
    static func bits8(_ x: SIMD8<Lane>) -> SIMD8<UInt32>
    static func lane(bits: UInt32) -> Lane
    static func add(_ x: Lane, _ y: Lane) -> Lane
    static func double(_ x: Lane) -> Double
}

public enum Float32PE: PEArithmetic {
    public static var zero: Float { 0 }
    @inline(__always) public static func mac(_ p: Float, _ w: Float, _ a: Float, _ mask: UInt32) -> Float {
        Float(bitPattern: ((p + w * a).bitPattern & mask) | (p.bitPattern & ~mask))
    }
    @inline(__always) public static func mac8(_ p: SIMD8<Float>, _ w: SIMD8<Float>, _ a: SIMD8<Float>, _ mask: SIMD8<UInt32>) -> SIMD8<Float> {
        let sum = unsafeBitCast(p + w * a, to: SIMD8<UInt32>.self), pass = unsafeBitCast(p, to: SIMD8<UInt32>.self)
        return unsafeBitCast((sum & mask) | (pass & ~mask), to: SIMD8<Float>.self)
    }
    @inline(__always) public static func bits(_ x: Float) -> UInt32 { x.bitPattern }
    @inline(__always) public static func bits8(_ x: SIMD8<Float>) -> SIMD8<UInt32> { unsafeBitCast(x, to: SIMD8<UInt32>.self) }
    @inline(__always) public static func lane(bits: UInt32) -> Float { Float(bitPattern: bits) }
    @inline(__always) public static func add(_ x: Float, _ y: Float) -> Float { x + y }
    @inline(__always) public static func double(_ x: Float) -> Double { Double(x) }
}

public enum Int8PE: PEArithmetic {
    public static var zero: Int32 { 0 }
    @inline(__always) public static func mac(_ p: Int32, _ w: Int32, _ a: Int32, _ mask: UInt32) -> Int32 {
        Int32(bitPattern: (UInt32(bitPattern: p &+ w &* a) & mask) | (UInt32(bitPattern: p) & ~mask))
    }
    @inline(__always) public static func mac8(_ p: SIMD8<Int32>, _ w: SIMD8<Int32>, _ a: SIMD8<Int32>, _ mask: SIMD8<UInt32>) -> SIMD8<Int32> {
        let sum = unsafeBitCast(p &+ w &* a, to: SIMD8<UInt32>.self), pass = unsafeBitCast(p, to: SIMD8<UInt32>.self)
        return unsafeBitCast((sum & mask) | (pass & ~mask), to: SIMD8<Int32>.self)
    }
    @inline(__always) public static func bits(_ x: Int32) -> UInt32 { UInt32(bitPattern: x) }
    @inline(__always) public static func bits8(_ x: SIMD8<Int32>) -> SIMD8<UInt32> { unsafeBitCast(x, to: SIMD8<UInt32>.self) }
    @inline(__always) public static func lane(bits: UInt32) -> Int32 { Int32(bitPattern: bits) }
    @inline(__always) public static func add(_ x: Int32, _ y: Int32) -> Int32 { x &+ y }
    @inline(__always) public static func double(_ x: Int32) -> Double { Double(x) }
}
