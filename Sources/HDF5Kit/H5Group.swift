import CHDF5
import FapsimSupport

/// What a link in a group points at.
public enum H5ObjectKind: String, Sendable {
    case group, dataset, other
}

/// Layout of a new dataset. Contiguous by default; `compressed` gives chunked
/// storage with the shuffle filter then gzip, the combination that makes 0/1
/// fault maps and slowly varying numbers small while keeping h5py/h5dump able to
/// read them without plugins.
public struct H5DatasetOptions: Sendable, Equatable {
    /// Chunk shape (same rank as the dataset), or nil for contiguous storage.
    public var chunk: [Int]?
    /// gzip level 1...9, or nil for none (requires `chunk`).
    public var gzipLevel: Int?
    /// Byte-shuffle before gzip (requires `chunk`).
    public var shuffle: Bool

    public init(chunk: [Int]? = nil, gzipLevel: Int? = nil, shuffle: Bool = false) {
        self.chunk = chunk
        self.gzipLevel = gzipLevel
        self.shuffle = shuffle
    }

    public static let contiguous = H5DatasetOptions()

    /// Chunked with shuffle + gzip at `level` (4 is a good speed/size balance).
    public static func compressed(chunk: [Int], level: Int = 4) -> H5DatasetOptions {
        H5DatasetOptions(chunk: chunk, gzipLevel: level, shuffle: true)
    }
}

/// An open group (the root group is an `H5File`).
public class H5Group: H5Object {
    // MARK: members

    /// Whether `path` (relative, may contain "/", or absolute) names a link that
    /// resolves to an object. Checks each component, as HDF5 requires.
    public func exists(_ path: String) -> Bool {
        HDF5Library.sync { linkExists(path) }
    }

    func linkExists(_ path: String) -> Bool {
        let absolute = path.hasPrefix("/")
        var prefix = absolute ? "/" : ""
        let parts = path.split(separator: "/").map(String.init)
        if parts.isEmpty { return true }
        for part in parts {
            prefix = prefix.isEmpty ? part : (prefix.hasSuffix("/") ? prefix + part : prefix + "/" + part)
            guard H5Lexists(id, prefix, fapsim_H5P_DEFAULT()) > 0 else {
                _ = H5Eclear2(fapsim_H5E_DEFAULT())
                return false
            }
        }
        let ok = H5Oexists_by_name(id, prefix, fapsim_H5P_DEFAULT()) > 0
        _ = H5Eclear2(fapsim_H5E_DEFAULT())
        return ok
    }

    /// The kind of object at `path`, or nil when there is none.
    public func kind(of path: String) -> H5ObjectKind? {
        HDF5Library.sync {
            guard linkExists(path) else { return nil }
            var info = H5O_info_t()
            guard H5Oget_info_by_name2(id, path, &info, fapsim_H5O_INFO_BASIC(), fapsim_H5P_DEFAULT()) >= 0 else {
                _ = HDF5ErrorStack.takeFrames()
                return nil
            }
            switch info.type {
            case H5O_TYPE_GROUP: return .group
            case H5O_TYPE_DATASET: return .dataset
            default: return .other
            }
        }
    }

    /// Member names: in creation order when the group tracks it (fapsim's groups
    /// do, so tensors and table columns keep their order), else by name.
    public func members() throws -> [String] {
        try HDF5Library.sync {
            var info = H5G_info_t()
            try check(H5Gget_info(id, &info), "cannot list group")
            let order = creationOrderIndexed() ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME
            var names: [String] = []
            names.reserveCapacity(Int(info.nlinks))
            for i in 0..<info.nlinks {
                let n = H5Lget_name_by_idx(id, ".", order, H5_ITER_INC, i, nil, 0, fapsim_H5P_DEFAULT())
                try check(n, "cannot list group")
                var buf = [CChar](repeating: 0, count: Int(n) + 1)
                try check(H5Lget_name_by_idx(id, ".", order, H5_ITER_INC, i, &buf, buf.count, fapsim_H5P_DEFAULT()),
                          "cannot list group")
                names.append(String(cString: buf))
            }
            return names
        }
    }

