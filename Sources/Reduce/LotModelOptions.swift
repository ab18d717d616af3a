import Foundation
import FapsimSupport

/// The fault-model options of `fapsim lot generate` as the user gave them, turned
/// into a model with one-line errors that name the option and what was expected.
/// Kept out of the CLI module so the checks are tested directly.
public struct LotModelOptions: Equatable, Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case uniform, fixed, clustered
    }

    public var model: String
    public var rateRange: String?
    public var rate: Double?
    public var alpha: Double?
    public var meanDefects: Double?
    public var clusterRadius: Double?

    public init(model: String, rateRange: String? = nil, rate: Double? = nil, alpha: Double? = nil,
                meanDefects: Double? = nil, clusterRadius: Double? = nil) {
        self.model = model
        self.rateRange = rateRange
        self.rate = rate
        self.alpha = alpha
        self.meanDefects = meanDefects
        self.clusterRadius = clusterRadius
    }

    /// The model for an array of `rows` x `cols` PEs (the clustered model's
    /// `--rate` is converted to defects per chip with the array's size).
    public func makeModel(rows: Int, cols: Int) throws -> any ChipFaultModel {
        guard let kind = Kind(rawValue: model) else {
            throw FapsimError("--model: expected one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(model)'")
        }
        switch kind {
        case .uniform:
            try refuse(["--rate": rate != nil, "--alpha": alpha != nil, "--mean-defects": meanDefects != nil,
                        "--cluster-radius": clusterRadius != nil], for: kind, takes: "--rate-range A:B")
            guard let rateRange else {
                throw FapsimError("--rate-range: required by --model uniform (expected A:B, the range each chip's fault rate is drawn from, e.g. 0.01:0.1)")
            }
            let (a, b) = try Self.parseRange(rateRange)
            return try UniformRateModel(rateMin: a, rateMax: b)
        case .fixed:
            try refuse(["--rate-range": rateRange != nil, "--alpha": alpha != nil, "--mean-defects": meanDefects != nil,
                        "--cluster-radius": clusterRadius != nil], for: kind, takes: "--rate P")
            guard let rate else {
                throw FapsimError("--rate: required by --model fixed (expected the fault rate P in [0, 1] every chip gets)")
            }
            return try FixedRateModel(rate: rate)
        case .clustered:
            try refuse(["--rate-range": rateRange != nil], for: kind,
                       takes: "--alpha A, --cluster-radius R and one of --mean-defects D or --rate P")
            guard let alpha else {
                throw FapsimError("--alpha: required by --model clustered (expected the clustering parameter, a number > 0; smaller clusters defects into fewer chips)")
            }
            guard let clusterRadius else {
                throw FapsimError("--cluster-radius: required by --model clustered (expected a radius in PE pitches >= 0; 0 = one PE per defect)")
            }
            switch (meanDefects, rate) {
            case let (d?, nil):
                return try ClusteredDefectModel(meanDefects: d, alpha: alpha, clusterRadius: clusterRadius)
            case let (nil, p?):
                return try ClusteredDefectModel.forRate(p, rows: rows, cols: cols, alpha: alpha, clusterRadius: clusterRadius)
            case (nil, nil):
                throw FapsimError("--mean-defects: required by --model clustered (expected defects per chip D >= 0), or give --rate P instead")
            case (_?, _?):
                throw FapsimError("--mean-defects: expected either --mean-defects D or --rate P for --model clustered, not both")
            }
        }
    }

    private func refuse(_ given: [String: Bool], for kind: Kind, takes: String) throws {
        if let option = given.filter(\.value).keys.sorted().first {
            throw FapsimError("\(option): not used by --model \(kind.rawValue) (expected \(takes))")
        }
    }

    /// "A:B" as two numbers (range checks are the model's).
    public static func parseRange(_ text: String) throws -> (Double, Double) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let a = Double(parts[0].trimmingCharacters(in: .whitespaces)),
              let b = Double(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw FapsimError("--rate-range: expected A:B, two fault rates in [0, 1] with A <= B (e.g. 0.01:0.1), got '\(text)'")
        }
        return (a, b)
    }
}
