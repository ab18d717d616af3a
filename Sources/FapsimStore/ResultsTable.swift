import HDF5Kit
import FapsimSupport

/// Attribute values in fapsim files (strings and numbers, scalar or 1-D).
public typealias AttributeValue = H5AttributeValue

/// One column of a results table: a name, its units and its values.
public struct ResultsColumn: Equatable, Sendable {
    public enum Values: Equatable, Sendable {
        case int64([Int64])
        case double([Double])
        case string([String])

        public var count: Int {
            switch self {
            case .int64(let v): return v.count
            case .double(let v): return v.count
            case .string(let v): return v.count
            }
        }

        /// numpy dtype name as h5py reports it ("object" for strings).
        public var dtypeName: String {
            switch self {
            case .int64: return "int64"
            case .double: return "float64"
            case .string: return "string"
            }
        }
    }

    public var name: String
    /// Units from the vocabulary in docs/hdf5-schema.md: "cycles", "MACs", "s",
    /// "images/s", "1" (dimensionless fraction, e.g. a fault rate or accuracy),
    /// "count", "index", "label" (strings), ...
    public var units: String
    public var values: Values
    /// Optional one-line meaning, stored as the column's `description` attribute.
    public var description: String?

    public init(name: String, units: String, values: Values, description: String? = nil) {
        self.name = name
        self.units = units
        self.values = values
        self.description = description
    }

    public static func int64(_ name: String, units: String, _ values: [Int64], description: String? = nil) -> ResultsColumn {
        ResultsColumn(name: name, units: units, values: .int64(values), description: description)
    }

    public static func double(_ name: String, units: String, _ values: [Double], description: String? = nil) -> ResultsColumn {
        ResultsColumn(name: name, units: units, values: .double(values), description: description)
    }

    public static func string(_ name: String, units: String = "label", _ values: [String], description: String? = nil) -> ResultsColumn {
        ResultsColumn(name: name, units: units, values: .string(values), description: description)
    }
}

/// A table as HDF5 stores it for pandas: a group holding one 1-D dataset per
/// column (int64, float64 or variable-length UTF-8 string), all of one length,
/// with a `units` attribute on each column and a `columns` attribute (1-D
/// strings) on the group giving the column order. In Python:
/// `pd.DataFrame({c: g[c][()] for c in g.attrs["columns"]})`.
public struct ResultsTable: Equatable, Sendable {
    /// Group path relative to the file's root: "per_chip", or "traces/conv1"
    /// to group related tables (intermediate groups are created as needed).
    public var name: String
    public var columns: [ResultsColumn]
    /// Table-level attributes (a description, the layer or chip it is about...).
    public var attributes: [String: AttributeValue]

    public init(name: String, columns: [ResultsColumn], attributes: [String: AttributeValue] = [:]) {
        self.name = name
        self.columns = columns
        self.attributes = attributes
    }

    public var rowCount: Int { columns.first?.values.count ?? 0 }

    public subscript(column: String) -> ResultsColumn? {
        columns.first { $0.name == column }
    }

    static let columnsAttribute = "columns"

    /// Throws if columns differ in length, names clash or units are missing.
    public func validate(file: String) throws {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.hasSuffix("/"), !name.contains("//") else {
            throw FapsimError("\(file): table name '\(name)': expected a relative group path such as per_chip or traces/conv1")
        }
        var seen = Set<String>()
        for c in columns {
            let at = "\(file): /\(name)/\(c.name)"
            guard !c.name.isEmpty, !c.name.contains("/") else { throw FapsimError("\(at): expected a column name without '/'") }
            guard seen.insert(c.name).inserted else { throw FapsimError("\(at): column appears twice") }
            guard !c.units.isEmpty else { throw FapsimError("\(at): missing units (use \"1\" for dimensionless numbers)") }
            guard c.values.count == rowCount else {
                throw FapsimError("\(at): has \(c.values.count) rows, expected \(rowCount) like column \(columns[0].name)")
            }
        }
        if attributes[Self.columnsAttribute] != nil {
            throw FapsimError("\(file): /\(name): attribute 'columns' is reserved for the column order")
        }
    }

    /// Writes the table as group `name` of `parent`, creating intermediate
    /// groups of a nested name.
    public func write(to parent: H5Group) throws {
        try validate(file: parent.filePath)
        var container = parent
        let parts = name.split(separator: "/").map(String.init)
        for part in parts.dropLast() {
            container = container.kind(of: part) == .group ? try container.openGroup(part) : try container.createGroup(part)
        }
        let group = try container.createGroup(parts.last!)
        try group.setAttribute(Self.columnsAttribute, columns.map(\.name))
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
            try group.setAttribute(key, value)
        }
        for c in columns {
            let d: H5Dataset
            switch c.values {
            case .int64(let v): d = try group.write(c.name, v)
            case .double(let v): d = try group.write(c.name, v)
            case .string(let v): d = try group.write(c.name, strings: v)
            }
            try d.setAttribute("units", c.units)
            if let text = c.description { try d.setAttribute("description", text) }
        }
    }

    /// Reads table `name` from `parent`, checking the conventions above.
    public static func read(from parent: H5Group, name: String) throws -> ResultsTable {
        let group = try parent.openGroup(name)
        guard group.hasAttribute(columnsAttribute) else {
            throw group.failure("missing attribute columns (not a results table)")
        }
        let order = try group.stringArrayAttribute(columnsAttribute)
        var attributes: [String: AttributeValue] = [:]
        for key in try group.attributeNames() where key != columnsAttribute {
            attributes[key] = try group.attribute(key)
        }
        var columns: [ResultsColumn] = []
        for columnName in order {
            let d = try group.openDataset(columnName)
            let values: ResultsColumn.Values
            if d.isString {
                guard d.rank == 1 else { throw d.failure("expected a 1-D String column, got rank \(d.rank)") }
                values = .string(try d.readStrings())
            } else if d.elementType == .int64 {
                try d.expect(.int64, rank: 1)
                values = .int64(try d.read(Int64.self))
            } else {
                try d.expect(.double, rank: 1)  // the error names what was found instead
                values = .double(try d.read(Double.self))
            }
            let units = d.hasAttribute("units") ? try d.stringAttribute("units") : ""
            if units.isEmpty { throw d.failure("missing attribute units") }
            let description = d.hasAttribute("description") ? try d.stringAttribute("description") : nil
            columns.append(ResultsColumn(name: columnName, units: units, values: values, description: description))
        }
        let table = ResultsTable(name: name, columns: columns, attributes: attributes)
        if let first = columns.first, let bad = columns.first(where: { $0.values.count != first.values.count }) {
            throw HDF5Failure.error(file: parent.filePath, object: group.objectPath,
                                    "column \(bad.name) has \(bad.values.count) rows, column \(first.name) has \(first.values.count)")
        }
        return table
    }
}
