import HDF5Kit
import FapsimSupport

/// The `fapsim.weights` layout:
/// - root attributes: schema, schema_version, architecture (string), width
///   (Float64), weights_checksum (string, `WeightsFile.checksum`), and the
///   provenance attributes that are set (see `ProvenanceAttributes`);
/// - group `/tensors`, creation order tracked: one dataset per `state_dict` key,
///   named by the key, float32 tensors of their PyTorch shape and int64 scalar
///   `*.num_batches_tracked`, in `state_dict` order.
/// The group holds exactly the docs/conventions.md §4 datasets, so export to PyTorch is
/// a move of those datasets to the root.
extension WeightsFile {
    static let tensorsGroup = "tensors"

    /// Reads a fapsim weights file, or a PyTorch state_dict-in-HDF5 file (docs/conventions.md
    /// §4: tensors at the root, no `schema` attribute).
    public static func read(path: String) throws -> WeightsFile {
        let file = try H5File.open(path)
        if try Schema.identify(file) == nil {
            return try PyTorchStateDict.importWeights(file)
        }
        if try Schema.identify(file)?.kind == .quantized {
            throw file.failure("holds int8 quantized weights (schema fapsim.quantized), expected float weights (fapsim.weights): the float engines cannot run it; evaluate it with `fapsim evaluate --quantized`")
        }
        try Schema.require(file, is: .weights)
        guard file.kind(of: tensorsGroup) == .group else {
            throw HDF5Failure.error(file: path, object: "/" + tensorsGroup, "missing group (fapsim.weights files keep their tensors there)")
        }
        let group = try file.openGroup(tensorsGroup)
        let (tensors, counters) = try readStateDict(group, strict: true)
        let architecture = try file.stringAttribute("architecture")
        guard !architecture.isEmpty else { throw file.failure("attribute architecture: expected a network name, got an empty string") }
        let width = try file.attribute("width", as: Double.self)
        guard width > 0, width.isFinite else { throw file.failure("attribute width: expected a positive width multiplier, got \(width)") }
        return WeightsFile(architecture: architecture, width: width, tensors: tensors, batchesTracked: counters,
                           provenance: try ProvenanceAttributes.read(file))
    }

    /// Writes a fapsim weights file atomically; refuses to replace `path`
    /// unless `force`.
    public func write(path: String, force: Bool) throws {
        try validate(path: path)
        try AtomicWrite.write(to: path, force: force) { tmp in
            let file = try H5File.create(tmp, overwrite: true)
            try Schema.stamp(file, as: .weights)
            try file.setAttribute("architecture", architecture)
            try file.setAttribute("width", width)
            try file.setAttribute("weights_checksum", checksum)
            try ProvenanceAttributes.write(provenance, to: file)
            try writeStateDict(into: try file.createGroup(Self.tensorsGroup))
            try file.close()
        }
    }

    /// Writes the docs/conventions.md §4 layout (one dataset per `state_dict` key at the
    /// root) so `torch.load_state_dict({k: torch.from_numpy(f[k][()]) ...})` works.
    public func exportPyTorch(path: String, force: Bool) throws {
        try validate(path: path)
        try AtomicWrite.write(to: path, force: force) { tmp in
            let file = try H5File.create(tmp, overwrite: true)
            try PyTorchStateDict.writeAttributes(of: self, to: file)
            try writeStateDict(into: file)
            try file.close()
        }
    }

    /// Catches what would make a broken file before any byte is written.
    func validate(path: String) throws {
        var seen = Set<String>()
        for t in tensors {
            guard !t.name.isEmpty, !t.name.contains("/") else {
                throw FapsimError("\(path): tensor name '\(t.name)': expected a state_dict key without '/'")
            }
            guard seen.insert(t.name).inserted else { throw FapsimError("\(path): tensor \(t.name) appears twice") }
            guard t.shape.allSatisfy({ $0 >= 0 }), t.shape.reduce(1, *) == t.data.count else {
                throw FapsimError("\(path): tensor \(t.name): \(t.data.count) values do not fill shape \(t.shape)")
            }
            // Never write a file that every reader would refuse.
            if let bad = t.data.firstIndex(where: { !$0.isFinite }) {
                throw FapsimError("\(path): tensor \(t.name): expected finite values, got \(t.data[bad]) at index \(bad)\(elementIndex(bad, shape: t.shape))")
            }
        }
        for key in batchesTracked.keys where !seen.insert(key).inserted || key.contains("/") {
            throw FapsimError("\(path): BN counter \(key) clashes with a tensor name or contains '/'")
        }
    }

