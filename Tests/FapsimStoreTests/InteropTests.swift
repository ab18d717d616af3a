import Testing
import Foundation
import FapsimSupport
import HDF5Kit
import SystolicArray
@testable import FapsimStore

/// Builds the manifest Tests/interop/check_files.py checks files against.
/// Numbers are written as strings so 64-bit integers and doubles stay exact;
/// Float values are written as the Double they widen to.
private struct Manifest {
    var files: [[String: Any]] = []

    static func text<T: H5Scalar>(_ v: T) -> String {
        if let f = v as? Float { return "\(Double(f))" }
        return "\(v)"
    }

    /// A few elements (first, middle, last) of `data` by flat index.
    static func values<T: H5Scalar>(_ data: [T]) -> [String: String] {
        guard !data.isEmpty else { return [:] }
        var out: [String: String] = [:]
        for i in Set([0, data.count / 2, data.count - 1]) { out["\(i)"] = text(data[i]) }
        return out
    }

    static func dataset<T: H5Scalar>(_ data: [T], shape: [Int], chunks: [Int]? = nil) -> [String: Any] {
        var d: [String: Any] = ["dtype": T.h5Type.numpyName, "shape": shape, "values": values(data)]
        if let chunks {
            d["chunks"] = chunks
            d["compression"] = "gzip"
            d["shuffle"] = true
        }
        return d
    }

    static func attribute(_ v: AttributeValue) -> [String: Any] {
        switch v {
        case .string(let s): return ["type": "string", "value": s]
        case .strings(let a): return ["type": "strings", "value": a]
        case .int(let i): return ["type": "int", "value": "\(i)"]
        case .ints(let a): return ["type": "ints", "value": a.map { "\($0)" }]
        case .double(let d): return ["type": "float", "value": "\(d)"]
        case .doubles(let a): return ["type": "floats", "value": a.map { "\($0)" }]
        }
    }
}

