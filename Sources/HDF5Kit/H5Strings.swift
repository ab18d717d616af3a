import CHDF5
import Foundation

/// String storage. fapsim writes variable-length UTF-8 strings, the type h5py
/// itself writes for Python `str`, so h5py returns `str` for attributes (and
/// `bytes`/`.asstr()` for datasets). Reading also accepts fixed-length strings,
/// which other tools write.
enum H5Strings {
    /// A new variable-length UTF-8 string type; the caller closes it.
    static func variableType() -> hid_t {
        let t = H5Tcopy(fapsim_H5T_C_S1())
        guard t >= 0 else { return t }
        _ = H5Tset_size(t, fapsim_H5T_VARIABLE())
        _ = H5Tset_cset(t, H5T_CSET_UTF8)
        return t
    }

    /// Calls `body` with a buffer of C string pointers for `strings`.
    static func withCStrings<R>(_ strings: [String], _ body: (UnsafeRawPointer) -> R) -> R {
        let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body(UnsafeRawPointer($0.baseAddress!)) }
    }

    /// Reads `count` strings stored with file type `fileType` via `read`
    /// (H5Aread or H5Dread bound to the right object). Nil if `read` fails.
    static func read(fileType: hid_t, count: Int, spaceForReclaim: hid_t,
                     _ read: (hid_t, UnsafeMutableRawPointer) -> herr_t) -> [String]? {
        if count == 0 { return [] }
        if H5Tis_variable_str(fileType) > 0 {
            let memType = variableType()
            defer { closeType(memType) }
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            let status = pointers.withUnsafeMutableBufferPointer { read(memType, UnsafeMutableRawPointer($0.baseAddress!)) }
            guard status >= 0 else { return nil }
            let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
            pointers.withUnsafeMutableBufferPointer {
                _ = H5Dvlen_reclaim(memType, spaceForReclaim, fapsim_H5P_DEFAULT(), $0.baseAddress!)
            }
            return strings
        }
        let size = H5Tget_size(fileType)
        guard size > 0 else { return nil }
        let memType = H5Tcopy(fapsim_H5T_C_S1())
        defer { closeType(memType) }
        _ = H5Tset_size(memType, size)
        let spacePadded = H5Tget_strpad(fileType) == H5T_STR_SPACEPAD
        _ = H5Tset_strpad(memType, H5T_STR_NULLPAD)
        var bytes = [UInt8](repeating: 0, count: size * count)
        let status = bytes.withUnsafeMutableBytes { read(memType, $0.baseAddress!) }
        guard status >= 0 else { return nil }
        return (0..<count).map { i in
            var slice = Array(bytes[(i * size)..<((i + 1) * size)])
            if let nul = slice.firstIndex(of: 0) { slice.removeSubrange(nul...) }
            if spacePadded { while slice.last == 0x20 { slice.removeLast() } }  // Fortran style
            return String(decoding: slice, as: UTF8.self)
        }
    }
}
