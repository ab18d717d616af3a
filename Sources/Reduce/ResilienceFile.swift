import Foundation
import FapsimStore
import FapsimSupport

/// A resilience table as a `fapsim.results` file with `content` = "resilience"
/// (layout in docs/reduce.md). Every table is long-format (one row per
/// observation) because results tables hold 1-D columns and pandas pivots long
/// data in one call. Unreached is -1 in int64 epoch columns and NaN in float
/// ones, with `reached_count` beside them, so `df.replace(-1, pd.NA)` is all a
/// script needs.
extension ResilienceTable {
    public static let content = "resilience"
    /// Stored for "unreached" in int64 epoch columns.
    public static let unreachedSentinel: Int64 = -1

    public func resultsFile() -> ResultsFile {
        let p = provenance
        var attributes: [String: AttributeValue] = [
            "weights_checksum": .string(p.weightsChecksum), "weights_file": .string(p.weightsFile),
            "rows": .int(Int64(p.rows)), "cols": .int(Int64(p.cols)), "config_name": .string(p.configName),
            "rate_metric": .string(p.rateMetric), "train_subset": .int(Int64(p.trainSubset)),
            "test_subset": .int(Int64(p.testSubset)),
            // uint64 seeds do not fit the int64 attributes of results files exactly.
            "seed": .string(String(p.seed)),
            "rates": .doubles(rates), "targets": .doubles(targets),
            "repeats": .int(Int64(repeats)), "epochs": .int(Int64(epochs)),
            "unreached_sentinel": .int(Self.unreachedSentinel),
        ]
        if let w = p.networkWidth { attributes["network_width"] = .double(w) }
        var tables = [accuracyTable(), epochsNeededTable(), perRepeatTable()]
        if let m = mapsTable() { tables.append(m) }
        return ResultsFile(content: Self.content, attributes: attributes, tables: tables)
    }

    /// The optional `maps` table: one row per (rate, repeat) fault map with its
    /// faulty PEs (round(rate x rows x cols), as drawn) and its MAC-weighted
    /// pruned share (docs/rate-metric.md). Absent when `weightShare` is nil.
    private func mapsTable() -> ResultsTable? {
        guard let ws = weightShare else { return nil }
        let pes = Double(provenance.rows * provenance.cols)
        var rateIndex: [Int64] = [], rate: [Double] = [], rep: [Int64] = [], faulty: [Int64] = [], share: [Double] = []
        for (r, perRate) in ws.enumerated() {
            for (k, w) in perRate.enumerated() {
                rateIndex.append(Int64(r)); rate.append(rates[r]); rep.append(Int64(k))
                faulty.append(Int64((rates[r] * pes).rounded())); share.append(w)
            }
        }
        return ResultsTable(name: "maps", columns: [
            .int64("rate_index", units: "index", rateIndex),
            .double("fault_rate", units: "1", rate),
            .int64("repeat", units: "index", rep),
            .int64("faulty_pes", units: "count", faulty, description: "round(fault_rate x rows x cols), the PEs drawn faulty"),
            .double("weight_share", units: "1", share,
                    description: "MAC-weighted share of the network's weights this map prunes (PrunedShare.macWeighted)"),
        ], attributes: ["description": .string("one row per (rate, repeat) fault map, rate-major; the weights rate metric")])
    }

    private func accuracyTable() -> ResultsTable {
        var rateIndex: [Int64] = [], rate: [Double] = [], rep: [Int64] = [], epoch: [Int64] = [], acc: [Double] = []
        for (r, perRate) in accuracy.enumerated() {
            for (k, curve) in perRate.enumerated() {
                for (e, a) in curve.enumerated() {
                    rateIndex.append(Int64(r)); rate.append(rates[r]); rep.append(Int64(k)); epoch.append(Int64(e)); acc.append(a)
                }
            }
        }
        return ResultsTable(name: "accuracy", columns: [
            .int64("rate_index", units: "index", rateIndex),
            .double("fault_rate", units: "1", rate),
            .int64("repeat", units: "index", rep),
            .int64("epoch", units: "epochs", epoch, description: "FAT epochs done; 0 = FAP only"),
            .double("accuracy", units: "1", acc, description: "test accuracy (fraction)"),
        ], attributes: ["description": .string("accuracy[rate][repeat][epoch], one row each, rate-major")])
    }

