import Foundation
import FapsimStore
import FapsimSupport

/// The work directory `OUT.work/` of a resumable run (`fapsim resilience`,
/// `fapsim reduce`): one small results file per finished unit, each stamped
/// with the run's identity (root attributes `run_<key>`, strings), written
/// atomically, so a killed run loses at most the unit it was computing and a
/// rerun -- or another Slurm task -- skips what is done. A unit file whose
/// identity differs from the current run's is refused with the differing field.
public struct WorkDir: Sendable {
    /// The final output the units are assembled into.
    public let out: String
    /// `resilience` or `reduce`: also the `content` prefix of the unit files.
    public let command: String
    /// (key, value) pairs that decide every unit's result bit for bit.
    public let identity: [String: String]

    public static let identityPrefix = "run_"

    public init(out: String, command: String, identity: [String: String]) {
        self.out = out
        self.command = command
        self.identity = identity
    }

    public var path: String { out + ".work" }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Creates the directory (and checks the output's directory exists, so a
    /// typo in --out fails before any unit is computed).
    public func create() throws {
        let parent = URL(fileURLWithPath: out).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
            throw FapsimError("\(out): directory \(parent) does not exist")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw FapsimError("\(path): expected the run's work directory, found a file") }
            return
        }
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw FapsimError("\(path): cannot create the work directory: \(error.localizedDescription)")
        }
    }

    /// Indices of the files `<prefix><index>.h5` present (finished units);
    /// temporary files of interrupted writes (hidden, `.name.tmp-...`) are ignored.
    public func indices(prefix: String) -> [Int] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [] }
        return names.compactMap { name -> Int? in
            guard name.hasPrefix(prefix), name.hasSuffix(".h5") else { return nil }
            return Int(name.dropFirst(prefix.count).dropLast(3))
        }.sorted()
    }

    /// Adds the identity to `file` and writes it atomically under `name`
    /// (replacing an older copy, which can only be an identical result).
    public func write(_ file: ResultsFile, name: String) throws {
        var f = file
        for (k, v) in identity { f.attributes[Self.identityPrefix + k] = .string(v) }
        try f.write(path: self.file(name), force: true)
    }

    /// Reads a unit file and checks it belongs to this run; nil if absent.
    public func read(name: String, content: String) throws -> ResultsFile? {
        let p = file(name)
        guard FileManager.default.fileExists(atPath: p) else { return nil }
        let f = try ResultsFile.read(path: p)
        guard f.content == content else {
            throw FapsimError("\(p): /: attribute content: expected \"\(content)\", got \"\(f.content)\" (not a unit file of fapsim \(command))")
        }
        try checkIdentity(f.attributes, source: p)
        return f
    }

    /// Throws naming the first (alphabetical) field where `attributes` and
    /// this run's identity differ.
    public func checkIdentity(_ attributes: [String: AttributeValue], source: String) throws {
        var theirs: [String: String] = [:]
        for (k, v) in attributes where k.hasPrefix(Self.identityPrefix) {
            if case .string(let s) = v { theirs[String(k.dropFirst(Self.identityPrefix.count))] = s }
        }
        for key in Set(theirs.keys).union(identity.keys).sorted() where theirs[key] != identity[key] {
            throw FapsimError("\(source): \(key): this unit file is from a different run (\(key) \(theirs[key] ?? "unset") there, \(identity[key] ?? "unset") in this run); rerun with the original settings, use another --out, or remove \(path) to start over")
        }
    }

    /// The identity stored in a file's attributes (`run_<key>`), for merges.
    public static func identity(of attributes: [String: AttributeValue]) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in attributes where k.hasPrefix(identityPrefix) {
            if case .string(let s) = v { out[String(k.dropFirst(identityPrefix.count))] = s }
        }
        return out
    }

    /// A Double as text that reads back to the same bits (identity values).
    public static func text(_ x: Double) -> String { "\(x)" }
}
