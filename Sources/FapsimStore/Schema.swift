import HDF5Kit
import FapsimSupport

/// The kinds of file fapsim writes. Every one carries three root attributes:
/// `schema` (a string naming the kind), `schema_version` (Int64) and
/// `fapsim_version` (the fapsim release and git commit that wrote it).
///
/// Version policy (docs/hdf5-schema.md): a reader accepts every version up to
/// its own and rejects newer ones, because a newer writer may have changed the
/// meaning of a field; adding optional attributes or datasets does not bump the
/// version, renaming, removing or reinterpreting anything does.
public enum FapsimFileKind: String, CaseIterable, Sendable {
    case lot = "fapsim.lot"
    case weights = "fapsim.weights"
    case results = "fapsim.results"
    /// A training run's state after a finished epoch (weights, momentum, history, run identity).
    case checkpoint = "fapsim.checkpoint"
    /// A network quantized to int8 for the int8 array (weights, scales, int32 biases).
    case quantized = "fapsim.quantized"

    /// The version this build writes and the newest it reads.
    public var currentVersion: Int64 { 1 }

    /// Short name used by `inspect` ("lot", "weights", "results").
    public var shortName: String { String(rawValue.dropFirst("fapsim.".count)) }
}

public enum Schema {
    public static let schemaAttribute = "schema"
    public static let versionAttribute = "schema_version"
    /// Which fapsim wrote the file (`FapsimVersion.description`). Informational:
    /// readers never refuse a file for it; files from before it existed lack it.
    public static let writerAttribute = "fapsim_version"

    /// Stamps a new file's root with its kind, the current schema version and
    /// the fapsim that writes it.
    public static func stamp(_ file: H5File, as kind: FapsimFileKind) throws {
        try file.setAttribute(schemaAttribute, kind.rawValue)
        try file.setAttribute(versionAttribute, kind.currentVersion)
        try stampWriter(file)
    }

    /// Records this fapsim's version and commit on a file that has no fapsim
    /// schema (the PyTorch state_dict export).
    public static func stampWriter(_ file: H5File) throws {
        try file.setAttribute(writerAttribute, FapsimVersion.description)
    }

    /// The `fapsim_version` a file was stamped with, or nil when it has none
    /// (written by another tool or by a fapsim older than the attribute).
    public static func writer(of file: H5File) throws -> String? {
        file.hasAttribute(writerAttribute) ? try file.stringAttribute(writerAttribute) : nil
    }

    /// Reads the file's kind and version; nil kind when there is no `schema`
    /// attribute (a file fapsim did not write). Rejects unknown schemas and
    /// versions newer than this build reads.
    public static func identify(_ file: H5File) throws -> (kind: FapsimFileKind, version: Int64)? {
        guard file.hasAttribute(schemaAttribute) else { return nil }
        let name = try file.stringAttribute(schemaAttribute)
        guard let kind = FapsimFileKind(rawValue: name) else {
            let known = FapsimFileKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw file.failure("unknown schema '\(name)' (this fapsim reads \(known))")
        }
        guard file.hasAttribute(versionAttribute) else {
            throw file.failure("missing attribute \(versionAttribute) (schema \(name))")
        }
        let version = try file.integerAttribute(versionAttribute)
        guard version >= 1 else {
            throw file.failure("\(versionAttribute): expected a version >= 1, got \(version)")
        }
        guard version <= kind.currentVersion else {
            throw file.failure("\(name) schema_version \(version) is newer than this fapsim reads (\(kind.currentVersion)); upgrade fapsim")
        }
        return (kind, version)
    }

    /// Checks that `file` is a fapsim file of `kind`, with a clear error otherwise.
    @discardableResult
    public static func require(_ file: H5File, is kind: FapsimFileKind) throws -> Int64 {
        guard let found = try identify(file) else {
            throw file.failure("missing attribute schema: not a fapsim \(kind.shortName) file (expected schema '\(kind.rawValue)')")
        }
        guard found.kind == kind else {
            throw file.failure("is a \(found.kind.rawValue) file, expected \(kind.rawValue)")
        }
        return found.version
    }
}
