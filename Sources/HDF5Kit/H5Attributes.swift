import CHDF5
import FapsimSupport

/// An attribute value of any kind fapsim uses: strings and numbers, scalar or 1-D.
/// Integers of any width read back as `.int`, floats of any width as `.double`.
public enum H5AttributeValue: Equatable, Sendable, CustomStringConvertible {
    case string(String)
    case strings([String])
    case int(Int64)
    case ints([Int64])
    case double(Double)
    case doubles([Double])

    public var description: String {
        switch self {
        case .string(let s): return s
        case .strings(let a): return "[" + a.joined(separator: ", ") + "]"
        case .int(let v): return "\(v)"
        case .ints(let a): return "[" + a.map(String.init).joined(separator: ", ") + "]"
        case .double(let v): return "\(v)"
        case .doubles(let a): return "[" + a.map { "\($0)" }.joined(separator: ", ") + "]"
        }
    }

    /// A JSON-serialisable form (String, Int64, Double or arrays of them).
    public var jsonValue: Any {
        switch self {
        case .string(let s): return s
        case .strings(let a): return a
        case .int(let v): return v
        case .ints(let a): return a
        case .double(let v): return v
        case .doubles(let a): return a
        }
    }
}

extension H5Object {
    // MARK: existence and listing

    public func hasAttribute(_ name: String) -> Bool {
        HDF5Library.sync { H5Aexists(id, name) > 0 }
    }

