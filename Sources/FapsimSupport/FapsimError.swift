import Foundation

/// The one error type users see. Every message is a single line that names the
/// file (or input), the field or object, and what was expected, because an
/// architect reading it in a batch log has nothing else to go on.
public struct FapsimError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public var message: String

    public init(_ message: String) {
        // Keep it to one line whatever the caller passed in.
        self.message = message.replacingOccurrences(of: "\n", with: " ")
    }

    /// `file: field: expected X, got Y` — the shape most input errors take.
    public static func invalid(file: String?, field: String, expected: String, got: String? = nil) -> FapsimError {
        var s = ""
        if let file { s += "\(file): " }
        s += "\(field): expected \(expected)"
        if let got { s += ", got \(got)" }
        return FapsimError(s)
    }

    public var description: String { message }
    public var errorDescription: String? { message }
}
