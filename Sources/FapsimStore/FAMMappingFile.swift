import FapsimSupport
import SystolicArray

/// A fault-aware mapping written by `fapsim fam map` (`content` = "fam_mapping",
/// docs/hdf5-schema.md): for one chip (its fault map, by checksum) and one
/// network (its width and every GEMM layer's K x N), each layer's input-channel
/// and output-channel slots on the R x C array, and the rows and columns
/// (lanes) of a layer that does not use them all. A run given the file uses these
/// slots instead of planning FAM again, so training under FAM and evaluating the
/// retrained weights see the same mapping, and the plan can be inspected.
///
/// The store owns the layout and its structural checks (every listed layer has
/// two slot tables, each a permutation); whether the file fits a given network
/// and chip is `check(width:layers:rows:cols:faultMapChecksum:)`.
public struct FAMMappingFile: Equatable, Sendable {
    public static let content = "fam_mapping"

    /// One GEMM layer's shape and slots, in network order.
    public struct Layer: Equatable, Sendable {
        public var name: String
        public var mapping: WeightMapping

        public init(name: String, mapping: WeightMapping) {
            self.name = name
            self.mapping = mapping
        }
    }

    public var networkWidth: Double
    public var rows: Int
    public var cols: Int
    public var faultMapChecksum: String
    public var faultyPEs: Int
    /// `magnitude` or `taylor`, and the Taylor calibration batch's size.
    public var saliency: String
    /// How the orders were chosen: `columns`, `joint` or `lanes` (FaultAwareMapping.Method).
    /// Files written before methods existed carry none and were made by `columns`.
    public var method: String
    public var calibrationImages: Int?
    /// The weights the plan was computed from (informational: the retrained
    /// weights of a FAT run under this mapping use it too).
    public var weightsFile: String
    public var weightsChecksum: String
    /// Where the fault map came from: `lot` and `chip`, or `seed` and `fault_rate`.
    public var provenance: [String: AttributeValue]
    public var layers: [Layer]

    public init(networkWidth: Double, rows: Int, cols: Int, faultMapChecksum: String, faultyPEs: Int,
                saliency: String, method: String, calibrationImages: Int? = nil, weightsFile: String, weightsChecksum: String,
                provenance: [String: AttributeValue] = [:], layers: [Layer]) {
        self.networkWidth = networkWidth
        self.rows = rows
        self.cols = cols
        self.faultMapChecksum = faultMapChecksum
        self.faultyPEs = faultyPEs
        self.saliency = saliency
        self.method = method
        self.calibrationImages = calibrationImages
        self.weightsFile = weightsFile
        self.weightsChecksum = weightsChecksum
        self.provenance = provenance.filter { Self.provenanceKeys.contains($0.key) }
        self.layers = layers
    }

    public static let provenanceKeys = ["lot", "chip", "seed", "fault_rate"]
    public static let saliencies = ["magnitude", "bn", "activation", "taylor"]
    public static let methods = ["columns", "joint", "lanes"]
    /// The method of a file without the attribute (written before methods existed).
    public static let methodBeforeAttribute = "columns"

    /// Each layer's mapping by name.
    public var mappings: [String: WeightMapping] {
        Dictionary(uniqueKeysWithValues: layers.map { ($0.name, $0.mapping) })
    }

    public func resultsFile() -> ResultsFile {
        var attributes: [String: AttributeValue] = [
            "network_width": .double(networkWidth), "array_rows": .int(Int64(rows)), "array_cols": .int(Int64(cols)),
            "fault_map_checksum": .string(faultMapChecksum), "faulty_pes": .int(Int64(faultyPEs)),
            "saliency": .string(saliency), "method": .string(method), "weights_file": .string(weightsFile), "weights_checksum": .string(weightsChecksum),
            "layers": .strings(layers.map(\.name)),
        ]
        if let calibrationImages { attributes["fam_calibration"] = .int(Int64(calibrationImages)) }
        attributes.merge(provenance) { layout, _ in layout }
        var tables: [ResultsTable] = []
        for layer in layers {
            let m = layer.mapping
            tables.append(ResultsTable(name: "\(layer.name)/input_slots",
                                       columns: [.int64("slot", units: "index", m.kSlot.map(Int64.init),
                                                        description: "K slot of input channel k (row k): fold slot div rows, array row slot mod rows")],
                                       attributes: ["k": .int(Int64(m.k))]))
            tables.append(ResultsTable(name: "\(layer.name)/output_slots",
                                       columns: [.int64("slot", units: "index", m.nSlot.map(Int64.init),
                                                        description: "N slot of output channel n (row n): fold slot div cols, array column slot mod cols")],
                                       attributes: ["n": .int(Int64(m.n))]))
            // Lanes only for a layer that has them: a file of a mapping on every
            // lane is laid out as before lanes existed.
            if !m.usesEveryLane {
                tables.append(ResultsTable(name: "\(layer.name)/row_lanes",
                                           columns: [.int64("row", units: "index", m.rowLanes.map(Int64.init),
                                                            description: "array row of row lane a (row a), ascending: K slot s sits on lane s mod lanes in fold s div lanes")]))
                tables.append(ResultsTable(name: "\(layer.name)/col_lanes",
                                           columns: [.int64("col", units: "index", m.colLanes.map(Int64.init),
                                                            description: "array column of column lane b (row b), ascending: N slot s sits on lane s mod lanes in fold s div lanes")]))
            }
        }
        return ResultsFile(content: Self.content, attributes: attributes, tables: tables)
    }

