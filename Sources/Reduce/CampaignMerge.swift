import Foundation
import FapsimStore
import FapsimSupport

/// `fapsim merge`: partial campaign files of one run (from `fapsim reduce
/// --chips A-B`) into one. Parts must share the run's identity (the `run_*`
/// attributes), cover disjoint chips and, unless a partial merge is allowed,
/// every chip of the lot together. The result equals one run over the union of
/// their chips: rows in chip order (policies in the run's order within a chip),
/// curves in chip order, attributes of the parts with `chips` and `partial`
/// describing the union.
public enum CampaignMerge {
    public static func merge(parts: [String], allowPartial: Bool) throws -> CampaignResults {
        guard !parts.isEmpty else { throw FapsimError("merge: expected at least one partial campaign file") }
        let results = try parts.map { try CampaignResults.read(path: $0) }
        let first = results[0]
        let firstID = WorkDir.identity(of: first.attributes)
        guard !firstID.isEmpty else {
            throw FapsimError("\(parts[0]): /: no run_* attributes: not a campaign file written by fapsim reduce, so it cannot be checked against the other parts")
        }
        for (i, r) in results.enumerated().dropFirst() {
            let id = WorkDir.identity(of: r.attributes)
            for key in Set(id.keys).union(firstID.keys).sorted() where id[key] != firstID[key] {
                throw FapsimError("\(parts[i]): run_\(key): parts of different runs (\(key) \(firstID[key] ?? "unset") in \(parts[0]), \(id[key] ?? "unset") in \(parts[i])); merge only the parts of one fapsim reduce run")
            }
            guard r.target == first.target, r.policies == first.policies else {
                throw FapsimError("\(parts[i]): target/policies: \(r.target) \(r.policies) differ from \(parts[0])'s \(first.target) \(first.policies)")
            }
        }
        // Disjoint chip sets.
        var owner: [Int: Int] = [:]
        for (i, r) in results.enumerated() {
            var clash: [Int: [Int]] = [:]
            for c in r.chips {
                if let j = owner[c] { clash[j, default: []].append(c) } else { owner[c] = i }
            }
            if let (j, chips) = clash.min(by: { $0.key < $1.key }) {
                throw FapsimError("overlapping chip ranges: chips \(UnitIndices.compress(chips)) are in both \(parts[j]) and \(parts[i])")
            }
        }
        let union = owner.keys.sorted()
        let lotChips: Int? = {
            if case .int(let n)? = first.attributes[CampaignResults.lotChipsAttribute] { return Int(n) }
            return nil
        }()
        var missing: [Int] = []
        if let n = lotChips {
            let have = Set(union)
            missing = (0..<n).filter { !have.contains($0) }
            if !missing.isEmpty && !allowPartial {
                throw FapsimError("incomplete merge: chips \(UnitIndices.compress(missing)) of the lot's \(n) are in none of the \(parts.count) parts (run fapsim reduce --chips \(UnitIndices.compress(missing)) for them, or pass --allow-partial)")
            }
        }
        // Rows and curves in chip order, each chip's own order kept.
        let rows = results.flatMap(\.rows).enumerated().sorted { ($0.element.chip, $0.offset) < ($1.element.chip, $1.offset) }.map(\.element)
        let curves = results.flatMap(\.curves).enumerated().sorted { ($0.element.chip, $0.offset) < ($1.element.chip, $1.offset) }.map(\.element)
        var attrs = first.attributes
        attrs[CampaignResults.chipsAttribute] = .string(UnitIndices.compress(union))
        attrs[CampaignResults.partialAttribute] = .int(lotChips == nil || !missing.isEmpty ? 1 : 0)
        // The parts' costs add up (files before these attributes have none).
        for key in ["train_images_spent", "eval_images_spent"] where first.attributes[key] != nil {
            attrs[key] = .int(results.reduce(0) { sum, r in
                if case .int(let n)? = r.attributes[key] { return sum + n }
                return sum
            })
        }
        return try CampaignResults(target: first.target, rows: rows, curves: curves, attributes: attrs, source: "merge of \(parts.joined(separator: ", "))")
    }
}
