import Foundation
import FapsimSupport

/// How a fold's weights reach the PEs.
public enum WeightLoadPolicy: String, CaseIterable, Sendable, Codable {
    /// Each fold shifts its weights into the PEs' weight registers, then streams.
    case singleBuffered = "single-buffered"
    /// Each PE has a shadow weight register; the next fold's weights shift into the
    /// shadow chain while the current fold streams, then all PEs swap at once (TPU v1).
    case doubleBuffered = "double-buffered"
}

/// Order in which a GEMM's folds are visited.
public enum MappingOrder: String, CaseIterable, Sendable, Codable {
    /// For each column fold (N tile), every K fold in turn: one N tile's
    /// accumulators are finished before the next tile starts (fewest live accumulators).
    case nOuter = "n-outer"
    /// For each K fold, every column fold in turn: all of Out is live in the
    /// accumulators for the whole GEMM.
    case kOuter = "k-outer"
}

/// Arithmetic of the PE datapath.
public enum Datapath: String, CaseIterable, Sendable, Codable {
    /// float32 weights, activations and partial sums (IEEE 754, round to nearest).
    case float32
    /// int8 weights and activations, int32 partial sums with two's-complement wrap (TPU v1).
    case int8
}

/// One accelerator: the array's shape and the conventions that change its timing.
public struct HardwareConfig: Sendable, Equatable {
    public var name: String
    public var rows: Int
    public var cols: Int
    public var weightLoad: WeightLoadPolicy
    public var clockMHz: Double
    public var mappingOrder: MappingOrder
    public var datapath: Datapath
    /// The spare PEs the array carries (nil: none), used under `--mitigation
    /// spares` (docs/mitigations.md); checked to fit R x C when loaded.
    public var spares: SpareLayout?

    public init(name: String = "custom", rows: Int, cols: Int,
                weightLoad: WeightLoadPolicy = .singleBuffered, clockMHz: Double = 700,
                mappingOrder: MappingOrder = .nOuter, datapath: Datapath = .float32, spares: SpareLayout? = nil) {
        self.name = name
        self.rows = rows
        self.cols = cols
        self.weightLoad = weightLoad
        self.clockMHz = clockMHz
        self.mappingOrder = mappingOrder
        self.datapath = datapath
        self.spares = spares
    }

    /// Spare PEs on the array: its area overhead in PEs (0 without spares).
    public var sparePEs: Int { spares?.spareCount(rows: rows, cols: cols) ?? 0 }

    /// The spare layout a chip running `mitigation` uses: the config's under
    /// spares (a config without one is refused in one line naming `path`, the
    /// config file), nil under any other mitigation.
    public func spares(for mitigation: Mitigation, path: String) throws -> SpareLayout? {
        guard mitigation == .spares else { return nil }
        guard let spares else {
            throw FapsimError.invalid(file: path, field: "spares", expected: "a spare layout for --mitigation spares (spares: {layout: diagonal} or {layout: column-groups, group_cols: G})", got: "none")
        }
        return spares
    }

    /// The spare PEs as a share of the array's R x C PEs.
    public var spareShare: Double { Double(sparePEs) / Double(rows * cols) }

    /// Every key a config may carry, with whether it is required.
    public static let keys: [(name: String, required: Bool, help: String)] = [
        ("name", false, "a label for reports"),
        ("rows", true, "PE rows R (an integer from 1 to 4096)"),
        ("cols", true, "PE columns C (an integer from 1 to 4096)"),
        ("weight_load", true, "single-buffered or double-buffered"),
        ("clock_mhz", true, "clock frequency in MHz (a positive number)"),
        ("mapping_order", false, "n-outer (default) or k-outer"),
        ("datapath", false, "float32 (default) or int8"),
        ("spares", false, "spare PEs: a mapping with layout (diagonal or column-groups) and group_cols (column-groups)"),
    ]

    /// Loads and validates a YAML hardware config; every problem is a one-line
    /// error naming the file and the field.
    public static func load(path: String) throws -> HardwareConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FapsimError("\(path): cannot read hardware config (missing or unreadable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FapsimError("\(path): hardware config is not UTF-8 text")
        }
        return try parse(yaml: text, file: path)
    }

    public static func parse(yaml text: String, file: String) throws -> HardwareConfig {
        let fields = try YAMLFields.root(yaml: text, file: file,
                                         expected: "a YAML mapping of config fields (rows, cols, weight_load, clock_mhz, ...)")
        try fields.check(keys.map { ($0.name, $0.required, $0.help) })
        let dict = fields.dict
        func int(_ key: String) throws -> Int {
            guard let v = dict[key] as? Int, (1...4096).contains(v) else {
                throw FapsimError.invalid(file: file, field: key, expected: "an integer from 1 to 4096", got: "\(dict[key]!)")
            }
            return v
        }
        func choice<E: RawRepresentable & CaseIterable>(_ key: String, _: E.Type, default d: E) throws -> E where E.RawValue == String {
            guard let raw = dict[key] else { return d }
            guard let s = raw as? String, let v = E(rawValue: s) else {
                throw FapsimError.invalid(file: file, field: key,
                                          expected: E.allCases.map(\.rawValue).joined(separator: " or "), got: "\(raw)")
            }
            return v
        }
        let clockRaw = dict["clock_mhz"]!
        let clock: Double
        if let d = clockRaw as? Double { clock = d } else if let i = clockRaw as? Int { clock = Double(i) } else {
            throw FapsimError.invalid(file: file, field: "clock_mhz", expected: "a positive number", got: "\(clockRaw)")
        }
        guard clock.isFinite, clock > 0 else {
            throw FapsimError.invalid(file: file, field: "clock_mhz", expected: "a positive number", got: "\(clockRaw)")
        }
        let name: String
        if let n = dict["name"] {
            guard let s = n as? String else {
                throw FapsimError.invalid(file: file, field: "name", expected: "a string", got: "\(n)")
            }
            name = s
        } else {
            name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        }
        let rows = try int("rows"), cols = try int("cols")
        let spares = try dict["spares"].map { _ in try SpareLayout.parse(try fields.mapping("spares"), rows: rows, cols: cols) }
        return HardwareConfig(
            name: name, rows: rows, cols: cols,
            weightLoad: try choice("weight_load", WeightLoadPolicy.self, default: .singleBuffered),
            clockMHz: clock,
            mappingOrder: try choice("mapping_order", MappingOrder.self, default: .nOuter),
            datapath: try choice("datapath", Datapath.self, default: .float32), spares: spares)
    }

    /// Seconds taken by `cycles` clock cycles at this config's clock.
    public func seconds(cycles: Int) -> Double { Double(cycles) / (clockMHz * 1e6) }
}
