import FapsimSupport

/// Typed access to a results file's root attributes and table columns with the
/// one-line `FILE: /object: expected X, got Y` errors of docs/hdf5-schema.md, so
/// each results kind reads in a few lines and a malformed file says what is wrong.
public struct ResultsReader {
    public let path: String
    public let file: ResultsFile

    /// A reader of `file`, read from `path` (named in the errors).
    public init(path: String, file: ResultsFile = ResultsFile(content: "")) {
        self.path = path
        self.file = file
    }

    /// Opens `path` and checks its `content` attribute.
    public init(path: String, content: String) throws {
        self.path = path
        file = try ResultsFile.read(path: path)
        guard file.content == content else {
            throw FapsimError("\(path): /: attribute content: expected \"\(content)\", got \"\(file.content)\" (not a \(content) file)")
        }
    }

    private func attribute(_ name: String) throws -> AttributeValue {
        guard let v = file.attributes[name] else { throw FapsimError("\(path): /: missing attribute \(name)") }
        return v
    }

    private func wrong(_ name: String, _ expected: String, _ v: AttributeValue) -> FapsimError {
        FapsimError("\(path): /: attribute \(name): expected \(expected), got \(v)")
    }

    public func string(_ name: String) throws -> String {
        let v = try attribute(name)
        guard case .string(let s) = v else { throw wrong(name, "a string", v) }
        return s
    }

    public func int(_ name: String) throws -> Int {
        let v = try attribute(name)
        guard case .int(let i) = v else { throw wrong(name, "an int64", v) }
        return Int(i)
    }

    public func double(_ name: String) throws -> Double {
        let v = try attribute(name)
        switch v {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: throw wrong(name, "a number", v)
        }
    }

    /// A 1-D float64 attribute; a one-element list may come back as a scalar.
    public func doubles(_ name: String) throws -> [Double] {
        let v = try attribute(name)
        switch v {
        case .doubles(let a): return a
        case .double(let d): return [d]
        default: throw wrong(name, "a list of numbers", v)
        }
    }

    public func strings(_ name: String) throws -> [String] {
        let v = try attribute(name)
        switch v {
        case .strings(let a): return a
        case .string(let s): return [s]
        default: throw wrong(name, "a list of strings", v)
        }
    }

    public func uint64(_ name: String) throws -> UInt64 {
        let s = try string(name)
        guard let v = UInt64(s) else { throw FapsimError("\(path): /: attribute \(name): expected an unsigned 64-bit decimal, got \"\(s)\"") }
        return v
    }

    public func table(_ name: String) throws -> ResultsTable {
        guard let t = file[table: name] else { throw FapsimError("\(path): /\(name): missing table") }
        return t
    }

    public func ints(_ t: ResultsTable, _ column: String) throws -> [Int64] {
        guard let c = t[column] else { throw FapsimError("\(path): /\(t.name)/\(column): missing column") }
        guard case .int64(let v) = c.values else {
            throw FapsimError("\(path): /\(t.name)/\(column): expected int64, got \(c.values.dtypeName)")
        }
        return v
    }

    public func doubles(_ t: ResultsTable, _ column: String) throws -> [Double] {
        guard let c = t[column] else { throw FapsimError("\(path): /\(t.name)/\(column): missing column") }
        guard case .double(let v) = c.values else {
            throw FapsimError("\(path): /\(t.name)/\(column): expected float64, got \(c.values.dtypeName)")
        }
        return v
    }

    public func strings(_ t: ResultsTable, _ column: String) throws -> [String] {
        guard let c = t[column] else { throw FapsimError("\(path): /\(t.name)/\(column): missing column") }
        guard case .string(let v) = c.values else {
            throw FapsimError("\(path): /\(t.name)/\(column): expected strings, got \(c.values.dtypeName)")
        }
        return v
    }

    public func malformed(_ t: ResultsTable, _ what: String) -> FapsimError {
        FapsimError("\(path): /\(t.name): \(what)")
    }
}
