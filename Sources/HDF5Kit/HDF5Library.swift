import CHDF5
import Foundation

/// Process-wide access to libhdf5.
///
/// Every HDF5Kit entry point runs inside `sync`, for two reasons:
/// - the error stack must be read by the same call sequence that failed, so no
///   other HDF5Kit call may run in between (libhdf5's own thread-safe build only
///   serialises single C calls, not our call-then-walk-the-stack pairs);
/// - tests can take the lock with `exclusive` to count open identifiers exactly,
///   with no other test opening or closing objects meanwhile.
public enum HDF5Library {
    private static let lock = NSRecursiveLock()

    /// The HDF5 library version, e.g. "1.10.8".
    public static var version: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        _ = H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }

    /// Runs `body` with the HDF5Kit lock held and HDF5's stderr printing off.
    @inline(__always) @discardableResult
    static func sync<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        silenceAutomaticPrinting()
        return try body()
    }

    /// Runs `body` while no other thread can make HDF5Kit calls; used by the
    /// handle-leak test to compare identifier counts before and after.
    @discardableResult
    public static func exclusive<T>(_ body: () throws -> T) rethrows -> T {
        try sync(body)
    }

    /// HDF5 prints its error stack to stderr by default. fapsim reports errors as
    /// one-line Swift errors instead, so the printing is switched off. In a
    /// thread-safe libhdf5 the setting is per thread, so it is applied once per
    /// thread (a thread-local flag keeps that to one C call per thread).
    private static func silenceAutomaticPrinting() {
        let key = "fapsim.HDF5Kit.silenced"
        let dict = Thread.current.threadDictionary
        if dict[key] == nil {
            _ = H5Eset_auto2(fapsim_H5E_DEFAULT(), nil, nil)
            dict[key] = true
        }
    }

    /// Open file-bound identifiers in this process, by kind: files, groups,
    /// datasets, attributes and datatypes taken from datasets or attributes.
    /// (libhdf5 1.10 refuses to count its library-owned kinds such as
    /// dataspaces and property lists with H5Inmembers, so those are kept
    /// leak-free by construction: each is closed by `defer` where it is made.)
    /// Call inside `exclusive` for a stable answer.
    public static func openIdentifierCounts() -> [String: Int] {
        sync {
            let all = hid_t(fapsim_H5F_OBJ_ALL())
            let kinds: [(String, UInt32)] = [
                ("file", UInt32(H5F_OBJ_FILE)), ("group", UInt32(H5F_OBJ_GROUP)),
                ("dataset", UInt32(H5F_OBJ_DATASET)), ("attribute", UInt32(H5F_OBJ_ATTR)),
                ("datatype", UInt32(H5F_OBJ_DATATYPE)),
            ]
            var counts: [String: Int] = [:]
            for (name, flag) in kinds {
                counts[name] = Int(H5Fget_obj_count(all, flag))
            }
            return counts
        }
    }
}
