import CHDF5
import FapsimSupport

/// An open HDF5 file, group or dataset. Owns exactly one identifier and closes
/// it in `deinit`, so no path (early return, thrown error) can leak it.
/// Short-lived identifiers (dataspaces, datatypes, property lists, attributes)
/// never escape the function that opens them and are closed by `defer`.
public class H5Object {
    /// The identifier; valid while this object is alive.
    let id: hid_t
    /// The file's path as the caller named it, for error messages.
    public let filePath: String
    /// Absolute path of the object inside the file ("/" for the root group).
    public let objectPath: String
    /// Keeps the parent (and so the file) open for as long as this object lives.
    let parent: H5Object?
    private let closeFunction: @convention(c) (hid_t) -> herr_t
    /// Set once the identifier has been closed explicitly (files only).
    var isClosed = false

    init(id: hid_t, filePath: String, objectPath: String, parent: H5Object?,
         close: @escaping @convention(c) (hid_t) -> herr_t) {
        self.id = id
        self.filePath = filePath
        self.objectPath = objectPath
        self.parent = parent
        self.closeFunction = close
    }

    deinit {
        if !isClosed {
            let id = self.id, close = self.closeFunction
            HDF5Library.sync { _ = close(id) }
        }
    }

    /// Closes the identifier now; used by `H5File.close()` to report errors.
    func closeNow() throws {
        guard !isClosed else { return }
        isClosed = true
        if closeFunction(id) < 0 {
            throw HDF5Failure.fromStack(file: filePath, object: nil, action: "cannot close")
        }
    }

    /// Throws if the identifier is no longer valid (its file was closed).
    func ensureOpen() throws {
        if isClosed || H5Iis_valid(id) <= 0 {
            throw failure("is closed (its file was closed)")
        }
    }

    /// Path of a member `name` of this object.
    func childPath(_ name: String) -> String {
        if name.hasPrefix("/") { return name }
        return objectPath == "/" ? "/" + name : objectPath + "/" + name
    }

    /// A one-line error about this object.
    public func failure(_ message: String) -> FapsimError {
        HDF5Failure.error(file: filePath, object: objectPath, message)
    }

    /// Throws the HDF5 error stack as a one-line error if `status` is negative.
    @discardableResult
    func check<I: BinaryInteger>(_ status: I, _ action: @autoclosure () -> String, object: String? = nil) throws -> I {
        if status < 0 {
            throw HDF5Failure.fromStack(file: filePath, object: object ?? objectPath, action: action())
        }
        return status
    }
}

/// Closes a short-lived identifier when the returned guard runs (use with defer).
@inline(__always)
func closeSpace(_ id: hid_t) { if id >= 0 { _ = H5Sclose(id) } }
@inline(__always)
func closeType(_ id: hid_t) { if id >= 0 { _ = H5Tclose(id) } }
@inline(__always)
func closePlist(_ id: hid_t) { if id >= 0 { _ = H5Pclose(id) } }
@inline(__always)
func closeAttribute(_ id: hid_t) { if id >= 0 { _ = H5Aclose(id) } }

/// A simple dataspace of `dims` (rank 0 = scalar). Caller closes it.
func makeDataspace(_ dims: [Int]) -> hid_t {
    if dims.isEmpty { return H5Screate(H5S_SCALAR) }
    let d = dims.map { hsize_t($0) }
    return H5Screate_simple(Int32(d.count), d, nil)
}

/// The dimensions of a dataspace ([] for scalar), or nil on failure.
func dataspaceDims(_ space: hid_t) -> [Int]? {
    let rank = H5Sget_simple_extent_ndims(space)
    guard rank >= 0 else { return nil }
    if rank == 0 { return [] }
    var dims = [hsize_t](repeating: 0, count: Int(rank))
    guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else { return nil }
    return dims.map { Int($0) }
}

/// "[3, 4, 5]" / "scalar", for messages.
func describeShape(_ shape: [Int]) -> String {
    shape.isEmpty ? "scalar" : "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
