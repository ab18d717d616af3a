/// The arithmetic of a PE's MAC. Every register is held in a 32-bit lane so one
/// datapath kernel serves both: float32, and int8 weights/activations (held
/// sign-extended) with int32 partial sums that wrap as two's complement.
public protocol PEArithmetic {
    associatedtype Lane: Sendable
    static var zero: Lane { get }
    /// p + (w x a), with the product forced to +0 where `mask` is 0 so a PE that
    /// does not compute passes its partial sum through unchanged (a partial sum
    /// that starts at +0 can never be -0, so + (+0) is the identity).
    static func mac(_ p: Lane, _ w: Lane, _ a: Lane, _ mask: UInt32) -> Lane
    static func bits(_ x: Lane) -> UInt32
    static func lane(bits: UInt32) -> Lane
    static func add(_ x: Lane, _ y: Lane) -> Lane
    static func double(_ x: Lane) -> Double
}

public enum Float32PE: PEArithmetic {
    public static var zero: Float { 0 }
    @inline(__always) public static func mac(_ p: Float, _ w: Float, _ a: Float, _ mask: UInt32) -> Float {
        p + Float(bitPattern: (w * a).bitPattern & mask)
    }
    @inline(__always) public static func bits(_ x: Float) -> UInt32 { x.bitPattern }
    @inline(__always) public static func lane(bits: UInt32) -> Float { Float(bitPattern: bits) }
    @inline(__always) public static func add(_ x: Float, _ y: Float) -> Float { x + y }
    @inline(__always) public static func double(_ x: Float) -> Double { Double(x) }
}

public enum Int8PE: PEArithmetic {
    public static var zero: Int32 { 0 }
    @inline(__always) public static func mac(_ p: Int32, _ w: Int32, _ a: Int32, _ mask: UInt32) -> Int32 {
        p &+ Int32(bitPattern: UInt32(bitPattern: w &* a) & mask)
    }
    @inline(__always) public static func bits(_ x: Int32) -> UInt32 { UInt32(bitPattern: x) }
    @inline(__always) public static func lane(bits: UInt32) -> Int32 { Int32(bitPattern: bits) }
    @inline(__always) public static func add(_ x: Int32, _ y: Int32) -> Int32 { x &+ y }
    @inline(__always) public static func double(_ x: Int32) -> Double { Double(x) }
}
