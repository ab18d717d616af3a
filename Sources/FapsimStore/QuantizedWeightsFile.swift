import HDF5Kit
import FapsimSupport

/// One GEMM layer of an int8 network: y[n] = (Σ_k q_w[k][n] q_x[k] + bias[n])
/// x inputScale x weightScales[n].
public struct QuantizedLayerRecord: Equatable, Sendable {
    /// The layer's state_dict prefix ("features.0", "classifier").
    public var name: String
    public var k: Int
    public var n: Int
    /// K x N int8 weights in GEMM layout (docs/conventions.md §2), BN folded in.
    public var weights: [Int8]
    /// Per output channel: the real value of one weight step.
    public var weightScales: [Float]
    /// Per output channel, in units of inputScale x weightScales[n].
    public var bias: [Int32]
    /// Per tensor: the real value of one step of the layer's int8 input.
    public var inputScale: Float

    public init(name: String, k: Int, n: Int, weights: [Int8], weightScales: [Float], bias: [Int32], inputScale: Float) {
        self.name = name
        self.k = k
        self.n = n
        self.weights = weights
        self.weightScales = weightScales
        self.bias = bias
        self.inputScale = inputScale
    }
}

/// A network quantized for the int8 array (schema `fapsim.quantized`,
/// docs/hdf5-schema.md):
/// - root attributes: schema, schema_version, fapsim_version, architecture
///   (string), width (float64), calibration_images (int64), calibration_rule,
///   rounding (strings, what the quantizer did, for readers), source_checksum
///   (string, `WeightsFile.checksum` of the float weights), layers (string
///   array, the GEMM layers in network order);
/// - group `/layers/<name>` per GEMM layer: datasets `weights` int8 [K][N],
///   `weight_scales` float32 [N], `bias` int32 [N]; attribute `input_scale`
///   (float32).
public struct QuantizedWeightsFile: Equatable, Sendable {
    public var architecture: String
    public var width: Double
    public var calibrationImages: Int
    public var calibrationRule: String
    public var rounding: String
    public var sourceChecksum: String
    public var layers: [QuantizedLayerRecord]

    public init(architecture: String, width: Double, calibrationImages: Int, calibrationRule: String, rounding: String,
                sourceChecksum: String, layers: [QuantizedLayerRecord]) {
        self.architecture = architecture
        self.width = width
        self.calibrationImages = calibrationImages
        self.calibrationRule = calibrationRule
        self.rounding = rounding
        self.sourceChecksum = sourceChecksum
        self.layers = layers
    }

    static let layersGroup = "layers"

    public func write(path: String, force: Bool) throws {
        for l in layers {
            guard l.weights.count == l.k * l.n, l.weightScales.count == l.n, l.bias.count == l.n,
                  l.inputScale.isFinite, l.inputScale > 0, l.weightScales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw FapsimError("\(path): layer \(l.name): expected \(l.k)x\(l.n) weights, \(l.n) positive finite scales and biases")
            }
        }
        try AtomicWrite.write(to: path, force: force) { tmp in
            let file = try H5File.create(tmp, overwrite: true)
            try Schema.stamp(file, as: .quantized)
            try file.setAttribute("architecture", architecture)
            try file.setAttribute("width", width)
            try file.setAttribute("calibration_images", Int64(calibrationImages))
            try file.setAttribute("calibration_rule", calibrationRule)
            try file.setAttribute("rounding", rounding)
            try file.setAttribute("source_checksum", sourceChecksum)
            try file.setAttribute("layers", layers.map(\.name))
            let group = try file.createGroup(Self.layersGroup)
            for l in layers {
                let g = try group.createGroup(l.name)
                try g.write("weights", l.weights, shape: [l.k, l.n])
                try g.write("weight_scales", l.weightScales, shape: [l.n])
                try g.write("bias", l.bias, shape: [l.n])
                try g.setAttribute("input_scale", l.inputScale)
            }
            try file.close()
        }
    }

    public static func read(path: String) throws -> QuantizedWeightsFile {
        let file = try H5File.open(path)
        guard let found = try Schema.identify(file), found.kind == .quantized else {
            let what = try Schema.identify(file).map { "a \($0.kind.rawValue) file" } ?? "a file without a fapsim schema (float PyTorch weights?)"
            throw file.failure("is \(what), expected int8 quantized weights (schema fapsim.quantized, written by `fapsim quantize`)")
        }
        let names = try file.stringArrayAttribute("layers")
        guard !names.isEmpty else { throw file.failure("attribute layers: expected the GEMM layer names, got none") }
        guard file.kind(of: layersGroup) == .group else { throw file.failure("missing group /\(layersGroup)") }
        let group = try file.openGroup(layersGroup)
        var layers: [QuantizedLayerRecord] = []
        for name in names {
            guard group.kind(of: name) == .group else {
                throw HDF5Failure.error(file: path, object: "/\(layersGroup)/\(name)", "missing group (named in attribute layers)")
            }
            let g = try group.openGroup(name)
            let wd = try g.openDataset("weights")
            try wd.expect(.int8, rank: 2)
            let k = wd.shape[0], n = wd.shape[1]
            let sd = try g.openDataset("weight_scales")
            try sd.expect(.float, rank: 1, shape: [n])
            let bd = try g.openDataset("bias")
            try bd.expect(.int32, rank: 1, shape: [n])
            let scales = try sd.read(Float.self)
            if let bad = scales.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
                throw sd.failure("expected positive finite scales, got \(scales[bad]) at index \(bad)")
            }
            let inputScale = try g.attribute("input_scale", as: Float.self)
            guard inputScale.isFinite, inputScale > 0 else {
                throw g.failure("attribute input_scale: expected a positive finite scale, got \(inputScale)")
            }
            layers.append(QuantizedLayerRecord(name: name, k: k, n: n, weights: try wd.read(Int8.self),
                                               weightScales: scales, bias: try bd.read(Int32.self), inputScale: inputScale))
        }
        let width = try file.attribute("width", as: Double.self)
        guard width > 0, width.isFinite else { throw file.failure("attribute width: expected a positive width multiplier, got \(width)") }
        return QuantizedWeightsFile(architecture: try file.stringAttribute("architecture"), width: width,
                                    calibrationImages: Int(try file.integerAttribute("calibration_images")),
                                    calibrationRule: try file.stringAttribute("calibration_rule"),
                                    rounding: try file.stringAttribute("rounding"),
                                    sourceChecksum: try file.stringAttribute("source_checksum"), layers: layers)
    }
}
