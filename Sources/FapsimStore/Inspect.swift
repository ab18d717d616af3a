import Foundation
import HDF5Kit
import FapsimSupport

/// What `fapsim inspect` says about a file: a few readable lines, and the same
/// facts as a JSON-serialisable dictionary for scripts.
public struct InspectReport {
    /// "lot", "weights", "results" or "pytorch-state_dict".
    public var kind: String
    /// The `schema` attribute (nil for a PyTorch state_dict file).
    public var schema: String?
    public var schemaVersion: Int64?
    public var lines: [String]
    /// Sorted-key JSON via `JSONOutput.string(report.json)`.
    public var json: [String: Any]

    /// Which fapsim wrote the file, as the line after the title and as
    /// `fapsim_version` in the JSON. A fapsim file without the attribute
    /// predates it; a PyTorch file without it was written by another tool
    /// and gets no line.
    mutating func recordWriter(_ writer: String?, fapsimSchema: Bool) {
        let line: String
        if let writer {
            json[Schema.writerAttribute] = writer
            line = "  written by fapsim \(writer)"
        } else if fapsimSchema {
            line = "  written by a fapsim without version stamps (no \(Schema.writerAttribute) attribute)"
        } else {
            return
        }
        lines.insert(line, at: min(1, lines.count))
    }
}

public enum FapsimInspect {
    /// Identifies and summarises a fapsim (or docs/conventions.md §4 PyTorch) file.
    /// Every problem is a one-line error naming the file and object.
    public static func inspect(path: String) throws -> InspectReport {
        let identified: (kind: FapsimFileKind, version: Int64)?
        let writer: String?
        do {
            let file = try H5File.open(path)
            identified = try Schema.identify(file)
            writer = try Schema.writer(of: file)
        }
        var report: InspectReport
        if let (kind, version) = identified {
            switch kind {
            case .lot: report = try lot(path: path, version: version)
            case .weights: report = try weights(path: path, version: version)
            case .results: report = try results(path: path, version: version)
            case .checkpoint: report = try checkpoint(path: path, version: version)
            case .quantized: report = try quantized(path: path, version: version)
            }
        } else {
            report = try weights(path: path, version: nil)
        }
        report.recordWriter(writer, fapsimSchema: identified != nil)
        return report
    }

    private static func lot(path: String, version: Int64) throws -> InspectReport {
        let reader = try ChipLotReader(path: path)
        let info = reader.info
        let file = try H5File.open(path)
        let maps = try file.openDataset(ChipLotFile.faultMaps)
        let storage = maps.chunkShape.map { "chunked \(shape($0)) \(maps.filters.joined(separator: "+"))" } ?? "contiguous"
        let params = info.generatorParameters.sorted { $0.key < $1.key }
        var lines = [
            "\(path): fapsim chip lot (schema fapsim.lot v\(version))",
            "  \(info.chipCount) chips of \(info.rows) x \(info.cols) PEs; fault_maps uint8 \(shape(maps.shape)) \(storage)",
        ]
        if let r = info.faultRateRange, let mean = info.meanFaultRate {
            lines.append(String(format: "  fault rate %.4f .. %.4f (mean %.4f)", r.lowerBound, r.upperBound, mean))
        }
        let paramText = params.isEmpty ? "" : " (" + params.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
        lines.append("  generator \(info.generator)\(paramText), lot seed \(info.lotSeed)")
        var repaired: [Int64]?
        if let layout = info.spareLayout {
            if file.kind(of: ChipLotFile.faultsRepaired) != nil {
                repaired = try file.openDataset(ChipLotFile.faultsRepaired, expecting: .int64, rank: 1, shape: [info.chipCount]).read(Int64.self)
            }
            lines.append("  mitigation spares, spare_layout \(layout.description) (\(layout.spareCount(rows: info.rows, cols: info.cols)) spare PEs per chip)"
                         + (repaired.map { ", faults_repaired \($0.reduce(0, +)) over the lot" } ?? ""))
        } else if info.mitigation != .fap {
            lines.append("  mitigation \(info.mitigation.rawValue)")
        }
        if reader.hasFaultKinds {
            lines.append("  fault kinds: every faulty PE unmitigated, stuck bits \(info.stuckBits ?? "(distribution not recorded)")")
        }
        var json: [String: Any] = [
            "path": path, "kind": "lot", "schema": FapsimFileKind.lot.rawValue, "schema_version": version,
            "rows": info.rows, "cols": info.cols, "chips": info.chipCount,
            "generator": info.generator, "generator_parameters": Dictionary(uniqueKeysWithValues: params.map { ($0.key, $0.value) }),
            "lot_seed": info.lotSeed,
        ]
        if let bits = info.stuckBits { json["stuck_bits"] = bits }
        json["mitigation"] = info.mitigation.rawValue
        if let layout = info.spareLayout { json["spare_layout"] = layout.description }
        if let repaired { json["faults_repaired"] = repaired.map { Int($0) } }
        if let r = info.faultRateRange, let mean = info.meanFaultRate {
            json["fault_rate_min"] = r.lowerBound
            json["fault_rate_max"] = r.upperBound
            json["fault_rate_mean"] = mean
        }
        return InspectReport(kind: "lot", schema: FapsimFileKind.lot.rawValue, schemaVersion: version, lines: lines, json: json)
    }

