import Foundation
import Testing
import FapsimSupport
import FapsimTestSupport
@testable import Reduce

/// The campaign YAML (`fapsim campaign run`): the committed campaigns parse
/// to what they say, and every damaged file is one line naming the file and
/// the field's dotted path.
@Suite struct CampaignSpecTests {
    static let valid = """
    out: out/x
    config: hw-configs/small-8x8.yaml
    weights:
      train: {width: 0.25, epochs: 3}
    lot: {chips: 4, seed: 7, model: uniform, rate_range: [0.02, 0.3]}
    resilience: {rates: [0.1, 0.2], repeats: 2, epochs: 3}
    fat: {train_subset: 500, test_subset: 400, lr: 0.02, schedule: constant, batch: 64, conv_algorithm: gemm, momentum: 0.8, weight_decay: 0.0001, nesterov: true, augment: false}
    targets: {below_baseline: [0.04, 0.02], campaign_index: 1}
    reduce: {policies: [max], fixed: [1, 2], interpolate: true}
    seed: 11

    """

    func parse(_ text: String) throws -> CampaignSpec { try CampaignSpec.parse(yaml: text, file: "c.yaml") }

    /// The message of the error `text` raises.
    func failure(_ text: String) -> String {
        do {
            _ = try parse(text)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    /// `valid` with the line starting `prefix` replaced by `line` (or dropped when nil).
    func edited(_ prefix: String, _ line: String?) -> String {
        Self.valid.split(separator: "\n", omittingEmptySubsequences: false).compactMap { l -> String? in
            l.hasPrefix(prefix) ? line : String(l)
        }.joined(separator: "\n")
    }

    @Test func parsesEveryField() throws {
        let s = try parse(Self.valid)
        #expect(s.out == "out/x" && s.config == "hw-configs/small-8x8.yaml" && s.data == nil)
        #expect(s.weights == .train(width: 0.25, epochs: 3, seed: 0))
        #expect(s.lot.chips == 4 && s.lot.seed == 7 && s.lot.model == "uniform")
        #expect(s.lot.options.rateRange == "0.02:0.3")
        #expect(s.rates == [0.1, 0.2] && s.repeats == 2 && s.resilienceEpochs == 3)
        #expect(s.fat == CampaignSpec.FAT(trainSubset: 500, testSubset: 400, lr: 0.02, schedule: "constant", batch: 64, convAlgorithm: "gemm",
                                          momentum: 0.8, weightDecay: 0.0001, nesterov: true, augment: false))
        #expect(s.targetsBelowBaseline == [0.04, 0.02] && s.campaignTargetIndex == 1)
        #expect(s.policies == ["max"] && s.fixed == [1, 2] && s.interpolate && s.rateMetric == "pe" && s.seed == 11)
        let c = try parse(Self.valid.replacingOccurrences(of: "policies: [max]", with: "policies: [max, confidence], confidence: 0.9"))
        #expect(c.policies == ["max", "confidence"] && c.confidence == 0.9)
    }

