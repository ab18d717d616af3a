import Foundation
import FapsimStore
import FapsimSupport
import Network

/// A resilience table as the store's `ResilienceFile` (content "resilience",
/// layout in docs/reduce.md): the table gives the values and the epochs-needed
/// summary; the store writes and reads the layout.
extension ResilienceTable {
    public static let content = ResilienceFile.content
    /// Stored for "unreached" in int64 epoch columns.
    public static let unreachedSentinel = ResilienceFile.unreachedSentinel

    /// The table in the store's layout, with `extraAttributes` (baseline, FAT
    /// settings, ...) beside it.
    public func file(extraAttributes: [String: AttributeValue] = [:]) -> ResilienceFile {
        let p = provenance
        var extraAttributes = extraAttributes
        // The split is part of the table: a rewrite keeps it.
        extraAttributes["curve_split"] = .string(p.curveSplit)
        extraAttributes.merge(p.validationAttributes) { _, b in b }
        let summary = targets.flatMap { t in
            needed(target: t).enumerated().map { r, s in
                ResilienceFile.Summary(target: t, rateIndex: r, reachedCount: s.reachedCount, min: s.min, mean: s.mean,
                                       max: s.max, perRepeat: s.perRepeat)
            }
        }
        return ResilienceFile(weightsChecksum: p.weightsChecksum, weightsFile: p.weightsFile, rows: p.rows, cols: p.cols,
                              configName: p.configName, rateMetric: p.rateMetric, trainSubset: p.trainSubset,
                              testSubset: p.testSubset, seed: p.seed, networkWidth: p.networkWidth, rates: rates,
                              targets: targets, repeats: repeats, epochs: epochs, accuracy: accuracy,
                              weightShare: weightShare, summary: summary, extraAttributes: extraAttributes, amounts: amounts)
    }

    public func resultsFile() -> ResultsFile { file().resultsFile() }

    /// Writes atomically; refuses to replace `path` unless `force`.
    public func write(path: String, force: Bool) throws {
        try validate(source: path)
        try file().write(path: path, force: force)
    }

    /// Reads and checks a resilience file: the store checks the structure,
    /// the table the ranges and that the stored epochs-needed summary agrees
    /// with the accuracy curves (a file edited by hand or truncated by a bug
    /// would otherwise budget silently wrong).
    public static func read(path: String) throws -> ResilienceTable {
        let f = try ResilienceFile.read(path: path)
        var provenance = ResilienceProvenance(
            weightsChecksum: f.weightsChecksum, weightsFile: f.weightsFile, rows: f.rows, cols: f.cols,
            configName: f.configName, rateMetric: f.rateMetric, trainSubset: f.trainSubset, testSubset: f.testSubset,
            seed: f.seed, networkWidth: f.networkWidth, validationSubset: try f.validationSplit(path: path)?.size)
        switch f.extraAttributes["validation_source"] {
        case nil: break
        case .string(let s)? where HeldOutSplits.ValidationSource(rawValue: s) != nil:
            provenance.validationSource = HeldOutSplits.ValidationSource(rawValue: s)!
        case let other?:
            throw FapsimError.invalid(file: path, field: "/: attribute validation_source", expected: "\"train\" or \"test\"", got: "\(other)")
        }
        let table = try ResilienceTable(rates: f.rates, repeats: f.repeats, epochs: f.epochs, accuracy: f.accuracy,
                                        targets: f.targets, provenance: provenance, weightShare: f.weightShare,
                                        amounts: f.amounts, source: path)
        for (i, row) in f.summary.enumerated() {
            let at = "\(path): /\(table.unit)_needed: row \(i)"
            guard let ti = table.targetIndex(row.target) else {
                throw FapsimError("\(at): target \(row.target) / rate_index \(row.rateIndex) not in the file's targets and rates")
            }
            let s = table.needed(target: table.targets[ti])[row.rateIndex]
            let agrees = row.reachedCount == s.reachedCount && row.min == s.min && row.max == s.max
                && (s.mean.map { m in row.mean.map { abs(m - $0) <= 1e-9 } ?? false } ?? (row.mean == nil))
            guard agrees else {
                throw FapsimError("\(at) (target \(row.target), rate \(table.rates[row.rateIndex])) disagrees with the accuracy table")
            }
        }
        return table
    }
}