    private static func weights(path: String, version: Int64?) throws -> InspectReport {
        let w = try WeightsFile.read(path: path)
        let kind = version == nil ? "pytorch-state_dict" : "weights"
        let title = version.map { "fapsim weights (schema fapsim.weights v\($0))" }
            ?? "PyTorch state_dict in HDF5 (docs/conventions.md §4 layout, no fapsim schema)"
        var lines = [
            "\(path): \(title)",
            "  \(w.architecture) width \(w.width): \(w.tensors.count) tensors, \(w.parameterCount) values, \(w.batchesTracked.count) BN counters",
        ]
        let p = w.provenance
        if let acc = p.testAccuracy { lines.append(String(format: "  test accuracy %.2f %%", acc * 100)) }
        var from: [String] = []
        if let f = p.parentFile { from.append("parent \(f)" + (p.parentChecksum.map { " (checksum \($0))" } ?? "")) }
        if let c = p.chipIndex { from.append("chip \(c)" + (p.faultMapChecksum.map { " (fault map \($0))" } ?? "")) }
        if let e = p.fatEpochs { from.append("\(e) FAT epochs") }
        if !from.isEmpty { lines.append("  provenance: " + from.joined(separator: ", ")) }
        if let n = p.notes { lines.append("  notes: \(n)") }
        var provenance: [String: Any] = [:]
        if let v = p.parentFile { provenance["parent_file"] = v }
        if let v = p.parentChecksum { provenance["parent_checksum"] = v }
        if let v = p.chipIndex { provenance["chip_index"] = v }
        if let v = p.faultMapChecksum { provenance["fault_map_checksum"] = v }
        if let v = p.fatEpochs { provenance["fat_epochs"] = v }
        if let v = p.testAccuracy { provenance["test_accuracy"] = v }
        if let v = p.notes { provenance["notes"] = v }
        var json: [String: Any] = [
            "path": path, "kind": kind, "architecture": w.architecture, "width": w.width,
            "tensors": Dictionary(uniqueKeysWithValues: w.tensors.map { ($0.name, $0.shape) }),
            "values": w.parameterCount, "batches_tracked": w.batchesTracked, "provenance": provenance,
        ]
        if let version {
            json["schema"] = FapsimFileKind.weights.rawValue
            json["schema_version"] = version
        }
        return InspectReport(kind: kind, schema: version == nil ? nil : FapsimFileKind.weights.rawValue,
                             schemaVersion: version, lines: lines, json: json)
    }

