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

/// MD5 (RFC 1321), only to verify downloads against the checksum their
/// publisher gives (CIFAR-10's archive is published with an MD5). Not for
/// anything that must resist tampering.
public struct MD5: Sendable {
    private var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476)
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    public init() {}

    /// Per-round left-rotation amounts and the sine-derived constants of RFC 1321.
    private static let shifts: [UInt32] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]
    private static let k: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4_294_967_296)) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var rest = bytes[...]
        if !pending.isEmpty {
            let take = min(64 - pending.count, rest.count)
            pending += rest.prefix(take)
            rest = rest.dropFirst(take)
            guard pending.count == 64 else { return }
            pending.withUnsafeBytes { block($0.baseAddress!) }
            pending.removeAll(keepingCapacity: true)
        }
        var at = rest.startIndex
        while rest.endIndex - at >= 64 {
            block(bytes.baseAddress! + at)
            at += 64
        }
        pending += bytes[at..<rest.endIndex]
    }

    public mutating func update(_ data: Data) { data.withUnsafeBytes { update($0) } }

    private mutating func block(_ p: UnsafeRawPointer) {
        func m(_ g: Int) -> UInt32 { UInt32(littleEndian: p.loadUnaligned(fromByteOffset: g * 4, as: UInt32.self)) }
        var (a, b, c, d) = state
        for i in 0..<64 {
            var f: UInt32, g: Int
            switch i {
            case 0..<16: f = (b & c) | (~b & d); g = i
            case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
            case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
            default: f = c ^ (b | ~d); g = (7 * i) % 16
            }
            f = f &+ a &+ Self.k[i] &+ m(g)
            let s = Self.shifts[(i / 16) * 4 + i % 4]
            a = d; d = c; c = b
            b = b &+ ((f << s) | (f >> (32 - s)))
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
    }

    /// The digest as 32 lower-case hex digits. Pads a copy, so `self` can go on.
    public var hex: String {
        var copy = self
        let bits = length &* 8
        var tail: [UInt8] = [0x80]
        while (copy.pending.count + tail.count) % 64 != 56 { tail.append(0) }
        for i in 0..<8 { tail.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        let savedLength = copy.length
        tail.withUnsafeBytes { copy.update($0) }
        copy.length = savedLength
        let words = [copy.state.0, copy.state.1, copy.state.2, copy.state.3]
        return words.map { w in (0..<4).map { String(format: "%02x", (w >> (8 * UInt32($0))) & 0xFF) }.joined() }.joined()
    }

    /// MD5 of a whole file's bytes, streamed in 1 MiB blocks.
    public static func file(_ path: String) throws -> String {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw FapsimError("\(path): cannot open for reading")
        }
        defer { try? h.close() }
        var md5 = MD5()
        while true {
            let d = h.readData(ofLength: 1 << 20)
            if d.isEmpty { break }
            md5.update(d)
        }
        return md5.hex
    }
}
