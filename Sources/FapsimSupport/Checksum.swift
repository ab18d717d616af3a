import Foundation

/// FNV-1a 64-bit: used to tie files together (a weights file to its parent, a
/// resilience file to the lot and weights it was made with). It guards against
/// mix-ups, not against tampering, so a cryptographic hash is not needed.
public struct FNV1a64: Sendable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        value = h
    }

    public mutating func update<T>(array: [T]) {
        array.withUnsafeBytes { update($0) }
    }

    public mutating func update(string: String) {
        var s = string
        s.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    public var hex: String { String(format: "%016llx", value) }

    /// Checksum of a whole file's bytes, streamed in 1 MiB blocks.
    public static func file(_ path: String) throws -> String {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw FapsimError("\(path): cannot open for reading")
        }
        defer { try? h.close() }
        var f = FNV1a64()
        while true {
            let d = h.readData(ofLength: 1 << 20)
            if d.isEmpty { break }
            d.withUnsafeBytes { f.update($0) }
        }
        return f.hex
    }
}
