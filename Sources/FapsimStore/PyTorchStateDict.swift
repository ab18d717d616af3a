import HDF5Kit
import FapsimSupport

/// The docs/conventions.md §4 interchange layout: one dataset per PyTorch `state_dict`
/// key at the root, float32 tensors and int64 scalar `num_batches_tracked`, with
/// root attributes such as `architecture` and `test_accuracy`; no `schema`.
///
/// Export writes `layout` = "pytorch-state_dict", `fapsim_version`,
/// `architecture`, `width` and the provenance attributes, so export then
/// import gives back the same `WeightsFile`.
enum PyTorchStateDict {
    static let layoutValue = "pytorch-state_dict"
    /// Root attributes import understands; any other string attribute is kept
    /// in `provenance.notes` so nothing the trainer recorded is lost.
    static let knownAttributes: Set<String> = [
        "layout", "architecture", "width", "parent_file", "parent_checksum", "chip_index",
        "fault_map_checksum", "fat_epochs", "test_accuracy", "notes", Schema.writerAttribute,
    ]

    static func writeAttributes(of weights: WeightsFile, to file: H5File) throws {
        try file.setAttribute("layout", layoutValue)
        try Schema.stampWriter(file)
        try file.setAttribute("architecture", weights.architecture)
        try file.setAttribute("width", weights.width)
        try ProvenanceAttributes.write(weights.provenance, to: file)
    }

    static func importWeights(_ file: H5File) throws -> WeightsFile {
        let (unordered, counters) = try WeightsFile.readStateDict(file, strict: false)
        if unordered.isEmpty {
            throw file.failure("not a fapsim weights file (no schema attribute) nor a PyTorch state_dict file (no tensors at the root)")
        }
        // h5py does not track creation order, so HDF5 lists keys by name
        // ("features.11" before "features.4"); restore state_dict order.
        let tensors = file.tracksCreationOrder ? unordered : unordered.sorted { stateDictOrder($0.name, $1.name) }

        var provenance = try ProvenanceAttributes.read(file)
        let rawArchitecture = file.hasAttribute("architecture") ? try file.stringAttribute("architecture") : nil
        let architecture = normalizedArchitecture(rawArchitecture, tensors: tensors)
        var extraNotes: [String] = []
        if let raw = rawArchitecture, raw != architecture { extraNotes.append("architecture: \(raw)") }
        for name in try file.attributeNames() where !knownAttributes.contains(name) {
            if case .string(let s)? = try? file.attribute(name) { extraNotes.append("\(name): \(s)") }
        }
        if provenance.notes == nil, !extraNotes.isEmpty {
            provenance.notes = extraNotes.joined(separator: "; ")
        }

        var width = 1.0
        if file.hasAttribute("width") {
            width = try file.numberAttribute("width")
        } else if architecture == "vgg11", let first = tensors.first(where: { $0.name == "features.0.weight" }), !first.shape.isEmpty {
            width = Double(first.shape[0]) / 64  // docs/conventions.md §3: the first conv has 64 filters at width 1
        }
        return WeightsFile(architecture: architecture, width: width, tensors: tensors,
                           batchesTracked: counters, provenance: provenance)
    }

    /// "vgg11-bn-cifar10" (the name docs/conventions.md §4 gives) and "VGG11" are the fapsim "vgg11";
    /// other names are kept as they are. Without an attribute, a features.* +
    /// classifier.* key set is taken as VGG11.
    static func normalizedArchitecture(_ raw: String?, tensors: [NamedTensor]) -> String {
        if let raw {
            return raw.lowercased().hasPrefix("vgg11") ? "vgg11" : raw
        }
        let names = Set(tensors.map(\.name))
        return names.contains("features.0.weight") && names.contains("classifier.weight") ? "vgg11" : "unknown"
    }

    /// "features.1.running_var" -> "features.1."; "weight" -> "".
    static func modulePrefix(_ key: String) -> String {
        guard let dot = key.lastIndex(of: ".") else { return "" }
        return String(key[...dot])
    }

    /// PyTorch's order: modules by their dotted path with numeric parts compared
    /// as numbers (see `topLevelRank`), and within a module weight, bias, running_mean, running_var,
    /// num_batches_tracked (the order nn.Conv2d/BatchNorm2d/Linear register them).
    /// Top-level modules are compared by name except that `features` comes
    /// before and `classifier` after everything else, the order torchvision-style
    /// VGG/AlexNet models register them in (a name sort alone would put
    /// `classifier` first).
    static func topLevelRank(_ name: Substring) -> Int {
        name == "features" ? 0 : name == "classifier" ? 2 : 1
    }

    static func stateDictOrder(_ a: String, _ b: String) -> Bool {
        let ma = modulePrefix(a), mb = modulePrefix(b)
        if ma != mb {
            let pa = ma.split(separator: "."), pb = mb.split(separator: ".")
            if let x = pa.first, let y = pb.first, topLevelRank(x) != topLevelRank(y) {
                return topLevelRank(x) < topLevelRank(y)
            }
            for (x, y) in zip(pa, pb) where x != y {
                if let xi = Int(x), let yi = Int(y) { return xi < yi }
                return x < y
            }
            return pa.count < pb.count
        }
        let rank = ["weight": 0, "bias": 1, "running_mean": 2, "running_var": 3, "num_batches_tracked": 4]
        let la = String(a.dropFirst(ma.count)), lb = String(b.dropFirst(mb.count))
        let ra = rank[la] ?? 5, rb = rank[lb] ?? 5
        return ra != rb ? ra < rb : la < lb
    }
}