    @Test func committedCampaignsParse() throws {
        let demo = try CampaignSpec.load(path: TestPaths.packageRoot + "/campaigns/demo.yaml")
        #expect(demo.weights == .train(width: 0.25, epochs: 15, seed: 0))
        #expect(demo.lot.chips == 10 && demo.rates == [0.05, 0.1, 0.15, 0.2, 0.25] && demo.repeats == 3)
        #expect(demo.resilienceAmounts == [0, 250, 500, 1000, 2000, 4000, 8000, 16000] && demo.resilienceEpochs == 0)
        #expect(demo.fat.validation == 5000 && demo.fat.trainSubset == nil && demo.fat.testSubset == nil)
        #expect(demo.policies == ["max", "mean", "confidence", "adaptive"] && demo.confidence == 0.95)
        #expect(demo.checkEvery == 1000 && demo.adaptiveCap == 16000 && demo.fixed == [] && demo.fixedImages == [1000, 2000, 4000, 8000, 16000])
        let smoke = try CampaignSpec.load(path: TestPaths.packageRoot + "/campaigns/ci-smoke.yaml")
        #expect(smoke.resilienceAmounts != nil && smoke.policies.contains("adaptive") && smoke.policies.contains("confidence"))
        // The mid-scale run: the shared model, its validation split from the test set.
        let mid = try CampaignSpec.load(path: TestPaths.packageRoot + "/campaigns/midscale.yaml")
        #expect(mid.weights == .file("../shared/models/vgg11_cifar10.h5"))
        #expect(mid.lot.chips == 20 && mid.lot.model == "uniform" && mid.lot.options.rateRange == "0.0:0.3")
        #expect(mid.rates == [0.05, 0.1, 0.15, 0.2, 0.25, 0.3] && mid.repeats == 3)
        #expect(mid.resilienceAmounts == [0, 500, 1000, 2000, 4000, 8000, 16000, 24000])
        #expect(mid.fat.validation == 5000 && mid.fat.validationSource == .test && mid.fat.testSubset == nil && mid.fat.trainSubset == nil)
        #expect(mid.policies == ["max", "mean", "confidence", "adaptive"] && mid.confidence == 0.975)
        #expect(mid.checkEvery == 1000 && mid.adaptiveCap == 24000 && mid.fixed == [] && mid.fixedImages == [1000, 2000, 4000, 8000, 16000, 24000])
        #expect(mid.campaignBelowBaseline == 0.03)
        #expect(mid.canonicalLines.contains("fat.validation_source = test"))
        let paper = try CampaignSpec.load(path: TestPaths.packageRoot + "/campaigns/paper-scale.yaml")
        #expect(paper.weights == .file("../shared/models/vgg11_cifar10.h5"))
        #expect(paper.lot.chips == 100 && paper.lot.options.rateRange == "0.0:0.3" && paper.repeats == 5)
    }

