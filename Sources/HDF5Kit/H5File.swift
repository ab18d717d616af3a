import CHDF5
import Foundation
import FapsimSupport

/// An open HDF5 file; it is also its root group ("/").
///
/// Files are opened with HDF5's default file locking, so a file that another
/// process is still writing cannot be read half-written: the open fails with
/// "... is being written by another process (HDF5 file lock)".
public final class H5File: H5Group {
    public let writable: Bool

    private init(id: hid_t, path: String, writable: Bool) {
        self.writable = writable
        super.init(id: id, filePath: path, objectPath: "/", parent: nil, close: H5Fclose)
    }

    /// Creates a new file; fails if it exists unless `overwrite`. The root group
    /// tracks creation order, so members list in the order they were written.
    public static func create(_ path: String, overwrite: Bool = false) throws -> H5File {
        try HDF5Library.sync {
            let fcpl = H5Pcreate(fapsim_H5P_FILE_CREATE())
            defer { closePlist(fcpl) }
            // No object timestamps: the same content gives the same bytes, so a
            // file's checksum (which run identities record) depends on what was
            // written, not when.
            if fcpl < 0 || H5Pset_link_creation_order(fcpl, UInt32(H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED)) < 0
                || H5Pset_obj_track_times(fcpl, false) < 0 {
                throw HDF5Failure.fromStack(file: path, object: nil, action: "cannot set up file creation")
            }
            let flags = overwrite ? fapsim_H5F_ACC_TRUNC() : fapsim_H5F_ACC_EXCL()
            let fapl = try strongCloseAccess(path)
            defer { closePlist(fapl) }
            let id = H5Fcreate(path, flags, fcpl, fapl)
            guard id >= 0 else {
                if !overwrite && FileManager.default.fileExists(atPath: path) {
                    _ = HDF5ErrorStack.takeFrames()
                    throw HDF5Failure.error(file: path, object: nil, "already exists")
                }
                throw HDF5Failure.fromFileOpen(file: path, writing: true)
            }
            return H5File(id: id, path: path, writable: true)
        }
    }

    /// Opens an existing file, read-only unless `writable`.
    public static func open(_ path: String, writable: Bool = false) throws -> H5File {
        try HDF5Library.sync {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                throw HDF5Failure.error(file: path, object: nil, "no such file")
            }
            guard !isDir.boolValue else {
                throw HDF5Failure.error(file: path, object: nil, "is a directory, expected an HDF5 file")
            }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw HDF5Failure.error(file: path, object: nil, "cannot read file (permission denied)")
            }
            let fapl = try strongCloseAccess(path)
            defer { closePlist(fapl) }
            let id = H5Fopen(path, writable ? fapsim_H5F_ACC_RDWR() : fapsim_H5F_ACC_RDONLY(), fapl)
            guard id >= 0 else { throw HDF5Failure.fromFileOpen(file: path, writing: writable) }
            return H5File(id: id, path: path, writable: writable)
        }
    }

    /// Objects of this file still open (groups, datasets, attributes, not
    /// counting the file itself).
    public var openObjectCount: Int {
        HDF5Library.sync {
            guard !isClosed else { return 0 }
            let n = H5Fget_obj_count(id, fapsim_H5F_OBJ_ALL() | fapsim_H5F_OBJ_LOCAL())
            return max(Int(n) - 1, 0)
        }
    }

    /// Writes buffered data to disk.
    public func flush() throws {
        try HDF5Library.sync {
            try check(H5Fflush(id, H5F_SCOPE_LOCAL), "cannot flush file")
        }
    }

    /// Flushes and closes the file now, reporting failures (a full disk shows
    /// up here). Groups and datasets still open from it are closed with it
    /// (strong close degree): an atomic writer must not rename a file that
    /// HDF5 still holds open because some object of it is alive. Using such an
    /// object afterwards is a one-line error.
    public func close() throws {
        try HDF5Library.sync {
            guard !isClosed else { return }
            if writable { try flush() }
            try closeNow()
        }
    }

    /// File access with the strong close degree (see `close`).
    private static func strongCloseAccess(_ path: String) throws -> hid_t {
        let fapl = H5Pcreate(fapsim_H5P_FILE_ACCESS())
        if fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 {
            closePlist(fapl)
            throw HDF5Failure.fromStack(file: path, object: nil, action: "cannot set up file access")
        }
        return fapl
    }
}

extension H5File {
    /// Whether the file starts with the HDF5 signature (cheap, no HDF5 open).
    public static func hasHDF5Signature(_ path: String) -> Bool {
        HDF5Library.sync {
            let yes = H5Fis_hdf5(path) > 0
            _ = H5Eclear2(fapsim_H5E_DEFAULT())
            return yes
        }
    }
}