    /// Attribute names, sorted by name (HDF5 name index).
    public func attributeNames() throws -> [String] {
        try HDF5Library.sync {
            var info = H5O_info_t()
            try check(H5Oget_info2(id, &info, fapsim_H5O_INFO_NUM_ATTRS()), "cannot list attributes")
            var names: [String] = []
            for i in 0..<info.num_attrs {
                let n = H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, fapsim_H5P_DEFAULT())
                try check(n, "cannot list attributes")
                var buf = [CChar](repeating: 0, count: Int(n) + 1)
                try check(H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count, fapsim_H5P_DEFAULT()),
                          "cannot list attributes")
                names.append(String(cString: buf))
            }
            return names
        }
    }

    public func deleteAttribute(_ name: String) throws {
        try HDF5Library.sync {
            if H5Aexists(id, name) > 0 {
                try check(H5Adelete(id, name), "cannot delete attribute \(name)")
            }
        }
    }

    // MARK: writing

    /// Writes (or replaces) attribute `name`.
    public func setAttribute(_ name: String, _ value: H5AttributeValue) throws {
        switch value {
        case .string(let s): try writeStringAttribute(name, [s], scalar: true)
        case .strings(let a): try writeStringAttribute(name, a, scalar: false)
        case .int(let v): try setAttribute(name, v)
        case .ints(let a): try setAttribute(name, a)
        case .double(let v): try setAttribute(name, v)
        case .doubles(let a): try setAttribute(name, a)
        }
    }

    public func setAttribute(_ name: String, _ value: String) throws {
        try writeStringAttribute(name, [value], scalar: true)
    }

    public func setAttribute(_ name: String, _ values: [String]) throws {
        try writeStringAttribute(name, values, scalar: false)
    }

    /// A scalar numeric attribute.
    public func setAttribute<T: H5Scalar>(_ name: String, _ value: T) throws {
        try writeNumericAttribute(name, [value], dims: [])
    }

    /// A 1-D numeric attribute.
    public func setAttribute<T: H5Scalar>(_ name: String, _ values: [T]) throws {
        try writeNumericAttribute(name, values, dims: [values.count])
    }

    private func writeNumericAttribute<T: H5Scalar>(_ name: String, _ values: [T], dims: [Int]) throws {
        try HDF5Library.sync {
            try replaceAttribute(name, fileType: T.h5Type.fileType, dims: dims) { attr in
                values.withUnsafeBytes { H5Awrite(attr, T.h5Type.memoryType, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!) }
            }
        }
    }

    private func writeStringAttribute(_ name: String, _ values: [String], scalar: Bool) throws {
        try HDF5Library.sync {
            let type = H5Strings.variableType()
            defer { closeType(type) }
            try check(type, "cannot make string type for attribute \(name)")
            try replaceAttribute(name, fileType: type, dims: scalar ? [] : [values.count]) { attr in
                values.isEmpty ? 0 : H5Strings.withCStrings(values) { H5Awrite(attr, type, $0) }
            }
        }
    }

    private func replaceAttribute(_ name: String, fileType: hid_t, dims: [Int], write: (hid_t) -> herr_t) throws {
        if H5Aexists(id, name) > 0 {
            try check(H5Adelete(id, name), "cannot replace attribute \(name)")
        }
        let space = makeDataspace(dims)
        defer { closeSpace(space) }
        try check(space, "cannot make dataspace for attribute \(name)")
        let attr = H5Acreate2(id, name, fileType, space, fapsim_H5P_DEFAULT(), fapsim_H5P_DEFAULT())
        defer { closeAttribute(attr) }
        try check(attr, "cannot create attribute \(name)")
        try check(write(attr), "cannot write attribute \(name)")
    }

    // MARK: reading

    /// Opens attribute `name` and passes (attribute, file type, dims) to `body`.
    private func withAttribute<R>(_ name: String, _ body: (hid_t, hid_t, [Int]) throws -> R) throws -> R {
        try HDF5Library.sync {
            guard H5Aexists(id, name) > 0 else {
                _ = HDF5ErrorStack.takeFrames()
                throw failure("missing attribute \(name)")
            }
            let attr = H5Aopen(id, name, fapsim_H5P_DEFAULT())
            defer { closeAttribute(attr) }
            try check(attr, "cannot open attribute \(name)")
            let type = H5Aget_type(attr)
            defer { closeType(type) }
            let space = H5Aget_space(attr)
            defer { closeSpace(space) }
            try check(type, "cannot read attribute \(name)")
            try check(space, "cannot read attribute \(name)")
            guard let dims = dataspaceDims(space), dims.count <= 1 else {
                throw failure("attribute \(name): expected a scalar or 1-D attribute")
            }
            return try body(attr, type, dims)
        }
    }

    /// Reads any string or numeric attribute.
    public func attribute(_ name: String) throws -> H5AttributeValue {
        try withAttribute(name) { attr, type, dims in
            let count = dims.first ?? 1
            switch H5Tget_class(type) {
            case H5T_STRING:
                let space = H5Aget_space(attr)
                defer { closeSpace(space) }
                guard let s = H5Strings.read(fileType: type, count: count, spaceForReclaim: space, { H5Aread(attr, $0, $1) }) else {
                    throw HDF5Failure.fromStack(file: filePath, object: objectPath, action: "cannot read attribute \(name)")
                }
                return dims.isEmpty ? .string(s.first ?? "") : .strings(s)
            case H5T_INTEGER:
                var v = [Int64](repeating: 0, count: count)
                if count > 0 {
                    try check(v.withUnsafeMutableBytes { H5Aread(attr, fapsim_H5T_NATIVE_INT64(), $0.baseAddress!) },
                              "cannot read attribute \(name)")
                }
                return dims.isEmpty ? .int(v[0]) : .ints(v)
            case H5T_FLOAT:
                var v = [Double](repeating: 0, count: count)
                if count > 0 {
                    try check(v.withUnsafeMutableBytes { H5Aread(attr, fapsim_H5T_NATIVE_DOUBLE(), $0.baseAddress!) },
                              "cannot read attribute \(name)")
                }
                return dims.isEmpty ? .double(v[0]) : .doubles(v)
            default:
                throw failure("attribute \(name): expected a string or number, got \(H5ElementType.describe(typeId: type))")
            }
        }
    }

    /// Reads attribute `name` only if it exists.
    public func attributeIfPresent(_ name: String) throws -> H5AttributeValue? {
        hasAttribute(name) ? try attribute(name) : nil
    }

    /// A scalar string attribute (rejects numbers and arrays with a clear error).
    public func stringAttribute(_ name: String) throws -> String {
        guard case .string(let s) = try attribute(name) else {
            throw failure("attribute \(name): expected a string, got \(try describeAttribute(name))")
        }
        return s
    }

    /// A 1-D string attribute; a scalar string reads as a one-element array.
    public func stringArrayAttribute(_ name: String) throws -> [String] {
        switch try attribute(name) {
        case .strings(let a): return a
        case .string(let s): return [s]
        default: throw failure("attribute \(name): expected strings, got \(try describeAttribute(name))")
        }
    }

    /// A scalar numeric attribute stored with exactly type `T`.
    public func attribute<T: H5Scalar>(_ name: String, as _: T.Type) throws -> T {
        let values = try numericAttribute(name, T.self, scalar: true)
        return values[0]
    }

    /// A 1-D numeric attribute stored with exactly type `T`.
    public func arrayAttribute<T: H5Scalar>(_ name: String, as _: T.Type) throws -> [T] {
        try numericAttribute(name, T.self, scalar: false)
    }

    /// Any integer attribute, converted to Int64 (for attributes other tools wrote).
    public func integerAttribute(_ name: String) throws -> Int64 {
        guard case .int(let v) = try attribute(name) else {
            throw failure("attribute \(name): expected an integer, got \(try describeAttribute(name))")
        }
        return v
    }

    /// Any scalar number attribute, converted to Double.
    public func numberAttribute(_ name: String) throws -> Double {
        switch try attribute(name) {
        case .double(let v): return v
        case .int(let v): return Double(v)
        default: throw failure("attribute \(name): expected a number, got \(try describeAttribute(name))")
        }
    }

    private func numericAttribute<T: H5Scalar>(_ name: String, _: T.Type, scalar: Bool) throws -> [T] {
        try withAttribute(name) { attr, type, dims in
            let got = H5ElementType.describe(typeId: type)
            guard H5ElementType.from(typeId: type) == T.h5Type, dims.isEmpty == scalar else {
                let gotShape = dims.isEmpty ? "scalar" : "1-D"
                throw failure("attribute \(name): expected \(scalar ? "scalar" : "1-D") \(T.h5Type.rawValue), got \(gotShape) \(got)")
            }
            var v = [T](repeating: T.zero, count: dims.first ?? 1)
            if !v.isEmpty {
                try check(v.withUnsafeMutableBytes { H5Aread(attr, T.h5Type.memoryType, $0.baseAddress!) },
                          "cannot read attribute \(name)")
            }
            return v
        }
    }

    /// "scalar Int64", "1-D String", ... for messages.
    private func describeAttribute(_ name: String) throws -> String {
        try withAttribute(name) { _, type, dims in
            (dims.isEmpty ? "scalar " : "1-D ") + H5ElementType.describe(typeId: type)
        }
    }
}
