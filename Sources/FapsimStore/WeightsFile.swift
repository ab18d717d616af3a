import FapsimSupport

/// One entry of a PyTorch `state_dict`: its key, shape and float32 values in
/// row-major (C) order, exactly as `tensor.numpy()` lays them out.
public struct NamedTensor: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var data: [Float]

    public init(name: String, shape: [Int], data: [Float]) {
        self.name = name
        self.shape = shape
        self.data = data
    }
}

/// Where a set of weights came from. Every field is optional: weights imported
/// from PyTorch have no parent, retrained per-chip weights have all of them.
public struct WeightsProvenance: Equatable, Sendable {
    /// Path of the weights file these were retrained from.
    public var parentFile: String?
    /// `WeightsFile.checksum` of the parent weights.
    public var parentChecksum: String?
    /// Chip index in the lot whose fault map the weights were retrained for.
    public var chipIndex: Int?
    /// `FaultMap.checksum` of that chip's map.
    public var faultMapChecksum: String?
    /// Epochs of fault-aware training (FAT).
    public var fatEpochs: Int?
    /// Test accuracy in [0, 1] (0.867 = 86.7 %).
    public var testAccuracy: Double?
    /// Free text (how they were trained, on what data).
    public var notes: String?

    public init(parentFile: String? = nil, parentChecksum: String? = nil, chipIndex: Int? = nil,
                faultMapChecksum: String? = nil, fatEpochs: Int? = nil, testAccuracy: Double? = nil,
                notes: String? = nil) {
        self.parentFile = parentFile
        self.parentChecksum = parentChecksum
        self.chipIndex = chipIndex
        self.faultMapChecksum = faultMapChecksum
        self.fatEpochs = fatEpochs
        self.testAccuracy = testAccuracy
        self.notes = notes
    }
}

/// A network's weights: every `state_dict` tensor under its PyTorch key, the BN
/// `num_batches_tracked` counters, and provenance. Stored as a `fapsim.weights`
/// file (`write`), exchanged with PyTorch through the docs/conventions.md §4 layout
/// (`exportPyTorch`, and `read` of such a file). See docs/hdf5-schema.md.
public struct WeightsFile: Equatable, Sendable {
    /// Network family, e.g. "vgg11".
    public var architecture: String
    /// Width multiplier (1.0 = the docs/conventions.md §3 network).
    public var width: Double
    /// `state_dict` float tensors, in `state_dict` order.
    public var tensors: [NamedTensor]
    /// BN counters, e.g. "features.1.num_batches_tracked": 5865.
    public var batchesTracked: [String: Int64]
    public var provenance: WeightsProvenance

    public init(architecture: String, width: Double, tensors: [NamedTensor],
                batchesTracked: [String: Int64] = [:], provenance: WeightsProvenance = WeightsProvenance()) {
        self.architecture = architecture
        self.width = width
        self.tensors = tensors
        self.batchesTracked = batchesTracked
        self.provenance = provenance
    }

    public subscript(name: String) -> NamedTensor? {
        tensors.first { $0.name == name }
    }

    /// FNV-1a over architecture, width, every tensor's name, shape and bits, and
    /// the BN counters: what a retrained file records as `parentChecksum`.
    /// Provenance is left out, so re-annotating weights keeps their identity.
    public var checksum: String {
        var h = FNV1a64()
        h.update(string: architecture)
        h.update(array: [width.bitPattern])
        for t in tensors {
            h.update(string: t.name)
            h.update(array: t.shape.map { Int64($0) })
            h.update(array: t.data)
        }
        for (k, v) in batchesTracked.sorted(by: { $0.key < $1.key }) {
            h.update(string: k)
            h.update(array: [v])
        }
        return h.hex
    }

    /// Total number of float parameters and buffers.
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.data.count } }
}
