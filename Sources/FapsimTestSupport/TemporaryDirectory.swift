import Foundation

/// A fresh directory per test, removed when released, so tests running in
/// parallel never share files.
public final class TemporaryDirectory {
    public let path: String

    public init(prefix: String = "fapsim-test") throws {
        path = FileManager.default.temporaryDirectory.path + "/\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The message of the error `body` throws, or nil if it does not throw.
public func errorMessage(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch { return "\(error)" }
}