    /// Whether the group records the order members were created in (fapsim's
    /// groups do; h5py's default groups do not).
    public var tracksCreationOrder: Bool {
        HDF5Library.sync { creationOrderIndexed() }
    }

    private func creationOrderIndexed() -> Bool {
        // A file's fcpl does not report the root group's link settings, so the
        // root group is opened as a group to ask it.
        let group = self is H5File ? H5Gopen2(id, "/", fapsim_H5P_DEFAULT()) : id
        defer { if group != id && group >= 0 { _ = H5Gclose(group) } }
        let plist = H5Gget_create_plist(group)
        defer { closePlist(plist) }
        guard plist >= 0 else { _ = H5Eclear2(fapsim_H5E_DEFAULT()); return false }
        var flags: UInt32 = 0
        guard H5Pget_link_creation_order(plist, &flags) >= 0 else { _ = H5Eclear2(fapsim_H5E_DEFAULT()); return false }
        return flags & UInt32(H5P_CRT_ORDER_INDEXED) != 0
    }

    // MARK: groups

    /// Creates group `name`, tracking the creation order of its members.
    public func createGroup(_ name: String) throws -> H5Group {
        try HDF5Library.sync {
            let gcpl = H5Pcreate(fapsim_H5P_GROUP_CREATE())
            defer { closePlist(gcpl) }
            try check(gcpl, "cannot create group", object: childPath(name))
            try check(H5Pset_link_creation_order(gcpl, UInt32(H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED)),
                      "cannot create group", object: childPath(name))
            // No timestamps, as for the file's root group (H5File.create).
            try check(H5Pset_obj_track_times(gcpl, false), "cannot create group", object: childPath(name))
            let g = H5Gcreate2(id, name, fapsim_H5P_DEFAULT(), gcpl, fapsim_H5P_DEFAULT())
            try check(g, "cannot create group", object: childPath(name))
            return H5Group(id: g, filePath: filePath, objectPath: childPath(name), parent: self, close: H5Gclose)
        }
    }

    /// Opens group `name`; a clear error if it is missing or is not a group.
    public func openGroup(_ name: String) throws -> H5Group {
        try HDF5Library.sync {
            let path = childPath(name)
            switch kind(of: name) {
            case nil: throw HDF5Failure.error(file: filePath, object: path, "missing group")
            case .dataset?: throw HDF5Failure.error(file: filePath, object: path, "expected a group, found a dataset")
            case .other?: throw HDF5Failure.error(file: filePath, object: path, "expected a group, found another kind of object")
            case .group?: break
            }
            let g = H5Gopen2(id, name, fapsim_H5P_DEFAULT())
            try check(g, "cannot open group", object: path)
            return H5Group(id: g, filePath: filePath, objectPath: path, parent: self, close: H5Gclose)
        }
    }

    // MARK: datasets

    /// Creates an empty dataset of `shape` ([] = scalar) and element type `T`.
    public func createDataset<T: H5Scalar>(_ name: String, of _: T.Type, shape: [Int],
                                           options: H5DatasetOptions = .contiguous) throws -> H5Dataset {
        try createDataset(name, fileType: T.h5Type.fileType, shape: shape, options: options)
    }