    /// Writes atomically; refuses to replace `path` unless `force`.
    public func write(path: String, force: Bool) throws {
        try resultsFile().write(path: path, force: force)
    }

    public static func read(path: String) throws -> FAMMappingFile {
        let f = try ResultsReader(path: path, content: content)
        let rows = try f.int("array_rows"), cols = try f.int("array_cols")
        guard rows > 0, cols > 0 else {
            throw FapsimError("\(path): /: attributes array_rows, array_cols: expected a positive array size, got \(rows)x\(cols)")
        }
        let saliency = try f.string("saliency")
        guard saliencies.contains(saliency) else {
            throw FapsimError("\(path): /: attribute saliency: expected one of \(saliencies.joined(separator: ", ")), got \(saliency)")
        }
        let method = f.file.attributes["method"] == nil ? methodBeforeAttribute : try f.string("method")
        guard methods.contains(method) else {
            throw FapsimError("\(path): /: attribute method: expected one of \(methods.joined(separator: ", ")), got \(method)")
        }
        let names = try f.strings("layers")
        guard !names.isEmpty else { throw FapsimError("\(path): /: attribute layers: expected the GEMM layers' names, got none") }
        let layers = try names.map { name -> Layer in
            let kTable = try f.table("\(name)/input_slots"), nTable = try f.table("\(name)/output_slots")
            let kSlot = try f.ints(kTable, "slot").map(Int.init), nSlot = try f.ints(nTable, "slot").map(Int.init)
            let rowTable = f.file[table: "\(name)/row_lanes"], colTable = f.file[table: "\(name)/col_lanes"]
            guard (rowTable == nil) == (colTable == nil) else {
                throw FapsimError("\(path): /\(name): expected both row_lanes and col_lanes tables or neither, got only \(rowTable == nil ? "col_lanes" : "row_lanes")")
            }
            do {
                var lanes: ArrayLanes?
                if let rowTable, let colTable {
                    lanes = try ArrayLanes(rows: try f.ints(rowTable, "row").map(Int.init), cols: try f.ints(colTable, "col").map(Int.init),
                                           arrayRows: rows, arrayCols: cols)
                }
                return Layer(name: name, mapping: try WeightMapping(k: kSlot.count, n: nSlot.count, rows: rows, cols: cols,
                                                                    lanes: lanes, kSlot: kSlot, nSlot: nSlot))
            } catch let e as FapsimError {
                throw FapsimError("\(path): /\(name): \(e.message)")
            }
        }
        return FAMMappingFile(networkWidth: try f.double("network_width"), rows: rows, cols: cols,
                              faultMapChecksum: try f.string("fault_map_checksum"), faultyPEs: try f.int("faulty_pes"),
                              saliency: saliency, method: method,
                              calibrationImages: f.file.attributes["fam_calibration"] == nil ? nil : try f.int("fam_calibration"),
                              weightsFile: try f.string("weights_file"), weightsChecksum: try f.string("weights_checksum"),
                              provenance: f.file.attributes.filter { provenanceKeys.contains($0.key) }, layers: layers)
    }

    /// Refuses, with one line naming `path` and the field, a mapping planned for
    /// another network (width, layer names or K x N) or another array or chip
    /// (array size, fault map).
    public func check(path: String, width: Double, layers expected: [(name: String, k: Int, n: Int)],
                      rows: Int, cols: Int, faultMapChecksum: String) throws {
        guard self.rows == rows, self.cols == cols else {
            throw FapsimError.invalid(file: path, field: "array_rows, array_cols", expected: "the chip's \(rows)x\(cols) array",
                                      got: "a mapping for \(self.rows)x\(self.cols)")
        }
        guard networkWidth == width else {
            throw FapsimError.invalid(file: path, field: "network_width", expected: "\(width) (the weights' VGG11 width)",
                                      got: "\(networkWidth)")
        }
        let names = self.layers.map(\.name)
        guard names == expected.map(\.name) else {
            throw FapsimError.invalid(file: path, field: "layers", expected: "the network's GEMM layers \(expected.map(\.name))",
                                      got: "\(names)")
        }
        for (layer, e) in zip(self.layers, expected) where layer.mapping.k != e.k || layer.mapping.n != e.n {
            throw FapsimError.invalid(file: path, field: "/\(layer.name)", expected: "K x N = \(e.k) x \(e.n)",
                                      got: "\(layer.mapping.k) x \(layer.mapping.n)")
        }
        guard self.faultMapChecksum == faultMapChecksum else {
            throw FapsimError.invalid(file: path, field: "fault_map_checksum",
                                      expected: "the chip's fault map \(faultMapChecksum) (a mapping is planned for one chip)",
                                      got: self.faultMapChecksum)
        }
    }
}
