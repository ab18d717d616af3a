import Testing
import FapsimSupport
@testable import Reduce

/// The accuracy constraint: an absolute target, or a drop from each split's
/// own fault-free baseline, and its one-line errors.
struct AccuracyConstraintTests {
    func message(_ target: Double?, _ below: Double?) -> String {
        do {
            _ = try AccuracyConstraint.parse(target: target, belowBaseline: below)
            return ""
        } catch let e as FapsimError {
            return e.message
        } catch {
            return "\(error)"
        }
    }

    @Test func parsesExactlyOneConstraint() throws {
        #expect(try AccuracyConstraint.parse(target: 0.8, belowBaseline: nil) == .absolute(0.8))
        #expect(try AccuracyConstraint.parse(target: nil, belowBaseline: 0.06) == .belowBaseline(0.06))
        #expect(message(0.8, 0.06).hasPrefix("--target/--below-baseline: expected one accuracy constraint"))
        #expect(message(nil, nil).hasPrefix("--target/--below-baseline: missing accuracy constraint"))
        for d in [0.0, 1.0, -0.1, 1.5, .nan] {
            #expect(message(nil, d).hasPrefix("--below-baseline: expected accuracy points in (0, 1)"), "\(d)")
        }
        #expect(message(0, nil).hasPrefix("--target: expected an accuracy fraction in (0, 1]"))
        for m in [message(0.8, 0.06), message(nil, 1.0), message(nil, nil)] { #expect(!m.contains("\n")) }
    }

    /// b - d to 9 decimals: an accuracy exactly d under the baseline meets it.
    @Test func aDropIsMeasuredFromEachSplitsBaseline() throws {
        let c = AccuracyConstraint.belowBaseline(0.06)
        // 0.8276 - 0.06 = 0.7676000000000001 in doubles; 3838 / 5000 = 0.7676 must meet it.
        #expect(0.8276 - 0.06 > 3838.0 / 5000.0)
        #expect(c.threshold(baseline: 4138.0 / 5000.0) == 0.7676)
        #expect(3838.0 / 5000.0 >= c.threshold(baseline: 4138.0 / 5000.0))
        #expect(c.threshold(baseline: 0.8155) == 0.7555)
        // An absolute target is the same number on every split.
        #expect(AccuracyConstraint.absolute(0.765).threshold(baseline: 0.8276) == 0.765)
        #expect(AccuracyConstraint.absolute(0.765).threshold(baseline: 0.8155) == 0.765)
        // A drop as large as the baseline leaves nothing to reach; an absolute target above it is refused.
        #expect(throws: FapsimError.self) { try AccuracyConstraint.belowBaseline(0.3).checkedThreshold(baseline: 0.25, weights: "w.h5", images: "x") }
        #expect(throws: FapsimError.self) { try AccuracyConstraint.absolute(0.9).checkedThreshold(baseline: 0.85, weights: "w.h5", images: "x") }
        // The identity keeps `target` for absolute targets (earlier work directories resume).
        #expect(AccuracyConstraint.absolute(0.765).identity.key == "target")
        #expect(c.identity.key == "below_baseline")
    }
}