    /// Writes tensors and counters in `state_dict` order: each module's
    /// `num_batches_tracked` right after that module's last tensor, as PyTorch
    /// orders them.
    public func writeStateDict(into group: H5Group) throws {
        var pending = batchesTracked
        for (i, t) in tensors.enumerated() {
            try group.write(t.name, t.data, shape: t.shape)
            let module = PyTorchStateDict.modulePrefix(t.name)
            let nextModule = i + 1 < tensors.count ? PyTorchStateDict.modulePrefix(tensors[i + 1].name) : nil
            let counter = module + "num_batches_tracked"
            if nextModule != module, let v = pending.removeValue(forKey: counter) {
                try group.writeScalar(counter, v)
            }
        }
        for (k, v) in pending.sorted(by: { $0.key < $1.key }) {
            try group.writeScalar(k, v)
        }
    }

    /// Reads every dataset of `group` as a state_dict entry. `strict`: tensors
    /// must be float32 (fapsim files); otherwise any float type is converted
    /// (files other tools wrote). Integer datasets must be scalar counters.
    /// Every tensor value must be finite.
    public static func readStateDict(_ group: H5Group, strict: Bool) throws -> ([NamedTensor], [String: Int64]) {
        var tensors: [NamedTensor] = []
        var counters: [String: Int64] = [:]
        for name in try group.members() where group.kind(of: name) == .dataset {
            let d = try group.openDataset(name)
            let shape = d.shape
            guard let type = d.elementType else {
                throw d.failure("expected a float tensor or an integer counter, got \(d.typeName) rank \(shape.count)")
            }
            if type.isInteger {
                guard shape.reduce(1, *) == 1 else {
                    throw d.failure("expected a scalar integer counter (num_batches_tracked), got \(type.rawValue) rank \(shape.count)")
                }
                counters[name] = try d.readConverting(Int64.self)[0]
            } else {
                if strict { try d.expect(.float, rank: shape.count) }
                let data = try d.readConverting(Float.self)
                // A NaN or infinity anywhere poisons every activation after it; say
                // where it is instead of printing a meaningless accuracy.
                if let bad = data.firstIndex(where: { !$0.isFinite }) {
                    throw d.failure("expected finite values, got \(data[bad]) at index \(bad)\(elementIndex(bad, shape: shape))")
                }
                tensors.append(NamedTensor(name: name, shape: shape, data: data))
            }
        }
        return (tensors, counters)
    }
}

/// " (element [i, j, ...] of shape [...])" for a flat row-major index into a
/// tensor of rank 2 or more; "" for vectors, where the flat index says it all.
func elementIndex(_ flat: Int, shape: [Int]) -> String {
    guard shape.count >= 2, shape.allSatisfy({ $0 > 0 }) else { return "" }
    var rest = flat, index: [Int] = []
    for extent in shape.reversed() {
        index.append(rest % extent)
        rest /= extent
    }
    let list = { (v: [Int]) in "[" + v.map(String.init).joined(separator: ", ") + "]" }
    return " (element \(list(index.reversed())) of shape \(list(shape)))"
}

/// Provenance as root attributes; an unset field has no attribute.
enum ProvenanceAttributes {
    static func write(_ p: WeightsProvenance, to file: H5File) throws {
        if let v = p.parentFile { try file.setAttribute("parent_file", v) }
        if let v = p.parentChecksum { try file.setAttribute("parent_checksum", v) }
        if let v = p.chipIndex { try file.setAttribute("chip_index", Int64(v)) }
        if let v = p.faultMapChecksum { try file.setAttribute("fault_map_checksum", v) }
        if let v = p.fatEpochs { try file.setAttribute("fat_epochs", Int64(v)) }
        if let v = p.testAccuracy { try file.setAttribute("test_accuracy", v) }
        if let v = p.notes { try file.setAttribute("notes", v) }
    }

    static func read(_ file: H5File) throws -> WeightsProvenance {
        func string(_ n: String) throws -> String? { file.hasAttribute(n) ? try file.stringAttribute(n) : nil }
        func int(_ n: String) throws -> Int? { file.hasAttribute(n) ? Int(try file.integerAttribute(n)) : nil }
        return WeightsProvenance(
            parentFile: try string("parent_file"), parentChecksum: try string("parent_checksum"),
            chipIndex: try int("chip_index"), faultMapChecksum: try string("fault_map_checksum"),
            fatEpochs: try int("fat_epochs"),
            testAccuracy: file.hasAttribute("test_accuracy") ? try file.numberAttribute("test_accuracy") : nil,
            notes: try string("notes"))
    }
}