    private static func results(path: String, version: Int64) throws -> InspectReport {
        let r = try ResultsFile.read(path: path)
        var lines = ["\(path): fapsim results (schema fapsim.results v\(version)), content \(r.content)"]
        for (key, value) in r.attributes.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(key): \(value)")
        }
        var tables: [String: Any] = [:]
        for t in r.tables {
            let cols = t.columns.map { "\($0.name) [\($0.units)]" }.joined(separator: ", ")
            lines.append("  table \(t.name): \(t.rowCount) rows; \(cols)")
            tables[t.name] = [
                "rows": t.rowCount,
                "columns": t.columns.map { ["name": $0.name, "units": $0.units, "dtype": $0.values.dtypeName] },
            ] as [String: Any]
        }
        // A mitigation comparison is read through its own kind, so inspect
        // checks it and says what it found, not just its tables.
        if r.content == MitigationComparisonFile.content {
            let c = try MitigationComparisonFile.read(path: path)
            let chips = Set(c.rows.map(\.chip)).count
            lines.append("  mitigation comparison: \(chips) chips x \(c.summary.count) mitigations; chips meeting both constraints: "
                         + c.summary.map { "\($0.mitigation) \($0.meeting)/\($0.chips)" }.joined(separator: ", "))
            lines.append("  array area vs FAP: " + c.summary.map { "\($0.mitigation) \($0.areaText)" }.joined(separator: ", "))
        }
        let json: [String: Any] = [
            "path": path, "kind": "results", "schema": FapsimFileKind.results.rawValue, "schema_version": version,
            "content": r.content, "attributes": r.attributes.mapValues(\.jsonValue), "tables": tables,
        ]
        return InspectReport(kind: "results", schema: FapsimFileKind.results.rawValue, schemaVersion: version,
                             lines: lines, json: json)
    }

    /// A quantized network: its layers, scales and calibration.
    private static func quantized(path: String, version: Int64) throws -> InspectReport {
        let q = try QuantizedWeightsFile.read(path: path)
        var lines = ["\(path): fapsim int8 quantized network (schema fapsim.quantized v\(version)), \(q.architecture) width \(q.width), \(q.layers.count) GEMM layers, calibrated on \(q.calibrationImages) training images"]
        for l in q.layers {
            lines.append("  \(l.name): int8 \(l.k) x \(l.n), input scale \(l.inputScale)")
        }
        let json: [String: Any] = [
            "path": path, "kind": "quantized", "schema": FapsimFileKind.quantized.rawValue, "schema_version": version,
            "architecture": q.architecture, "width": q.width, "calibration_images": q.calibrationImages,
            "layers": q.layers.map { ["name": $0.name, "k": $0.k, "n": $0.n, "input_scale": Double($0.inputScale)] as [String: Any] },
        ]
        return InspectReport(kind: "quantized", schema: FapsimFileKind.quantized.rawValue, schemaVersion: version,
                             lines: lines, json: json)
    }

    /// A training checkpoint: the run identity and how far it got.
    private static func checkpoint(path: String, version: Int64) throws -> InspectReport {
        let file = try H5File.open(path)
        var identity: [String: String] = [:]
        for name in try file.attributeNames() where name.hasPrefix("run_") {
            identity[String(name.dropFirst(4))] = try file.stringAttribute(name)
        }
        let epochs = try file.attribute("epochs_done", as: Int64.self)
        let steps = try file.attribute("steps_taken", as: Int64.self)
        var lines = ["\(path): fapsim training checkpoint (schema fapsim.checkpoint v\(version)), \(epochs) epochs done, \(steps) steps"]
        for (k, v) in identity.sorted(by: { $0.key < $1.key }) { lines.append("  \(k): \(v)") }
        let json: [String: Any] = [
            "path": path, "kind": "checkpoint", "schema": FapsimFileKind.checkpoint.rawValue, "schema_version": version,
            "epochs_done": epochs, "steps_taken": steps, "run": identity,
        ]
        return InspectReport(kind: "checkpoint", schema: FapsimFileKind.checkpoint.rawValue, schemaVersion: version,
                             lines: lines, json: json)
    }

    private static func shape(_ s: [Int]) -> String {
        "[" + s.map(String.init).joined(separator: ", ") + "]"
    }
}
