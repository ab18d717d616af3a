import CHDF5
import FapsimSupport

/// An open dataset: whole or hyperslab reads and writes of numbers in
/// row-major order, reads of strings, and checks of type and shape that give
/// `file: /path: expected UInt8 dataset of rank 3, got Float rank 2`.
public final class H5Dataset: H5Object {
    // MARK: description

    /// Dimensions ([] for a scalar dataset).
    public var shape: [Int] {
        HDF5Library.sync {
            let space = H5Dget_space(id)
            defer { closeSpace(space) }
            return dataspaceDims(space) ?? []
        }
    }

    public var rank: Int { shape.count }
    public var elementCount: Int { shape.reduce(1, *) }

    /// The numeric element type, or nil for strings and other types.
    public var elementType: H5ElementType? {
        HDF5Library.sync { withType { H5ElementType.from(typeId: $0) } }
    }

    /// Short name of the stored type: "UInt8", "Float", "String", "Float16", ...
    public var typeName: String {
        HDF5Library.sync { withType { H5ElementType.describe(typeId: $0) } }
    }

    public var isString: Bool {
        HDF5Library.sync { withType { H5Tget_class($0) == H5T_STRING } }
    }

    private func withType<R>(_ body: (hid_t) -> R) -> R {
        let t = H5Dget_type(id)
        defer { closeType(t) }
        return body(t)
    }

    /// Chunk shape, or nil for contiguous/compact storage.
    public var chunkShape: [Int]? {
        HDF5Library.sync {
            let dcpl = H5Dget_create_plist(id)
            defer { closePlist(dcpl) }
            guard dcpl >= 0, H5Pget_layout(dcpl) == H5D_CHUNKED else { return nil }
            var dims = [hsize_t](repeating: 0, count: 32)
            let n = H5Pget_chunk(dcpl, 32, &dims)
            return n > 0 ? dims.prefix(Int(n)).map { Int($0) } : nil
        }
    }

    /// Bytes the data takes in the file (after compression).
    public var storageBytes: Int {
        HDF5Library.sync { Int(H5Dget_storage_size(id)) }
    }

    /// Filter names in pipeline order, e.g. ["shuffle", "deflate"].
    public var filters: [String] {
        HDF5Library.sync {
            let dcpl = H5Dget_create_plist(id)
            defer { closePlist(dcpl) }
            guard dcpl >= 0 else { return [] }
            let n = H5Pget_nfilters(dcpl)
            var names: [String] = []
            for i in 0..<max(n, 0) {
                var flags: UInt32 = 0
                var nelmts = 0
                var values = [UInt32](repeating: 0, count: 8)
                var name = [CChar](repeating: 0, count: 64)
                var config: UInt32 = 0
                let f = H5Pget_filter2(dcpl, UInt32(i), &flags, &nelmts, &values, name.count, &name, &config)
                if f >= 0 { names.append(String(cString: name)) }
            }
            return names
        }
    }

    /// Throws unless the dataset holds `type` elements with `rank` dimensions
    /// (and the sizes in `shape`, where given; nil entries match any size).
    public func expect(_ type: H5ElementType, rank: Int, shape expected: [Int?]? = nil) throws {
        let actualShape = shape
        let actualType = typeName
        guard actualType == type.rawValue, actualShape.count == rank else {
            throw failure("expected \(type.rawValue) dataset of rank \(rank), got \(actualType) rank \(actualShape.count)")
        }
        if let expected {
            let matches = zip(expected, actualShape).allSatisfy { $0 == nil || $0 == $1 }
            if !matches {
                let want = "[" + expected.map { $0.map(String.init) ?? "*" }.joined(separator: ", ") + "]"
                throw failure("expected shape \(want), got \(describeShape(actualShape))")
            }
        }
    }

    // MARK: reading

    /// The whole dataset, row-major. The stored type must be exactly `T`.
    public func read<T: H5Scalar>(_: T.Type = T.self) throws -> [T] {
        try requireType(T.self)
        return try readAll(T.self)
    }

    /// The whole dataset converted to `T` by HDF5 (any integer type to an integer
    /// `T`, any float type to a float `T`); for files other tools wrote.
    public func readConverting<T: H5Scalar>(_: T.Type = T.self) throws -> [T] {
        try HDF5Library.sync { try ensureOpen() }
        let isInt = HDF5Library.sync { withType { H5Tget_class($0) == H5T_INTEGER } }
        let isFloat = HDF5Library.sync { withType { H5Tget_class($0) == H5T_FLOAT } }
        guard (isInt && T.h5Type.isInteger) || (isFloat && !T.h5Type.isInteger) else {
            throw failure("expected \(T.h5Type.isInteger ? "an integer" : "a floating-point") dataset, got \(typeName)")
        }
        return try readAll(T.self)
    }

    /// A scalar dataset's value (or the single element of a one-element dataset).
    public func readScalar<T: H5Scalar>(_: T.Type = T.self) throws -> T {
        let v = try read(T.self)
        guard v.count == 1 else { throw failure("expected a single \(T.h5Type.rawValue) value, got shape \(describeShape(shape))") }
        return v[0]
    }

