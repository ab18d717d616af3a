import Foundation
import FapsimSupport

/// Unit and chip index lists in Slurm's array syntax (`3`, `0-4,7`), as the
/// `--units` and `--chips` options take them and as error messages print them.
public enum UnitIndices {
    /// Sorted, de-duplicated indices as ranges: [0,1,2,3,4,7] -> "0-4,7".
    public static func compress(_ indices: [Int]) -> String {
        let sorted = Array(Set(indices)).sorted()
        var parts: [String] = []
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(j == i ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// "0-4,7" -> [0, 1, 2, 3, 4, 7] (sorted, de-duplicated), every index in
    /// 0..<count; errors name `field` and say what was expected.
    public static func parse(_ text: String, field: String, count: Int) throws -> [Int] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else {
            throw FapsimError.invalid(file: nil, field: field, expected: "a list of indices such as 3 or 0-4,7", got: "an empty list")
        }
        var out = Set<Int>()
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard (1...2).contains(ends.count), let a = Int(ends[0]), a >= 0,
                  let b = ends.count == 2 ? Int(ends[1]) : a, b >= a else {
                throw FapsimError.invalid(file: nil, field: field, expected: "indices or ranges A-B with A <= B, separated by commas (e.g. 0-4,7)", got: "\"\(part)\" in \"\(text)\"")
            }
            guard b < count else {
                throw FapsimError.invalid(file: nil, field: field, expected: "indices in 0-\(count - 1) (\(count) in all)", got: "\(b)")
            }
            out.formUnion(a...b)
        }
        return out.sorted()
    }
}

/// What `--list-units --json` prints (the unit contract of docs/reduce.md):
/// the command, how many units the run has, which are finished and which are
/// not, and the final output path.
public struct UnitProgress: Equatable, Sendable {
    public var command: String
    public var units: Int
    public var done: [Int]
    public var out: String

    public init(command: String, units: Int, done: [Int], out: String) {
        self.command = command
        self.units = units
        self.done = done.sorted()
        self.out = out
    }

    public var missing: [Int] {
        let d = Set(done)
        return (0..<units).filter { !d.contains($0) }
    }

    public var json: [String: Any] {
        ["command": command, "units": units, "done": done, "missing": missing, "out": out]
    }

    /// The one-line error of `--merge-only` when units are missing, e.g.
    /// `res.h5: 3 of 8 units missing: 2,5-6`.
    public func requireComplete() throws {
        let m = missing
        guard m.isEmpty else {
            throw FapsimError("\(out): \(m.count) of \(units) units missing: \(UnitIndices.compress(m)) (compute them with --units \(UnitIndices.compress(m)), then --merge-only)")
        }
    }
}