    private func epochsNeededTable() -> ResultsTable {
        var target: [Double] = [], rateIndex: [Int64] = [], rate: [Double] = [], reps: [Int64] = [], reached: [Int64] = []
        var lo: [Int64] = [], mean: [Double] = [], hi: [Int64] = []
        for t in targets {
            for (r, s) in epochsNeeded(target: t).enumerated() {
                target.append(t); rateIndex.append(Int64(r)); rate.append(rates[r])
                reps.append(Int64(repeats)); reached.append(Int64(s.reachedCount))
                lo.append(s.min.map(Int64.init) ?? Self.unreachedSentinel)
                mean.append(s.mean ?? .nan)
                hi.append(s.max.map(Int64.init) ?? Self.unreachedSentinel)
            }
        }
        return ResultsTable(name: "epochs_needed", columns: [
            .double("target", units: "1", target),
            .int64("rate_index", units: "index", rateIndex),
            .double("fault_rate", units: "1", rate),
            .int64("repeats", units: "count", reps),
            .int64("reached_count", units: "count", reached, description: "repeats that reached the target within E epochs"),
            .int64("min_epochs", units: "epochs", lo, description: "-1 = no repeat reached the target"),
            .double("mean_epochs", units: "epochs", mean, description: "NaN = some repeat did not reach the target"),
            .int64("max_epochs", units: "epochs", hi, description: "-1 = some repeat did not reach the target"),
        ], attributes: ["description": .string("epochs needed per (target, rate) over repeats; 0 = FAP alone suffices")])
    }

    private func perRepeatTable() -> ResultsTable {
        var target: [Double] = [], rateIndex: [Int64] = [], rate: [Double] = [], rep: [Int64] = [], needed: [Int64] = []
        for t in targets {
            for (r, s) in epochsNeeded(target: t).enumerated() {
                for (k, e) in s.perRepeat.enumerated() {
                    target.append(t); rateIndex.append(Int64(r)); rate.append(rates[r]); rep.append(Int64(k))
                    needed.append(e.map(Int64.init) ?? Self.unreachedSentinel)
                }
            }
        }
        return ResultsTable(name: "epochs_needed_per_repeat", columns: [
            .double("target", units: "1", target),
            .int64("rate_index", units: "index", rateIndex),
            .double("fault_rate", units: "1", rate),
            .int64("repeat", units: "index", rep),
            .int64("epochs_needed", units: "epochs", needed, description: "-1 = not reached within E epochs"),
        ], attributes: ["description": .string("first epoch whose accuracy >= target, per repeat")])
    }

    /// Writes atomically; refuses to replace `path` unless `force`.
    public func write(path: String, force: Bool) throws {
        try validate(source: path)
        try resultsFile().write(path: path, force: force)
    }

    /// Reads and checks a resilience file: shape and ranges, and that its
    /// stored epochs-needed summary agrees with its accuracy curves (a file
    /// edited by hand or truncated by a bug would otherwise budget silently wrong).
    public static func read(path: String) throws -> ResilienceTable {
        let f = try ResultsReader(path: path, content: content)
        let provenance = ResilienceProvenance(
            weightsChecksum: try f.string("weights_checksum"), weightsFile: try f.string("weights_file"),
            rows: try f.int("rows"), cols: try f.int("cols"), configName: try f.string("config_name"),
            rateMetric: try f.string("rate_metric"), trainSubset: try f.int("train_subset"),
            testSubset: try f.int("test_subset"), seed: try f.uint64("seed"),
            networkWidth: f.file.attributes["network_width"] == nil ? nil : try f.double("network_width"))
        let rates = try f.doubles("rates"), targets = try f.doubles("targets")
        let repeats = try f.int("repeats"), epochs = try f.int("epochs")
        guard !rates.isEmpty else { throw FapsimError("\(path): /: attribute rates: expected at least one fault rate, got an empty list") }
        guard repeats >= 1, epochs >= 0 else {
            throw FapsimError("\(path): /: attributes repeats, epochs: expected >= 1 and >= 0, got \(repeats), \(epochs)")
        }
        let accuracy = try readAccuracy(f, rates: rates, repeats: repeats, epochs: epochs)
        let weightShare = try readWeightShare(f, rates: rates, repeats: repeats)
        let table = try ResilienceTable(rates: rates, repeats: repeats, epochs: epochs, accuracy: accuracy,
                                        targets: targets, provenance: provenance, weightShare: weightShare, source: path)
        try checkSummary(f, against: table)
        return table
    }