    private func readAll<T: H5Scalar>(_: T.Type) throws -> [T] {
        try HDF5Library.sync {
            let count = elementCount
            guard count > 0 else { return [] }
            // H5Dread fills every element, so none is zeroed first: this generic
            // code is not specialised for the caller's T, and zeroing went through
            // a value-witness call per element (3% of `simulate --images 1`,
            // reading VGG11's 9.2 million weights).
            return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                try check(H5Dread(id, T.h5Type.memoryType, fapsim_H5S_ALL(), fapsim_H5S_ALL(), fapsim_H5P_DEFAULT(),
                                  UnsafeMutableRawPointer(buffer.baseAddress!)), "cannot read dataset")
                initialized = count
            }
        }
    }

    /// The block starting at `start` with extent `count` (same rank as the
    /// dataset), row-major. Only that block is read from disk, so one chip of a
    /// lot of thousands costs one chunk.
    public func read<T: H5Scalar>(_: T.Type = T.self, start: [Int], count: [Int]) throws -> [T] {
        try requireType(T.self)
        return try HDF5Library.sync {
            try withSelection(start: start, count: count) { mem, file in
                var out = [T](repeating: T.zero, count: count.reduce(1, *))
                if !out.isEmpty {
                    try check(out.withUnsafeMutableBytes {
                        H5Dread(id, T.h5Type.memoryType, mem, file, fapsim_H5P_DEFAULT(), $0.baseAddress!)
                    }, "cannot read slice")
                }
                return out
            }
        }
    }

    /// All strings of a string dataset.
    public func readStrings() throws -> [String] {
        try HDF5Library.sync {
            try ensureOpen()
            let type = H5Dget_type(id)
            defer { closeType(type) }
            guard H5Tget_class(type) == H5T_STRING else {
                throw failure("expected a String dataset, got \(H5ElementType.describe(typeId: type))")
            }
            let space = H5Dget_space(id)
            defer { closeSpace(space) }
            guard let strings = H5Strings.read(fileType: type, count: elementCount, spaceForReclaim: space, {
                H5Dread(id, $0, fapsim_H5S_ALL(), fapsim_H5S_ALL(), fapsim_H5P_DEFAULT(), $1)
            }) else {
                throw HDF5Failure.fromStack(file: filePath, object: objectPath, action: "cannot read strings")
            }
            return strings
        }
    }

    // MARK: writing

    /// Writes the whole dataset from `data` (row-major, converted to the stored type).
    public func write<T: H5Scalar>(_ data: [T]) throws {
        try HDF5Library.sync {
            try ensureOpen()
            guard data.count == elementCount else {
                throw failure("\(data.count) values do not fill shape \(describeShape(shape))")
            }
            if data.isEmpty { return }
            try check(data.withUnsafeBytes {
                H5Dwrite(id, T.h5Type.memoryType, fapsim_H5S_ALL(), fapsim_H5S_ALL(), fapsim_H5P_DEFAULT(), $0.baseAddress!)
            }, "cannot write dataset")
        }
    }

    /// Writes the block at `start` with extent `count` from `data` (row-major).
    public func write<T: H5Scalar>(_ data: [T], start: [Int], count: [Int]) throws {
        try HDF5Library.sync {
            try ensureOpen()
            guard data.count == count.reduce(1, *) else {
                throw failure("\(data.count) values do not fill slice \(describeShape(count))")
            }
            try withSelection(start: start, count: count) { mem, file in
                if data.isEmpty { return }
                try check(data.withUnsafeBytes {
                    H5Dwrite(id, T.h5Type.memoryType, mem, file, fapsim_H5P_DEFAULT(), $0.baseAddress!)
                }, "cannot write slice")
            }
        }
    }

    // MARK: helpers

    private func requireType<T: H5Scalar>(_: T.Type) throws {
        try HDF5Library.sync { try ensureOpen() }
        let name = typeName
        guard name == T.h5Type.rawValue else {
            throw failure("expected \(T.h5Type.rawValue) dataset, got \(name) rank \(rank)")
        }
    }

    /// Checks the block against the shape and runs `body` with (memory space,
    /// file space with the hyperslab selected); both are closed afterwards.
    private func withSelection<R>(start: [Int], count: [Int], _ body: (hid_t, hid_t) throws -> R) throws -> R {
        let dims = shape
        guard start.count == dims.count, count.count == dims.count, !dims.isEmpty,
              zip(zip(start, count), dims).allSatisfy({ $0.0 >= 0 && $0.1 >= 0 && $0.0 + $0.1 <= $1 }) else {
            throw failure("slice start \(describeShape(start)) count \(describeShape(count)) is outside shape \(describeShape(dims))")
        }
        let fileSpace = H5Dget_space(id)
        defer { closeSpace(fileSpace) }
        try check(fileSpace, "cannot select slice")
        let s = start.map { hsize_t($0) }, c = count.map { hsize_t($0) }
        try check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, s, nil, c, nil), "cannot select slice")
        let memSpace = makeDataspace(count)
        defer { closeSpace(memSpace) }
        try check(memSpace, "cannot select slice")
        return try body(memSpace, fileSpace)
    }
}
