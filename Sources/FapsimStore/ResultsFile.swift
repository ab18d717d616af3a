import HDF5Kit
import FapsimSupport

/// A `fapsim.results` file: root attributes describing the run (what it holds,
/// its inputs and their checksums, settings) and any number of tables, each a
/// group at the root (see `ResultsTable`). Later issues define their `content`
/// ("resilience", "campaign", "cycle-trace", ...) and which tables they write;
/// the conventions live here so every results file reads the same way.
public struct ResultsFile: Equatable, Sendable {
    /// What the file holds, e.g. "resilience"; stored as root attribute `content`.
    public var content: String
    /// Root attributes other than schema, schema_version, fapsim_version and content
    /// (the writer's version is stamped by `write`, not carried from file to file:
    /// a merge of unit files records the fapsim that merged them).
    public var attributes: [String: AttributeValue]
    public var tables: [ResultsTable]

    public init(content: String, attributes: [String: AttributeValue] = [:], tables: [ResultsTable] = []) {
        self.content = content
        self.attributes = attributes
        self.tables = tables
    }

    public subscript(table name: String) -> ResultsTable? {
        tables.first { $0.name == name }
    }

    static let reservedAttributes: Set<String> = [Schema.schemaAttribute, Schema.versionAttribute, Schema.writerAttribute, "content"]

    /// Writes atomically; refuses to replace `path` unless `force`.
    public func write(path: String, force: Bool) throws {
        for key in attributes.keys.sorted() where Self.reservedAttributes.contains(key) {
            if key == Schema.writerAttribute {
                throw FapsimError("\(path): attribute '\(key)' is reserved; fapsim stamps the version that writes the file")
            }
            throw FapsimError("\(path): attribute '\(key)' is reserved; set `content` instead")
        }
        var names = Set<String>()
        for t in tables {
            try t.validate(file: path)
            guard names.insert(t.name).inserted else { throw FapsimError("\(path): table \(t.name) appears twice") }
        }
        try AtomicWrite.write(to: path, force: force) { tmp in
            let file = try H5File.create(tmp, overwrite: true)
            try Schema.stamp(file, as: .results)
            try file.setAttribute("content", content)
            for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
                try file.setAttribute(key, value)
            }
            for t in tables { try t.write(to: file) }
            try file.close()
        }
    }

    /// Reads every table: each group with a `columns` attribute, at the root
    /// or nested in groups without one (which only organise tables).
    public static func read(path: String) throws -> ResultsFile {
        let file = try H5File.open(path)
        try Schema.require(file, is: .results)
        let content = try file.stringAttribute("content")
        var attributes: [String: AttributeValue] = [:]
        for key in try file.attributeNames() where !reservedAttributes.contains(key) {
            attributes[key] = try file.attribute(key)
        }
        var tables: [ResultsTable] = []
        try collectTables(in: file, prefix: "", root: file, into: &tables)
        return ResultsFile(content: content, attributes: attributes, tables: tables)
    }

    private static func collectTables(in group: H5Group, prefix: String, root: H5File, into tables: inout [ResultsTable]) throws {
        for name in try group.members() where group.kind(of: name) == .group {
            let path = prefix + name
            let child = try group.openGroup(name)
            if child.hasAttribute(ResultsTable.columnsAttribute) {
                tables.append(try ResultsTable.read(from: root, name: path))
            } else {
                try collectTables(in: child, prefix: path + "/", root: root, into: &tables)
            }
        }
    }

    /// Reads one table without reading the others.
    public static func readTable(path: String, name: String) throws -> ResultsTable {
        let file = try H5File.open(path)
        try Schema.require(file, is: .results)
        return try ResultsTable.read(from: file, name: name)
    }
}