    func createDataset(_ name: String, fileType: hid_t, shape: [Int], options: H5DatasetOptions) throws -> H5Dataset {
        try HDF5Library.sync {
            let path = childPath(name)
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw HDF5Failure.error(file: filePath, object: path, "invalid shape \(describeShape(shape))")
            }
            let dcpl = H5Pcreate(fapsim_H5P_DATASET_CREATE())
            defer { closePlist(dcpl) }
            try check(dcpl, "cannot create dataset", object: path)
            try check(H5Pset_obj_track_times(dcpl, false), "cannot create dataset", object: path)
            if let chunk = options.chunk {
                guard chunk.count == shape.count, !shape.isEmpty, chunk.allSatisfy({ $0 > 0 }) else {
                    throw HDF5Failure.error(file: filePath, object: path,
                                            "chunk \(describeShape(chunk)) does not fit dataset shape \(describeShape(shape))")
                }
                let c = chunk.map { hsize_t($0) }
                try check(H5Pset_chunk(dcpl, Int32(c.count), c), "cannot set chunking", object: path)
                if options.shuffle { try check(H5Pset_shuffle(dcpl), "cannot set shuffle filter", object: path) }
                if let level = options.gzipLevel {
                    try check(H5Pset_deflate(dcpl, UInt32(max(0, min(9, level)))), "cannot set gzip filter", object: path)
                }
            } else if options.gzipLevel != nil || options.shuffle {
                throw HDF5Failure.error(file: filePath, object: path, "compression needs a chunk shape")
            }
            let space = makeDataspace(shape)
            defer { closeSpace(space) }
            try check(space, "cannot make dataspace", object: path)
            let d = H5Dcreate2(id, name, fileType, space, fapsim_H5P_DEFAULT(), dcpl, fapsim_H5P_DEFAULT())
            try check(d, "cannot create dataset", object: path)
            return H5Dataset(id: d, filePath: filePath, objectPath: path, parent: self, close: H5Dclose)
        }
    }

    /// Creates dataset `name` holding `data` in row-major order; `shape`
    /// defaults to 1-D. The element count must match the shape.
    @discardableResult
    public func write<T: H5Scalar>(_ name: String, _ data: [T], shape: [Int]? = nil,
                                   options: H5DatasetOptions = .contiguous) throws -> H5Dataset {
        let shape = shape ?? [data.count]
        guard shape.reduce(1, *) == data.count else {
            throw HDF5Failure.error(file: filePath, object: childPath(name),
                                    "\(data.count) values do not fill shape \(describeShape(shape))")
        }
        let d = try createDataset(name, of: T.self, shape: shape, options: options)
        try d.write(data)
        return d
    }

    /// Creates a scalar dataset.
    @discardableResult
    public func writeScalar<T: H5Scalar>(_ name: String, _ value: T) throws -> H5Dataset {
        try write(name, [value], shape: [])
    }

    /// Creates a 1-D dataset of variable-length UTF-8 strings.
    @discardableResult
    public func write(_ name: String, strings: [String]) throws -> H5Dataset {
        try HDF5Library.sync {
            let type = H5Strings.variableType()
            defer { closeType(type) }
            try check(type, "cannot make string type", object: childPath(name))
            let d = try createDataset(name, fileType: type, shape: [strings.count], options: .contiguous)
            if !strings.isEmpty {
                try check(H5Strings.withCStrings(strings) {
                    H5Dwrite(d.id, type, fapsim_H5S_ALL(), fapsim_H5S_ALL(), fapsim_H5P_DEFAULT(), $0)
                }, "cannot write strings", object: d.objectPath)
            }
            return d
        }
    }

    /// Opens dataset `name`; a clear error if it is missing or is not a dataset.
    public func openDataset(_ name: String) throws -> H5Dataset {
        try HDF5Library.sync {
            let path = childPath(name)
            switch kind(of: name) {
            case nil: throw HDF5Failure.error(file: filePath, object: path, "missing dataset")
            case .group?: throw HDF5Failure.error(file: filePath, object: path, "expected a dataset, found a group")
            case .other?: throw HDF5Failure.error(file: filePath, object: path, "expected a dataset, found another kind of object")
            case .dataset?: break
            }
            let d = H5Dopen2(id, name, fapsim_H5P_DEFAULT())
            try check(d, "cannot open dataset", object: path)
            return H5Dataset(id: d, filePath: filePath, objectPath: path, parent: self, close: H5Dclose)
        }
    }

    /// Opens dataset `name` and checks its element type and rank (and, where
    /// given, its shape; nil entries match any size).
    public func openDataset(_ name: String, expecting type: H5ElementType, rank: Int,
                            shape: [Int?]? = nil) throws -> H5Dataset {
        let d = try openDataset(name)
        try d.expect(type, rank: rank, shape: shape)
        return d
    }
}