@Suite struct InteropTests {
    /// Writes one file of each kind (and an HDF5Kit file with every dtype and
    /// rank) plus manifest.json into `dir`.
    private func writeFiles(_ dir: TemporaryDirectory) throws -> [String: Any] {
        var manifest = Manifest()

        // HDF5Kit: every type and rank, attributes, a compressed chunked dataset, strings.
        var kitDatasets: [String: Any] = [:]
        var kitAttributes: [String: Any] = [:]
        do {
            let f = try H5File.create(dir.file("kit.h5"))
            func all<T: H5Scalar>(_: T.Type, _ make: (Int) -> T) throws {
                for shape in [[], [5], [2, 3], [2, 3, 4], [1, 2, 3, 2]] {
                    let data = (0..<shape.reduce(1, *)).map(make)
                    let name = "\(T.h5Type.numpyName)_rank\(shape.count)"
                    try f.write(name, data, shape: shape)
                    kitDatasets["/" + name] = Manifest.dataset(data, shape: shape)
                }
            }
            try all(UInt8.self) { UInt8(truncatingIfNeeded: 250 + $0) }
            try all(Int8.self) { Int8(truncatingIfNeeded: -128 + $0 * 11) }
            try all(Int32.self) { Int32(-2_000_000_000 + $0 * 77_777_777) }
            try all(Int64.self) { Int64.min + Int64($0) * 1_000_000_007 }
            try all(UInt64.self) { UInt64.max - UInt64($0) }
            try all(Float.self) { Float($0) * 0.1 - 1e-7 }
            try all(Double.self) { Double($0) / 3 + 1e-300 }
            let chunked = (0..<(4 * 16 * 16)).map { UInt8($0 % 5 == 0 ? 1 : 0) }
            try f.write("chunked", chunked, shape: [4, 16, 16], options: .compressed(chunk: [1, 16, 16]))
            kitDatasets["/chunked"] = Manifest.dataset(chunked, shape: [4, 16, 16], chunks: [1, 16, 16])
            try f.write("words", strings: ["alpha", "ünïcödé", ""])
            let attrs: [String: AttributeValue] = [
                "s": .string("fapsim ✓"), "ss": .strings(["a", "bc"]), "i": .int(Int64.min), "is": .ints([1, -2, 3]),
                "d": .double(0.1), "ds": .doubles([1e-300, -2.5]),
            ]
            for (k, v) in attrs { try f.setAttribute(k, v) }
            kitAttributes = ["/": attrs.mapValues(Manifest.attribute)]
            try f.close()
        }
        manifest.files.append(["file": "kit.h5", "datasets": kitDatasets, "attributes": kitAttributes,
                               "strings": ["/words": ["alpha", "ünïcödé", ""]]])

        // Chip lot.
        let lot = try sampleLot(chips: 3)
        try ChipLotFile.write(lot, to: dir.file("lot.h5"), force: false)
        let allBits = lot.chips.flatMap(\.faultMap.bits)
        manifest.files.append([
            "file": "lot.h5",
            "datasets": [
                "/fault_maps": Manifest.dataset(allBits, shape: [3, 8, 6], chunks: [1, 8, 6]),
                "/fault_rate": Manifest.dataset(lot.chips.map(\.faultRate), shape: [3]),
                "/chip_seed": Manifest.dataset(lot.chips.map(\.seed), shape: [3]),
            ],
            "attributes": ["/": [
                "schema": Manifest.attribute(.string("fapsim.lot")), "schema_version": Manifest.attribute(.int(1)),
                "rows": Manifest.attribute(.int(8)), "cols": Manifest.attribute(.int(6)),
                "generator": Manifest.attribute(.string("uniform")),
                "generator.rate_max": Manifest.attribute(.double(0.15000000000000002)),
            ]],
        ])

        // A lot with fault kinds (unmitigated stuck-at PEs) and its provenance attribute.
        var stuckMap = FaultMap.none(rows: 4, cols: 5)
        stuckMap.setFaulty(0, 1, true); stuckMap.setFaulty(2, 3, true); stuckMap.setFaulty(3, 4, true)
        let stuck = [StuckAtFault(row: 0, col: 1, bit: 7, value: 0), StuckAtFault(row: 2, col: 3, bit: 31, value: 1),
                     StuckAtFault(row: 3, col: 4, bit: 0, value: 1)]
        try ChipLotFile.write(path: dir.file("stuck-lot.h5"), rows: 4, cols: 5, chips: 1, generator: "uniform", lotSeed: 9,
                              stuckAtKinds: true, stuckBits: "uniform", force: false) { w in
            try w.write(chip: 0, ChipLot.Chip(faultMap: stuckMap, faultRate: 0.15, seed: 9), stuckAt: stuck)
        }
        var kinds = [Int8](repeating: -1, count: 20), values = [UInt8](repeating: 0, count: 20)
        for f in stuck { kinds[f.row * 5 + f.col] = Int8(f.bit); values[f.row * 5 + f.col] = UInt8(f.value) }
        manifest.files.append([
            "file": "stuck-lot.h5",
            "datasets": [
                "/fault_maps": Manifest.dataset(stuckMap.bits, shape: [1, 4, 5], chunks: [1, 4, 5]),
                "/stuck_bit": Manifest.dataset(kinds, shape: [1, 4, 5], chunks: [1, 4, 5]),
                "/stuck_value": Manifest.dataset(values, shape: [1, 4, 5], chunks: [1, 4, 5]),
            ],
            "attributes": ["/": ["schema": Manifest.attribute(.string("fapsim.lot")),
                                 "stuck_bits": Manifest.attribute(.string("uniform"))]],
        ])

        // int8 quantized weights: int8 weights, float32 scales, int32 biases per layer.
        let qWeights: [Int8] = [-127, 0, 5, 127, -3, 64]
        let quantized = QuantizedWeightsFile(
            architecture: "vgg11-cifar10", width: 0.125, calibrationImages: 16, calibrationRule: "max|x|/127",
            rounding: "nearest, ties away from zero", sourceChecksum: "0123456789abcdef",
            layers: [QuantizedLayerRecord(name: "fc", k: 3, n: 2, weights: qWeights, weightScales: [0.25, 0.5],
                                          bias: [-2_000_000_000, 7], inputScale: 0.5)])
        try quantized.write(path: dir.file("quantized.h5"), force: false)
        manifest.files.append([
            "file": "quantized.h5",
            "datasets": [
                "/layers/fc/weights": Manifest.dataset(qWeights, shape: [3, 2]),
                "/layers/fc/weight_scales": Manifest.dataset([Float(0.25), 0.5], shape: [2]),
                "/layers/fc/bias": Manifest.dataset([Int32(-2_000_000_000), 7], shape: [2]),
            ],
            "attributes": ["/": ["schema": Manifest.attribute(.string("fapsim.quantized")),
                                 "calibration_images": Manifest.attribute(.int(16)),
                                 "layers": Manifest.attribute(.strings(["fc"]))],
                           "/layers/fc": ["input_scale": Manifest.attribute(.double(0.5))]],
        ])

        // Weights, fapsim layout and PyTorch export.
        let w = sampleWeights()
        try w.write(path: dir.file("weights.h5"), force: false)
        try w.exportPyTorch(path: dir.file("torch.h5"), force: false)
        let conv = w["features.4.weight"]!
        manifest.files.append([
            "file": "weights.h5",
            "datasets": ["/tensors/features.4.weight": Manifest.dataset(conv.data, shape: conv.shape),
                         "/tensors/features.5.num_batches_tracked": Manifest.dataset([Int64(42)], shape: [])],
            "attributes": ["/": [
                "schema": Manifest.attribute(.string("fapsim.weights")), "schema_version": Manifest.attribute(.int(1)),
                "architecture": Manifest.attribute(.string("vgg11")), "width": Manifest.attribute(.double(0.125)),
                "chip_index": Manifest.attribute(.int(17)), "test_accuracy": Manifest.attribute(.double(0.8125)),
                "weights_checksum": Manifest.attribute(.string(w.checksum)),
            ]],
        ])
        manifest.files.append([
            "file": "torch.h5",
            "datasets": ["/features.4.weight": Manifest.dataset(conv.data, shape: conv.shape),
                         "/classifier.bias": Manifest.dataset(w["classifier.bias"]!.data, shape: [10]),
                         "/features.1.num_batches_tracked": Manifest.dataset([Int64(5865)], shape: [])],
            "attributes": ["/": ["layout": Manifest.attribute(.string("pytorch-state_dict")),
                                 "test_accuracy": Manifest.attribute(.double(0.8125))]],
        ])

        // Results.
        let r = sampleResults()
        try r.write(path: dir.file("results.h5"), force: false)
        manifest.files.append([
            "file": "results.h5",
            "datasets": ["/per_chip/accuracy": Manifest.dataset([0.86, 0.84, 0.79], shape: [3]),
                         "/cycles/cycles": Manifest.dataset([Int64(123_456_789_012), 42], shape: [2])],
            "strings": ["/per_chip/status": ["ok", "ok", "retrained"], "/cycles/layer": ["conv1", "fc"]],
            "attributes": ["/": ["schema": Manifest.attribute(.string("fapsim.results")),
                                 "content": Manifest.attribute(.string("resilience")),
                                 "rates": Manifest.attribute(.doubles([0.01, 0.1])),
                                 "batch": Manifest.attribute(.int(128))],
                           "/per_chip/fault_rate": ["units": Manifest.attribute(.string("1"))]],
            "tables": ["/per_chip": ["chip", "fault_rate", "accuracy", "status"], "/cycles": ["layer", "cycles"]],
        ])

        // FAM mapping: VGG11 at width 0.125 on a 4x3 array, every layer's input and
        // output slots a seeded shuffle. The checker reads it from the schema doc
        // alone ("kind"): slot tables are permutations, layers chain as VGG11's.
        var rng = SeededRNG(seed: 11)
        let convs = [("features.0", 8), ("features.4", 16), ("features.8", 32), ("features.11", 32),
                     ("features.15", 64), ("features.18", 64), ("features.22", 64), ("features.25", 64)]
        var famLayers: [FAMMappingFile.Layer] = []
        var inputs = 3
        for (name, n) in convs + [("classifier", 10)] {
            // A conv's K is its 3x3 taps of every input channel; the classifier reads the 1x1 map.
            let k = name == "classifier" ? inputs : 9 * inputs
            famLayers.append(FAMMappingFile.Layer(name: name, mapping: try WeightMapping(
                k: k, n: n, rows: 4, cols: 3, kSlot: Array(0..<k).shuffled(using: &rng), nSlot: Array(0..<n).shuffled(using: &rng))))
            inputs = n
        }
        let fam = FAMMappingFile(networkWidth: 0.125, rows: 4, cols: 3, faultMapChecksum: "00112233445566ff", faultyPEs: 2,
                                 saliency: "taylor", method: "joint", calibrationImages: 32, weightsFile: "w.h5",
                                 weightsChecksum: "0123456789abcdef", provenance: ["seed": .int(5), "fault_rate": .double(0.2)],
                                 layers: famLayers)
        try fam.write(path: dir.file("fam.h5"), force: false)
        let conv1 = famLayers[0].mapping
        manifest.files.append([
            "file": "fam.h5", "kind": "fam_mapping",
            "datasets": ["/features.0/input_slots/slot": Manifest.dataset(conv1.kSlot.map(Int64.init), shape: [27]),
                         "/classifier/output_slots/slot": Manifest.dataset(famLayers.last!.mapping.nSlot.map(Int64.init), shape: [10])],
            "attributes": ["/": ["content": Manifest.attribute(.string("fam_mapping")),
                                 "method": Manifest.attribute(.string("joint")),
                                 "fam_calibration": Manifest.attribute(.int(32)),
                                 "seed": Manifest.attribute(.int(5))]],
        ])

        // Mitigation comparison: 3 chips of a 4x5 array under fap and rowcol, the
        // all-faulty chip unusable under rowcol; summary and yield (2 bins over
        // shares 0.05-1) worked out by hand, so the checker's cross-table sums
        // have something to disagree with.
        typealias Row = MitigationComparisonFile.Row
        // Area: fap 1 by definition, rowcol 0.9955 (the PE's cells from the synthesis).
        func row(_ chip: Int, _ m: String, _ faulty: Int, _ acc: Double, _ cycles: Int, source: String = "evaluated") -> Row {
            Row(chip: chip, mitigation: m, faultyPEs: faulty, faultShare: Double(faulty) / 20, usable: cycles > 0, accuracy: acc,
                testImages: 500, cyclesPerImage: cycles, throughput: cycles > 0 ? 1000 / Double(cycles) : .nan, pesAdded: 0,
                retrainingImages: 0, source: source, accuracyThreshold: 0.8, areaVsFAP: m == "fap" ? 1 : 0.9955)
        }
        let comparisonRows = [row(0, "fap", 1, 0.86, 1000), row(1, "fap", 3, 0.82, 1000), row(2, "fap", 20, 0.10, 1000),
                              row(0, "rowcol", 1, 0.87, 1250, source: "fault-free logits"),
                              row(1, "rowcol", 3, 0.87, 2000, source: "fault-free logits"),
                              row(2, "rowcol", 20, .nan, -1, source: "unusable")]
        let binEdge = 0.05 + (1.0 - 0.05) / 2
        let comparison = MitigationComparisonFile(
            rows: comparisonRows,
            summary: [.init(mitigation: "fap", chips: 3, usable: 3, meeting: 2, meanThroughput: 1, pesAdded: 0, retrainingImages: 0,
                            areaVsFAP: 1, areaBasis: "20 fap PEs"),
                      .init(mitigation: "rowcol", chips: 3, usable: 2, meeting: 1, meanThroughput: (0.8 + 0.5) / 2, pesAdded: 0,
                            retrainingImages: 0, areaVsFAP: 0.9955, areaBasis: "20 rowcol-reg PEs + 9 line-enable flip-flops")],
            yieldCurve: [.init(mitigation: "fap", binLow: 0.05, binHigh: binEdge, meanFaultShare: (0.05 + 0.15) / 2, chips: 2, meeting: 2),
                         .init(mitigation: "fap", binLow: binEdge, binHigh: 1, meanFaultShare: 1, chips: 1, meeting: 0),
                         .init(mitigation: "rowcol", binLow: 0.05, binHigh: binEdge, meanFaultShare: (0.05 + 0.15) / 2, chips: 2, meeting: 1),
                         .init(mitigation: "rowcol", binLow: binEdge, binHigh: 1, meanFaultShare: 1, chips: 1, meeting: 0)],
            attributes: ["lot_file": .string("lot.h5"), "lot_checksum": .string("aa"), "lot_chips": .int(3),
                         "lot_generator": .string("uniform"), "weights_file": .string("w.h5"), "weights_checksum": .string("bb"),
                         "network_width": .double(0.125), "rows": .int(4), "cols": .int(5), "config_name": .string("small-4x5"),
                         "test_subset": .int(500), "baseline_accuracy": .double(0.86), "fault_free_cycles_per_image": .int(1000),
                         "min_throughput": .double(0.6), "target": .double(0.8), "yield_bins": .int(2)])
        try comparison.write(path: dir.file("comparison.h5"), force: false)
        manifest.files.append([
            "file": "comparison.h5", "kind": "mitigation_comparison",
            "strings": ["/per_chip/source": comparisonRows.map(\.source), "/summary/mitigation": ["fap", "rowcol"]],
            "attributes": ["/": ["content": Manifest.attribute(.string("mitigation_comparison")),
                                 "mitigations": Manifest.attribute(.strings(["fap", "rowcol"]))]],
            "tables": ["/summary": ["mitigation", "chips", "usable", "meeting", "mean_throughput", "pes_added", "retraining_images",
                                    "area_vs_fap", "area_basis"]],
        ])

        let object: [String: Any] = [
            "files": manifest.files,
            "state_dict": ["source": "torch.h5", "output": "from_h5py.h5", "fapsim_weights": "weights.h5"],
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: dir.file("manifest.json")))
        return object
    }

    @Test func h5pyNumpyAndH5dumpReadEveryKindOfFile() throws {
        let strict = ProcessInfo.processInfo.environment["FAPSIM_REQUIRE_INTEROP"] == "1"
        let dir = try TemporaryDirectory()
        _ = try writeFiles(dir)
        // FAPSIM_INTEROP_OUT=DIR keeps a copy of the files (docs/hdf5-schema.md's
        // h5dump excerpts are made from them).
        if let keep = ProcessInfo.processInfo.environment["FAPSIM_INTEROP_OUT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: dir.path, toPath: keep)
        }
        let script = TestPaths.packageRoot + "/Tests/interop/check_files.py"
        // python3 from PATH, as CI's pip installs h5py for that one.
        let (found, _, _) = try runProcess("/usr/bin/env", ["sh", "-c", "command -v python3"])
        guard found == 0 else {
            if strict { Issue.record("FAPSIM_REQUIRE_INTEROP=1 but python3 is not installed") }
            print("skipped interop check: python3 not found")
            return
        }
        let (status, out, err) = try runProcess("/usr/bin/env", ["python3", script, dir.path])
        if status == 3 {
            if strict { Issue.record("FAPSIM_REQUIRE_INTEROP=1 but h5py/numpy are missing: \(err)") }
            print("skipped interop check: h5py or numpy not importable (pip install h5py numpy); \(err)")
            return
        }
        #expect(status == 0, "check_files.py failed:\n\(out)\n\(err)")
        guard status == 0 else { return }

        // The state_dict h5py wrote back (keys by name, no creation order) imports
        // to the same tensors, counters and provenance.
        let original = sampleWeights()
        let imported = try WeightsFile.read(path: dir.file("from_h5py.h5"))
        #expect(imported.architecture == original.architecture)
        #expect(imported.width == original.width)
        #expect(imported.batchesTracked == original.batchesTracked)
        #expect(imported.provenance == original.provenance)
        #expect(Dictionary(uniqueKeysWithValues: imported.tensors.map { ($0.name, $0) })
                == Dictionary(uniqueKeysWithValues: original.tensors.map { ($0.name, $0) }))
        // Within each module, state_dict order is restored.
        let features = imported.tensors.map(\.name).filter { $0.hasPrefix("features") }
        #expect(features == original.tensors.map(\.name).filter { $0.hasPrefix("features") })
    }
}
