import FapsimStore
import FapsimSupport

extension VGG11Parameters {
    /// Architecture names accepted in a weights file: fapsim's own, the name the
    /// reference PyTorch export records (docs/conventions.md §4), and torchvision's name
    /// for the same BN variant.
    public static let acceptedArchitectures: Set<String> = [VGG11Spec.architecture, "vgg11-bn-cifar10", "vgg11_bn", "vgg11-bn"]

    /// Loads a fapsim weights file or a PyTorch state_dict-in-HDF5 file.
    /// With `width` given, a file for another width is refused; without it the
    /// network is built at the file's width.
    public static func load(path: String, width: Double? = nil) throws -> VGG11Parameters {
        let file = try WeightsFile.read(path: path)
        return try load(file, path: path, width: width)
    }

    public static func load(_ file: WeightsFile, path: String, width: Double? = nil) throws -> VGG11Parameters {
        guard acceptedArchitectures.contains(file.architecture.lowercased()) else {
            throw FapsimError("\(path): architecture: expected \(VGG11Spec.architecture), got \(file.architecture)")
        }
        let fileWidth = file.width
        guard fileWidth.isFinite, fileWidth > 0 else {
            throw FapsimError("\(path): width: expected a positive width multiplier, got \(fileWidth)")
        }
        if let width, abs(width - fileWidth) > 1e-9 {
            throw FapsimError("\(path): width: weights are for VGG11 width \(fileWidth), expected width \(width)")
        }
        let spec = try VGG11Spec(width: width ?? fileWidth)
        return try load(spec: spec, file: path,
                        lookup: { name in file[name].map { ($0.shape, $0.data) } },
                        batchesTracked: { file.batchesTracked[$0] })
    }
}

extension VGG11Parameters {
    /// These parameters as a fapsim weights file (state_dict order, BN counters included).
    public func weightsFile(provenance: WeightsProvenance = .init()) -> WeightsFile {
        let tensors = stateDict().map { NamedTensor(name: $0.name, shape: $0.shape, data: $0.data) }
        var counters: [String: Int64] = [:]
        for b in spec.batchNormLayers { counters[b.name + ".num_batches_tracked"] = batchNorm[b.name]!.batchesTracked }
        return WeightsFile(architecture: VGG11Spec.architecture, width: spec.width, tensors: tensors,
                           batchesTracked: counters, provenance: provenance)
    }
}