    @Test(arguments: [
        ("bogus: 1", "c.yaml: bogus: unknown field; expected one of out, config"),
        ("seed: -1", "c.yaml: seed: expected an unsigned integer, got -1"),
        ("seed: true", "c.yaml: seed: expected an unsigned integer, got true"),
        ("out: ''", "c.yaml: out: expected a non-empty string"),
        ("lot: {chips: 4, seed: 7, model: uniform, rate_range: [0.02, 0.3], bogus: 2}", "c.yaml: lot.bogus: unknown field; expected one of chips, seed, model"),
        ("lot: {chips: 0, seed: 7, model: uniform, rate_range: [0.02, 0.3]}", "c.yaml: lot.chips: expected at least 1 chip, got 0"),
        ("lot: {chips: four, seed: 7, model: uniform, rate_range: [0.02, 0.3]}", "c.yaml: lot.chips: expected an integer, got four"),
        ("lot: {chips: 4, seed: 7, model: uniform}", "c.yaml: lot: --rate-range: required by --model uniform"),
        ("lot: {chips: 4, seed: 7, model: poisson, rate_range: [0.02, 0.3]}", "c.yaml: lot: --model: expected one of uniform, fixed, clustered"),
        ("lot: {chips: 4, seed: 7, model: uniform, rate_range: [0.3]}", "c.yaml: lot.rate_range: expected two rates [A, B]"),
        ("lot: {seed: 7, model: uniform, rate_range: [0.02, 0.3]}", "c.yaml: lot.chips: missing required field"),
        ("resilience: {rates: [0.2, 0.1], repeats: 2, epochs: 3}", "c.yaml: resilience.rates: expected strictly increasing fault rates"),
        ("resilience: {rates: [0.1, 0.2], repeats: 0, epochs: 3}", "c.yaml: resilience.repeats: expected at least 1 fault map per rate"),
        ("resilience: {rates: 0.1, repeats: 2, epochs: 3}", "c.yaml: resilience.rates: expected a list"),
        ("fat: {train_subset: 0}", "c.yaml: fat.train_subset: expected a positive number, got 0"),
        ("fat: {lr: -1}", "c.yaml: fat.lr: expected a positive learning rate"),
        ("fat: {validation: 0}", "c.yaml: fat.validation: expected a positive number, got 0"),
        ("fat: {validation: 50000}", "c.yaml: fat.validation: expected fewer than the 50000 training images"),
        ("fat: {train_subset: 45001, validation: 5000}", "c.yaml: fat.validation: the last 5000 training images (from index 45000) overlap --train-subset 45001"),
        ("fat: {conv_algorithm: fft}", "c.yaml: fat.conv_algorithm: expected winograd or gemm, got fft"),
        ("fat: {momentum: 1.5}", "c.yaml: fat.momentum: expected a momentum in [0, 1), got 1.5"),
        ("fat: {weight_decay: -1}", "c.yaml: fat.weight_decay: expected a weight decay >= 0"),
        ("fat: {augment: maybe}", "c.yaml: fat.augment: expected true or false, got maybe"),
        ("fat: {dropout: 0.5}", "c.yaml: fat.dropout: unknown field"),
        ("targets: {below_baseline: [0.04, 0.02], campaign_index: 3}", "c.yaml: targets.campaign_index: expected an index from 1 to 2"),
        ("targets: {below_baseline: [0.04, 0.04], campaign_index: 1}", "c.yaml: targets.below_baseline: expected distinct values"),
        ("targets: {below_baseline: [], campaign_index: 1}", "c.yaml: targets.below_baseline: expected a non-empty list"),
        ("reduce: {policies: [median], fixed: [1]}", "c.yaml: reduce.policies: expected a comma-separated list of max, mean, confidence, adaptive, got median"),
        ("reduce: {policies: [max, confidence], fixed: [1]}", "c.yaml: reduce.confidence: missing required field"),
        ("reduce: {policies: [max, confidence], fixed: [1], confidence: 1}", "c.yaml: reduce.confidence: expected a confidence level strictly between 0 and 1, got 1"),
        ("reduce: {policies: [max], fixed: [1], confidence: 0.9}", "c.yaml: reduce.confidence: expected no value unless reduce.policies lists confidence"),
        ("reduce: {policies: [max], fixed: [-1]}", "c.yaml: reduce.fixed: expected a comma-separated list of epoch counts >= 0"),
        ("reduce: {policies: [max], fixed: [1], interpolate: 1}", "c.yaml: reduce.interpolate: expected true or false, got 1"),
        ("reduce: {policies: [max], fixed: [1], rate_metric: macs}", "c.yaml: reduce.rate_metric: expected pe or weights, got macs"),
        ("resilience: {rates: [0.1, 0.2], repeats: 2, amounts: [0, 500, 300]}", "c.yaml: resilience.amounts: expected strictly increasing amounts of training images, got 500 then 300"),
        ("resilience: {rates: [0.1, 0.2], repeats: 2, epochs: 3, amounts: [0, 500]}", "c.yaml: resilience.amounts: expected either --epochs or --amounts, got both"),
        ("resilience: {rates: [0.1, 0.2], repeats: 2}", "c.yaml: resilience.epochs: missing required field (FAT epochs per fault map, or resilience.amounts)"),
        ("reduce: {policies: [max, adaptive], fixed: [1]}", "c.yaml: reduce.check_every: missing required field"),
        ("reduce: {policies: [max, adaptive], fixed: [1], check_every: 0}", "c.yaml: reduce.check_every: expected a positive number of training images, got 0"),
        ("reduce: {policies: [max, adaptive], fixed: [1], check_every: 100}", "c.yaml: reduce.policies: adaptive checks held-out validation images; set fat.validation"),
        ("reduce: {policies: [max], fixed: [1], check_every: 100}", "c.yaml: reduce.check_every: expected no value unless reduce.policies lists adaptive"),
        ("reduce: {policies: [max], fixed: [1], fixed_images: [-5]}", "c.yaml: reduce.fixed_images: expected a comma-separated list of training-image counts >= 0"),
        ("fat: {validation: 1000, validation_source: tests}", "c.yaml: fat.validation_source: expected train or test"),
        ("fat: {validation_source: test}", "c.yaml: fat.validation_source: expected no value unless fat.validation is set"),
        ("fat: {validation: 10000, validation_source: test}", "c.yaml: fat.validation: expected fewer than the 10000 test images with --validation-from test"),
        ("fat: {validation: 5000, validation_source: test, test_subset: 5001}", "c.yaml: fat.test_subset: the first 5000 test images are the validation split"),
    ])
    func badFieldIsOneLineNamingIt(line: String, message: String) {
        let key = String(line.prefix { $0 != ":" })
        let text = line == "bogus: 1" ? Self.valid + line + "\n" : edited(key + ":", line)
        let m = failure(text)
        #expect(m.hasPrefix(message), "\(m)")
        #expect(!m.contains("\n"))
    }

