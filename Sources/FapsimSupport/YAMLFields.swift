import Foundation
import Yams

/// One mapping of a strictly validated YAML input (hardware configs, campaign
/// files): typed accessors whose errors are one line naming the file and the
/// field's dotted path (`lot.chips`), and the unknown / missing key check every
/// such input shares.
public struct YAMLFields {
    public let file: String
    /// Dotted path of this mapping in the file ("" = the root).
    public let path: String
    public let dict: [String: Any]

    public init(file: String, path: String, dict: [String: Any]) {
        self.file = file
        self.path = path
        self.dict = dict
    }

    /// Parses `text` and returns its root mapping; not YAML, or not a mapping,
    /// is one line (`expected` says what the root should be).
    public static func root(yaml text: String, file: String, expected: String) throws -> YAMLFields {
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch {
            let first = "\(error)".split(separator: "\n").first.map(String.init) ?? "syntax error"
            throw FapsimError("\(file): not valid YAML: \(first)")
        }
        guard let dict = node as? [String: Any] else { throw FapsimError("\(file): expected \(expected)") }
        return YAMLFields(file: file, path: "", dict: dict)
    }

    public func name(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    public func invalid(_ key: String, expected: String) -> FapsimError {
        FapsimError.invalid(file: file, field: name(key), expected: expected, got: dict[key].map { "\($0)" } ?? "nothing")
    }

    /// Refuses a key not in `keys` (name, required, what it takes), then a missing required one.
    public func check(_ keys: [(String, Bool, String)]) throws {
        let known = Set(keys.map(\.0))
        for key in dict.keys.sorted() where !known.contains(key) {
            throw FapsimError("\(file): \(name(key)): unknown field; expected one of \(keys.map(\.0).joined(separator: ", "))")
        }
        for (key, required, help) in keys where required && dict[key] == nil {
            throw FapsimError("\(file): \(name(key)): missing required field (\(help))")
        }
    }

    public func mapping(_ key: String) throws -> YAMLFields {
        guard let d = dict[key] as? [String: Any] else { throw invalid(key, expected: "a mapping of fields") }
        return YAMLFields(file: file, path: name(key), dict: d)
    }

    public func string(_ key: String) throws -> String {
        guard let s = dict[key] as? String, !s.isEmpty else { throw invalid(key, expected: "a non-empty string") }
        return s
    }

    public func optionalString(_ key: String) throws -> String? { dict[key] == nil ? nil : try string(key) }

    public func int(_ key: String) throws -> Int {
        // YAML booleans are not numbers here, even though Yams could bridge them.
        guard !(dict[key] is Bool), let v = dict[key] as? Int else { throw invalid(key, expected: "an integer") }
        return v
    }

    public func optionalInt(_ key: String) throws -> Int? { dict[key] == nil ? nil : try int(key) }

    public func uint64(_ key: String) throws -> UInt64 {
        guard !(dict[key] is Bool), let v = dict[key] as? Int, v >= 0 else { throw invalid(key, expected: "an unsigned integer") }
        return UInt64(v)
    }

    public func optionalUInt64(_ key: String) throws -> UInt64? { dict[key] == nil ? nil : try uint64(key) }

    public static func number(_ v: Any?) -> Double? {
        if v is Bool { return nil }
        if let d = v as? Double, d.isFinite { return d }
        if let i = v as? Int { return Double(i) }
        return nil
    }

    public func double(_ key: String) throws -> Double {
        guard let d = Self.number(dict[key]) else { throw invalid(key, expected: "a number") }
        return d
    }

    public func optionalDouble(_ key: String) throws -> Double? { dict[key] == nil ? nil : try double(key) }

    public func optionalBool(_ key: String) throws -> Bool? {
        guard let v = dict[key] else { return nil }
        guard let b = v as? Bool else { throw invalid(key, expected: "true or false") }
        return b
    }

    public func list(_ key: String) throws -> [Any] {
        guard let a = dict[key] as? [Any] else { throw invalid(key, expected: "a list, e.g. [a, b]") }
        return a
    }

    public func doubles(_ key: String) throws -> [Double] {
        try list(key).map { v in
            guard let d = Self.number(v) else { throw invalid(key, expected: "a list of numbers") }
            return d
        }
    }

    public func ints(_ key: String) throws -> [Int] {
        try list(key).map { v in
            guard !(v is Bool), let i = v as? Int else { throw invalid(key, expected: "a list of integers") }
            return i
        }
    }

    public func strings(_ key: String) throws -> [String] {
        try list(key).map { v in
            guard let s = v as? String else { throw invalid(key, expected: "a list of names") }
            return s
        }
    }
}
