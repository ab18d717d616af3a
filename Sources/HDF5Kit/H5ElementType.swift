import CHDF5

/// The numeric element types fapsim stores. Files always use the little-endian
/// standard types (what h5py and numpy call uint8, int8, int32, int64, uint64,
/// float32, float64); memory uses the native ones, and HDF5 converts.
public enum H5ElementType: String, CaseIterable, Sendable {
    case uint8 = "UInt8"
    case int8 = "Int8"
    case int32 = "Int32"
    case int64 = "Int64"
    case uint64 = "UInt64"
    case float = "Float"
    case double = "Double"

    /// Type used in the file.
    var fileType: hid_t {
        switch self {
        case .uint8: return fapsim_H5T_STD_U8LE()
        case .int8: return fapsim_H5T_STD_I8LE()
        case .int32: return fapsim_H5T_STD_I32LE()
        case .int64: return fapsim_H5T_STD_I64LE()
        case .uint64: return fapsim_H5T_STD_U64LE()
        case .float: return fapsim_H5T_IEEE_F32LE()
        case .double: return fapsim_H5T_IEEE_F64LE()
        }
    }

    /// Type used for the Swift buffer.
    var memoryType: hid_t {
        switch self {
        case .uint8: return fapsim_H5T_NATIVE_UINT8()
        case .int8: return fapsim_H5T_NATIVE_INT8()
        case .int32: return fapsim_H5T_NATIVE_INT32()
        case .int64: return fapsim_H5T_NATIVE_INT64()
        case .uint64: return fapsim_H5T_NATIVE_UINT64()
        case .float: return fapsim_H5T_NATIVE_FLOAT()
        case .double: return fapsim_H5T_NATIVE_DOUBLE()
        }
    }

    /// numpy's name for the type, used in docs, `inspect` and the interop manifest.
    public var numpyName: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .int32: return "int32"
        case .int64: return "int64"
        case .uint64: return "uint64"
        case .float: return "float32"
        case .double: return "float64"
        }
    }

    public var isInteger: Bool { self != .float && self != .double }

    /// Maps a file datatype back to one of ours; nil for anything else
    /// (strings, compounds, float16, big-endian is fine: HDF5 converts it).
    static func from(typeId: hid_t) -> H5ElementType? {
        let size = H5Tget_size(typeId)
        switch H5Tget_class(typeId) {
        case H5T_INTEGER:
            let signed = H5Tget_sign(typeId) == H5T_SGN_2
            switch (size, signed) {
            case (1, false): return .uint8
            case (1, true): return .int8
            case (4, true): return .int32
            case (8, true): return .int64
            case (8, false): return .uint64
            default: return nil
            }
        case H5T_FLOAT:
            switch size {
            case 4: return .float
            case 8: return .double
            default: return nil
            }
        default:
            return nil
        }
    }

    /// A short human name for any file datatype, for error messages:
    /// "UInt8", "Float", "UInt16", "Float16", "String", "Compound", ...
    static func describe(typeId: hid_t) -> String {
        if let t = from(typeId: typeId) { return t.rawValue }
        let size = H5Tget_size(typeId)
        switch H5Tget_class(typeId) {
        case H5T_INTEGER:
            return (H5Tget_sign(typeId) == H5T_SGN_2 ? "Int" : "UInt") + "\(size * 8)"
        case H5T_FLOAT: return "Float\(size * 8)"
        case H5T_STRING: return "String"
        case H5T_COMPOUND: return "Compound"
        case H5T_ENUM: return "Enum"
        case H5T_ARRAY: return "Array"
        case H5T_VLEN: return "VariableLength"
        case H5T_REFERENCE: return "Reference"
        case H5T_OPAQUE: return "Opaque"
        case H5T_BITFIELD: return "Bitfield"
        default: return "unknown type"
        }
    }
}

/// A Swift number type that maps one-to-one onto an HDF5 element type.
public protocol H5Scalar: Sendable {
    static var h5Type: H5ElementType { get }
    static var zero: Self { get }
}

extension UInt8: H5Scalar { public static var h5Type: H5ElementType { .uint8 }; public static var zero: UInt8 { 0 } }
extension Int8: H5Scalar { public static var h5Type: H5ElementType { .int8 }; public static var zero: Int8 { 0 } }
extension Int32: H5Scalar { public static var h5Type: H5ElementType { .int32 }; public static var zero: Int32 { 0 } }
extension Int64: H5Scalar { public static var h5Type: H5ElementType { .int64 }; public static var zero: Int64 { 0 } }
extension UInt64: H5Scalar { public static var h5Type: H5ElementType { .uint64 }; public static var zero: UInt64 { 0 } }
extension Float: H5Scalar { public static var h5Type: H5ElementType { .float }; public static var zero: Float { 0 } }
extension Double: H5Scalar { public static var h5Type: H5ElementType { .double }; public static var zero: Double { 0 } }