    private static func readAccuracy(_ f: ResultsReader, rates: [Double], repeats: Int, epochs: Int) throws -> [[[Double]]] {
        let t = try f.table("accuracy")
        let ri = try f.ints(t, "rate_index"), rate = try f.doubles(t, "fault_rate")
        let rep = try f.ints(t, "repeat"), ep = try f.ints(t, "epoch"), acc = try f.doubles(t, "accuracy")
        let expected = rates.count * repeats * (epochs + 1)
        guard acc.count == expected else {
            throw f.malformed(t, "expected \(expected) rows (\(rates.count) rates x \(repeats) repeats x \(epochs + 1) epochs), got \(acc.count)")
        }
        var out = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: .nan, count: epochs + 1), count: repeats), count: rates.count)
        for i in 0..<acc.count {
            let (r, k, e) = (Int(ri[i]), Int(rep[i]), Int(ep[i]))
            guard (0..<rates.count).contains(r), (0..<repeats).contains(k), (0...epochs).contains(e) else {
                throw f.malformed(t, "row \(i): rate_index \(r), repeat \(k), epoch \(e) out of range")
            }
            guard rate[i] == rates[r] else {
                throw f.malformed(t, "row \(i): fault_rate \(rate[i]) disagrees with rates[\(r)] = \(rates[r])")
            }
            guard out[r][k][e].isNaN else { throw f.malformed(t, "row \(i): (rate \(r), repeat \(k), epoch \(e)) appears twice") }
            out[r][k][e] = acc[i]
        }
        return out
    }

    /// The optional `maps` table as weightShare[rate][repeat]; nil when the
    /// file has none (written before issue 6 item 6, or without weight shares).
    private static func readWeightShare(_ f: ResultsReader, rates: [Double], repeats: Int) throws -> [[Double]]? {
        guard f.file[table: "maps"] != nil else { return nil }
        let t = try f.table("maps")
        let ri = try f.ints(t, "rate_index"), rate = try f.doubles(t, "fault_rate")
        let rep = try f.ints(t, "repeat"), share = try f.doubles(t, "weight_share")
        let expected = rates.count * repeats
        guard share.count == expected else {
            throw f.malformed(t, "expected \(expected) rows (\(rates.count) rates x \(repeats) repeats), got \(share.count)")
        }
        var out = [[Double]](repeating: [Double](repeating: .nan, count: repeats), count: rates.count)
        for i in 0..<share.count {
            let (r, k) = (Int(ri[i]), Int(rep[i]))
            guard (0..<rates.count).contains(r), (0..<repeats).contains(k) else {
                throw f.malformed(t, "row \(i): rate_index \(r), repeat \(k) out of range")
            }
            guard rate[i] == rates[r] else {
                throw f.malformed(t, "row \(i): fault_rate \(rate[i]) disagrees with rates[\(r)] = \(rates[r])")
            }
            guard out[r][k].isNaN else { throw f.malformed(t, "row \(i): (rate \(r), repeat \(k)) appears twice") }
            guard share[i] >= 0 && share[i] <= 1 else {
                throw f.malformed(t, "row \(i): weight_share: expected a pruned share in [0, 1], got \(share[i])")
            }
            out[r][k] = share[i]
        }
        return out
    }

    private static func checkSummary(_ f: ResultsReader, against table: ResilienceTable) throws {
        let t = try f.table("epochs_needed")
        let tg = try f.doubles(t, "target"), ri = try f.ints(t, "rate_index"), reached = try f.ints(t, "reached_count")
        let lo = try f.ints(t, "min_epochs"), mean = try f.doubles(t, "mean_epochs"), hi = try f.ints(t, "max_epochs")
        guard tg.count == table.targets.count * table.rates.count else {
            throw f.malformed(t, "expected \(table.targets.count * table.rates.count) rows (targets x rates), got \(tg.count)")
        }
        for i in 0..<tg.count {
            guard let ti = table.targetIndex(tg[i]), (0..<table.rates.count).contains(Int(ri[i])) else {
                throw f.malformed(t, "row \(i): target \(tg[i]) / rate_index \(ri[i]) not in the file's targets and rates")
            }
            let s = table.epochsNeeded(target: table.targets[ti])[Int(ri[i])]
            let agrees = reached[i] == Int64(s.reachedCount)
                && lo[i] == (s.min.map(Int64.init) ?? unreachedSentinel)
                && hi[i] == (s.max.map(Int64.init) ?? unreachedSentinel)
                && (s.mean.map { abs($0 - mean[i]) <= 1e-9 } ?? mean[i].isNaN)
            guard agrees else {
                throw f.malformed(t, "row \(i) (target \(tg[i]), rate \(table.rates[Int(ri[i])])) disagrees with the accuracy table")
            }
        }
    }
}