    @Test func weightsNeedExactlyOneSource() {
        let both = edited("weights:", "weights: {file: w.h5, train: {width: 0.25, epochs: 1}}").replacingOccurrences(of: "  train: {width: 0.25, epochs: 3}\n", with: "")
        #expect(failure(both).hasPrefix("c.yaml: weights: expected exactly one of train"))
        let neither = Self.valid.replacingOccurrences(of: "weights:\n  train: {width: 0.25, epochs: 3}\n", with: "weights: {}\n")
        #expect(failure(neither).hasPrefix("c.yaml: weights: expected exactly one of train"))
        let width = Self.valid.replacingOccurrences(of: "width: 0.25", with: "width: 1.5")
        #expect(failure(width).hasPrefix("c.yaml: weights.train.width: expected a width multiplier in (0, 1], got 1.5"))
        let missing = Self.valid.replacingOccurrences(of: "config: hw-configs/small-8x8.yaml\n", with: "")
        #expect(failure(missing).hasPrefix("c.yaml: config: missing required field"))
    }

    @Test func notAMappingOrNotYAML() {
        #expect(failure("- a\n- b\n").hasPrefix("c.yaml: expected a YAML mapping of campaign fields"))
        #expect(failure("out: [unclosed\n").hasPrefix("c.yaml: not valid YAML"))
        #expect(throws: FapsimError.self) { try CampaignSpec.load(path: "/nonexistent/c.yaml") }
    }

    /// Targets are b - d exactly (to 9 decimals, so binary subtraction does
    /// not lift them above an accuracy exactly d under the baseline),
    /// ascending and distinct, as the shortest text that reads back the same.
    @Test func targetsSitUnderTheBaseline() throws {
        #expect(CampaignSpec.targets(baseline: 0.8215, below: [0.08, 0.04, 0.02]) == ["0.7415", "0.7815", "0.8015"])
        // 0.8276 - 0.06 is 0.7676000000000001 in binary; the target is 0.7676,
        // which 3838 of 5000 images (IEEE-rounded like the decimal) meets.
        #expect(CampaignSpec.targets(baseline: 0.8276, below: [0.06]) == ["0.7676"])
        #expect(3838.0 / 5000.0 >= Double(CampaignSpec.targets(baseline: 0.8276, below: [0.06])[0])!)
        #expect(3837.0 / 5000.0 < Double(CampaignSpec.targets(baseline: 0.8276, below: [0.06])[0])!)
        // The campaign's constraint is the drop of the campaign_index-th ascending target.
        var spec = try parse(Self.valid)
        spec.targetsBelowBaseline = [0.02, 0.08, 0.04]
        spec.campaignTargetIndex = 1
        #expect(spec.campaignBelowBaseline == 0.08)
        spec.campaignTargetIndex = 3
        #expect(spec.campaignBelowBaseline == 0.02)
    }

    @Test func canonicalLinesNameEveryFieldAndChangeWithOne() throws {
        let a = try parse(Self.valid)
        var b = a
        #expect(a.canonicalLines == b.canonicalLines)
        b.lot.seed = 8
        let changed = Set(a.canonicalLines).symmetricDifference(b.canonicalLines)
        #expect(changed == ["lot.seed = 7", "lot.seed = 8"])
        #expect(a.canonicalLines == a.canonicalLines.sorted())
        #expect(a.canonicalLines.contains("weights.train.width = 0.25"))
    }

    /// `fat.validation` reaches the spec and its line only when set, so the
    /// folders of campaigns without it keep their canonical lines.
    @Test func validationKeyIsParsedAndOnlyThenInTheLines() throws {
        let a = try parse(Self.valid)
        #expect(a.fat.validation == nil)
        #expect(!a.canonicalLines.contains { $0.hasPrefix("fat.validation") })
        let b = try parse(edited("fat:", "fat: {train_subset: 500, test_subset: 400, validation: 1000}"))
        #expect(b.fat.validation == 1000)
        #expect(b.canonicalLines.contains("fat.validation = 1000"))
        #expect(!b.canonicalLines.contains { $0.hasPrefix("fat.validation_source") })
        let c = try parse(edited("fat:", "fat: {validation: 5000, validation_source: test, test_subset: 5000}"))
        #expect(c.fat.validationSource == .test)
        #expect(c.canonicalLines.contains("fat.validation_source = test"))
    }
}
