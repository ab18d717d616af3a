import Foundation
import FapsimSupport

/// A small IEEE 1364 value-change-dump writer: `$timescale`, nested `$scope
/// module`, `$var wire N id name`, `$enddefinitions`, then `#t` blocks holding
/// only the signals whose value changed (the first block is a `$dumpvars` with
/// every signal). Output is buffered and written through one FileHandle.
final class VCDWriter {
    private let handle: FileHandle
    private var buffer = ""
    private var widths: [Int] = []
    private var ids: [String] = []
    private var last: [UInt64?] = []
    private var pending: [(Int, UInt64)] = []
    private var headerDone = false
    private var dumpedInitial = false
    private var header: String

    init(path: String, timescale: String = "1ns", comment: String? = nil) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let h = FileHandle(forWritingAtPath: path) else {
            throw FapsimError("\(path): cannot create VCD file")
        }
        handle = h
        // $version is VCD's own field for the tool that wrote the dump.
        header = "$date\n    \(Date())\n$end\n$version\n    fapsim \(FapsimVersion.description)\n$end\n"
        if let comment { header += "$comment\n    \(comment)\n$end\n" }
        header += "$timescale \(timescale) $end\n"
    }

    /// Opens a `$scope module NAME`.
    func scope(_ name: String) { precondition(!headerDone); header += "$scope module \(name) $end\n" }
    func upscope() { precondition(!headerDone); header += "$upscope $end\n" }

    /// Declares a wire of `width` bits in the current scope; returns its handle.
    func wire(_ name: String, width: Int) -> Int {
        precondition(!headerDone && width >= 1 && width <= 64)
        let id = VCDWriter.identifier(ids.count)
        ids.append(id)
        widths.append(width)
        last.append(nil)
        header += "$var wire \(width) \(id) \(name)\(width > 1 ? " [\(width - 1):0]" : "") $end\n"
        return ids.count - 1
    }

    func endDefinitions() {
        header += "$enddefinitions $end\n"
        buffer += header
        headerDone = true
    }

    /// Records a value; it is written at the next `emit(time:)` if it changed.
    @inline(__always) func set(_ h: Int, _ value: UInt64) {
        let w = widths[h]
        let v = w == 64 ? value : value & ((1 << UInt64(w)) - 1)
        if last[h] != v {
            last[h] = v
            pending.append((h, v))
        }
    }

    /// Writes `#time` and every value that changed since the previous call.
    func emit(time: Int) throws {
        precondition(headerDone)
        if pending.isEmpty && dumpedInitial { return }
        buffer += "#\(time)\n"
        if !dumpedInitial { buffer += "$dumpvars\n" }
        for (h, v) in pending {
            if widths[h] == 1 {
                buffer += "\(v)\(ids[h])\n"
            } else {
                buffer += "b\(String(v, radix: 2)) \(ids[h])\n"
            }
        }
        if !dumpedInitial { buffer += "$end\n"; dumpedInitial = true }
        pending.removeAll(keepingCapacity: true)
        if buffer.utf8.count > 1 << 20 { try flush() }
    }

    func flush() throws {
        if buffer.isEmpty { return }
        try handle.write(contentsOf: Data(buffer.utf8))
        buffer = ""
    }

    func close(endTime: Int) throws {
        buffer += "#\(endTime)\n"
        try flush()
        try handle.close()
    }

    /// Identifier codes from the printable ASCII range 33...126 ("!" .. "~").
    static func identifier(_ n: Int) -> String {
        var n = n + 1
        var s = ""
        while n > 0 {
            n -= 1
            s.append(Character(UnicodeScalar(UInt8(33 + n % 94))))
            n /= 94
        }
        return s
    }
}
