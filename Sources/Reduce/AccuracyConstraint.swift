import Foundation
import FapsimStore
import FapsimSupport

/// The accuracy constraint a retrained chip must meet.
///
/// `absolute(T)`: accuracy >= T on whichever images are looked at, the same
/// number for the budgets (on the curve set) and for the judging (on the test
/// set). `belowBaseline(d)`: accuracy >= the fault-free network's accuracy on
/// the same images - d, each split against its own baseline: budgets decide on
/// validation accuracy >= validation baseline - d, chips are judged on test
/// accuracy >= test baseline - d. The paired form cancels how hard a split is,
/// which is common to the baseline and every chip (docs/reduce.md, "The
/// accuracy constraint"): a validation split 1.2 points easier than the test
/// set otherwise leaves every chip budgeted to just reach T on validation
/// 1.2 points short on test.
public enum AccuracyConstraint: Equatable, Sendable {
    case absolute(Double)
    case belowBaseline(Double)

    /// `--target T` or `--below-baseline D` (exactly one); errors are one line naming the flag.
    /// `targetFlag` names the absolute form's option in the messages
    /// (`--target` for Reduce, `--min-accuracy` for `mitigate compare`).
    public static func parse(target: Double?, belowBaseline: Double?, targetFlag: String = "--target") throws -> AccuracyConstraint {
        switch (target, belowBaseline) {
        case (.some, .some):
            throw FapsimError("\(targetFlag)/--below-baseline: expected one accuracy constraint, an absolute \(targetFlag) T or a drop --below-baseline D from the fault-free baseline, got both")
        case (nil, nil):
            throw FapsimError("\(targetFlag)/--below-baseline: missing accuracy constraint; give \(targetFlag) T (e.g. 0.85) or --below-baseline D (e.g. 0.06: 6 points under the fault-free baseline)")
        case (let t?, nil):
            guard t > 0, t <= 1 else {
                throw FapsimError.invalid(file: nil, field: targetFlag, expected: "an accuracy fraction in (0, 1] (0.85 = 85 %)", got: "\(t)")
            }
            return .absolute(t)
        case (nil, let d?):
            guard d > 0, d < 1 else {
                throw FapsimError.invalid(file: nil, field: "--below-baseline", expected: "accuracy points in (0, 1) under the fault-free baseline (0.06 = 6 points)", got: "\(d)")
            }
            return .belowBaseline(d)
        }
    }

    /// The accuracy a chip must reach on images where the fault-free network
    /// scores `baseline`. b - d is rounded to 9 decimals, so that an
    /// accuracy exactly d under the baseline (correct / n, which IEEE
    /// division rounds like the decimal) meets it despite the binary
    /// subtraction (0.8276 - 0.06 is 0.7676000000000001 in doubles).
    public func threshold(baseline: Double) -> Double {
        switch self {
        case .absolute(let t): return t
        case .belowBaseline(let d): return ((baseline - d) * 1e9).rounded() / 1e9
        }
    }

    /// The threshold on images with fault-free accuracy `baseline`, refused
    /// when it is not an accuracy a chip could reach (`what` names the images).
    public func checkedThreshold(baseline: Double, weights: String, images what: String) throws -> Double {
        let t = threshold(baseline: baseline)
        switch self {
        case .absolute:
            guard t <= baseline else {
                throw FapsimError("--target: \(t) is above the fault-free baseline accuracy \(baseline) of \(weights) on \(what); no retraining budget can be expected to reach it")
            }
        case .belowBaseline(let d):
            guard t > 0 else {
                throw FapsimError("--below-baseline: \(d) is not under the fault-free baseline accuracy \(baseline) of \(weights) on \(what); expected fewer points than the baseline")
            }
        }
        return t
    }

    /// The run-identity field of the constraint: `target` as before for an
    /// absolute one (so earlier work directories resume), `below_baseline`
    /// for a drop (its thresholds follow from the weights and splits, which
    /// the identity holds already).
    public var identity: (key: String, value: String) {
        switch self {
        case .absolute(let t): return ("target", WorkDir.text(t))
        case .belowBaseline(let d): return ("below_baseline", WorkDir.text(d))
        }
    }

    /// The drop d, nil for an absolute target.
    public var pointsBelow: Double? {
        if case .belowBaseline(let d) = self { return d }
        return nil
    }
}
