import Foundation
import FapsimSupport
import Network

/// A whole Reduce campaign as one YAML file (`campaigns/*.yaml`, read by
/// `fapsim campaign run`): where the weights come from, the chip lot, the
/// resilience grid, the FAT settings shared by Steps 1 and 3, how the targets
/// sit under the measured baseline, and the policies compared.
///
/// Validated like the hardware configs: an unknown key, a missing field or a
/// bad value is a one-line error naming the file and the field's dotted path
/// (`lot.chips`). Key reference: docs/reduce.md, "Whole campaigns".
public struct CampaignSpec: Equatable, Sendable {
    /// Where the weights Reduce starts from come from.
    public enum Weights: Equatable, Sendable {
        /// VGG11 of this width trained from scratch by `fapsim train` (its defaults:
        /// one-cycle schedule, crop + flip) for `epochs` epochs from initial weights drawn from `seed`.
        case train(width: Double, epochs: Int, seed: UInt64)
        /// A weights file (fapsim weights or a PyTorch state_dict in HDF5).
        case file(String)
    }

    /// The `fapsim lot generate` model (docs/fault-models.md).
    public struct Lot: Equatable, Sendable {
        public var chips: Int
        public var seed: UInt64
        public var model: String
        public var rateRange: (Double, Double)?
        public var rate: Double?
        public var alpha: Double?
        public var meanDefects: Double?
        public var clusterRadius: Double?

        public static func == (a: Lot, b: Lot) -> Bool {
            a.chips == b.chips && a.seed == b.seed && a.model == b.model && a.rateRange?.0 == b.rateRange?.0
                && a.rateRange?.1 == b.rateRange?.1 && a.rate == b.rate && a.alpha == b.alpha
                && a.meanDefects == b.meanDefects && a.clusterRadius == b.clusterRadius
        }

        /// The options as `fapsim lot generate` takes them ("A:B" for the range).
        public var options: LotModelOptions {
            LotModelOptions(model: model, rateRange: rateRange.map { "\($0.0):\($0.1)" }, rate: rate, alpha: alpha,
                            meanDefects: meanDefects, clusterRadius: clusterRadius)
        }
    }

    /// FAT settings shared by the resilience step and the campaign step; nil =
    /// the commands' own defaults (docs/reduce.md).
    public struct FAT: Equatable, Sendable {
        public var trainSubset: Int?
        public var testSubset: Int?
        /// Held-out validation images (the last N training images) Steps 1
        /// and 2 decide on; nil = none (curves on the test set).
        public var validation: Int?
        /// Where `validation` takes its images (`fat.validation_source`,
        /// `--validation-from`): nil = the training set.
        public var validationSource: HeldOutSplits.ValidationSource?
        public var lr: Double?
        public var schedule: String?
        public var batch: Int?
        public var convAlgorithm: String?
        public var momentum: Double?
        public var weightDecay: Double?
        public var nesterov: Bool?
        public var augment: Bool?
    }

    public var out: String
    public var config: String
    /// CIFAR-10 directory; nil = the commands' resolution (`FAPSIM_CIFAR_DIR`, else ../shared).
    public var data: String?
    public var weights: Weights
    public var lot: Lot
    public var rates: [Double]
    public var repeats: Int
    /// Step 1's FAT epochs per map; 0 when `resilienceAmounts` is given.
    public var resilienceEpochs: Int
    /// Step 1's image schedule (`resilience.amounts`), instead of epochs.
    public var resilienceAmounts: [Int]? = nil
    public var fat: FAT
    /// Accuracy points under the measured baseline, one target each.
    public var targetsBelowBaseline: [Double]
    /// 1-based index into the ascending targets: the campaign's constraint.
    public var campaignTargetIndex: Int
    public var policies: [String]
    public var fixed: [Int]
    /// Fixed budgets in training images (`reduce.fixed_images`).
    public var fixedImages: [Int] = []
    /// The adaptive policy's check interval and cap in training images
    /// (`reduce.check_every`, `reduce.adaptive_cap`).
    public var checkEvery: Int? = nil
    public var adaptiveCap: Int? = nil
    /// The confidence policy's level (only with `confidence` in `policies`).
    public var confidence: Double?
    public var interpolate: Bool
    public var rateMetric: String
    public var seed: UInt64

    /// Every key, with whether it is required and what it takes; nested
    /// mappings list their own keys under `sections`.
    static let topKeys: [(String, Bool, String)] = [
        ("out", true, "the output folder"),
        ("config", true, "a hardware config YAML"),
        ("data", false, "the CIFAR-10 binary directory"),
        ("weights", true, "a mapping with train: {width, epochs, seed} or file: PATH"),
        ("lot", true, "a mapping with chips, seed, model and the model's parameters"),
        ("resilience", true, "a mapping with rates, repeats and epochs or amounts"),
        ("fat", false, "a mapping of FAT settings: train_subset, test_subset, lr, schedule, batch, momentum, weight_decay, nesterov, augment, conv_algorithm"),
        ("targets", true, "a mapping with below_baseline and campaign_index"),
        ("reduce", true, "a mapping with policies, fixed, interpolate, rate_metric"),
        ("seed", true, "the seed of the fault maps and training orders (unsigned 64-bit)"),
    ]

    public static func load(path: String) throws -> CampaignSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FapsimError("\(path): cannot read campaign file (missing or unreadable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FapsimError("\(path): campaign file is not UTF-8 text")
        }
        return try parse(yaml: text, file: path)
    }

    public static func parse(yaml text: String, file: String) throws -> CampaignSpec {
        let r = try YAMLFields.root(yaml: text, file: file,
                                    expected: "a YAML mapping of campaign fields (\(topKeys.map(\.0).joined(separator: ", ")))")
        try r.check(topKeys)

        let w = try r.mapping("weights")
        try w.check([("train", false, "width, epochs and seed of VGG11 trained from scratch"),
                     ("file", false, "a weights file")])
        let weights: Weights
        switch (w.dict["train"], w.dict["file"]) {
        case (nil, nil), (.some, .some):
            throw FapsimError("\(file): weights: expected exactly one of train (VGG11 trained from scratch) or file (a weights file)")
        case (.some, nil):
            let t = try w.mapping("train")
            try t.check([("width", true, "VGG11 width multiplier in (0, 1]"), ("epochs", true, "training epochs >= 1"),
                         ("seed", false, "seed of the initial weights, shuffling and augmentation (default 0)")])
            let width = try t.double("width")
            guard width > 0, width <= 1 else { throw t.invalid("width", expected: "a width multiplier in (0, 1]") }
            let epochs = try t.int("epochs")
            guard epochs >= 1 else { throw t.invalid("epochs", expected: "at least 1 training epoch") }
            weights = .train(width: width, epochs: epochs, seed: try t.optionalUInt64("seed") ?? 0)
        case (nil, .some):
            weights = .file(try w.string("file"))
        }

        let l = try r.mapping("lot")
        try l.check([("chips", true, "chips in the lot (>= 1)"), ("seed", true, "lot seed (unsigned 64-bit)"),
                     ("model", true, "uniform, fixed or clustered"),
                     ("rate_range", false, "uniform: [A, B], the range each chip's fault rate is drawn from"),
                     ("rate", false, "fixed: every chip's rate; clustered: the target rate"),
                     ("alpha", false, "clustered: clustering parameter > 0"),
                     ("mean_defects", false, "clustered: expected defects per chip"),
                     ("cluster_radius", false, "clustered: defect radius in PE pitches")])
        let chips = try l.int("chips")
        guard chips >= 1 else { throw l.invalid("chips", expected: "at least 1 chip") }
        var rateRange: (Double, Double)?
        if l.dict["rate_range"] != nil {
            let ends = try l.doubles("rate_range")
            guard ends.count == 2 else { throw l.invalid("rate_range", expected: "two rates [A, B]") }
            rateRange = (ends[0], ends[1])
        }
        let lot = Lot(chips: chips, seed: try l.uint64("seed"), model: try l.string("model"), rateRange: rateRange,
                      rate: try l.optionalDouble("rate"), alpha: try l.optionalDouble("alpha"),
                      meanDefects: try l.optionalDouble("mean_defects"), clusterRadius: try l.optionalDouble("cluster_radius"))
        do { _ = try lot.options.makeModel(rows: 1, cols: 1) } catch let e as FapsimError {
            // The model's own check names the lot generate option; say where it sits in this file.
            throw FapsimError("\(file): lot: \(e.message)")
        }

        let s = try r.mapping("resilience")
        try s.check([("rates", true, "fault rates, strictly increasing, in [0, 1]"), ("repeats", true, "fault maps per rate (>= 1)"),
                     ("epochs", false, "FAT epochs per fault map (>= 1), or amounts"),
                     ("amounts", false, "training-image amounts, strictly increasing, e.g. [0, 500, 1000, 2000, 5000]")])
        let rates = try s.doubles("rates")
        let repeats = try s.int("repeats")
        let resilienceAmounts = s.dict["amounts"] == nil ? nil : try s.ints("amounts")
        guard resilienceAmounts != nil || s.dict["epochs"] != nil else {
            throw FapsimError("\(file): resilience.epochs: missing required field (FAT epochs per fault map, or resilience.amounts)")
        }
        let resilienceEpochs = s.dict["epochs"] == nil ? 0 : try s.int("epochs")
        do {
            try ResilienceSweep.validate(rates: rates, repeats: repeats, epochs: resilienceEpochs, amounts: resilienceAmounts,
                                         targets: [0.5], rateMetric: "pe")
        } catch let e as FapsimError {
            throw FapsimError("\(file): resilience.\(e.message.hasPrefix("--") ? String(e.message.dropFirst(2)) : e.message)")
        }

        var fat = FAT()
        if r.dict["fat"] != nil {
            let f = try r.mapping("fat")
            try f.check([("train_subset", false, "training images per FAT epoch"), ("test_subset", false, "test images per accuracy"),
                         ("validation", false, "held-out training images (the last N) the budgets decide on"),
                         ("validation_source", false, "where fat.validation takes its images: train (the last N training images, default) or test (the first N test images)"),
                         ("lr", false, "FAT learning rate"), ("schedule", false, "constant, onecycle, cosine or step"),
                         ("batch", false, "images per SGD step"), ("momentum", false, "SGD momentum in [0, 1)"),
                         ("weight_decay", false, "L2 weight decay >= 0"), ("nesterov", false, "Nesterov momentum (true or false)"),
                         ("augment", false, "random crop and flip (true or false)"), ("conv_algorithm", false, "winograd or gemm")])
            fat.trainSubset = try f.optionalInt("train_subset")
            fat.testSubset = try f.optionalInt("test_subset")
            fat.validation = try f.optionalInt("validation")
            for key in ["train_subset", "test_subset", "validation", "batch"] where f.dict[key] != nil {
                if try f.int(key) < 1 { throw f.invalid(key, expected: "a positive number") }
            }
            if let text = try f.optionalString("validation_source") {
                guard let source = HeldOutSplits.ValidationSource(rawValue: text) else {
                    throw f.invalid("validation_source", expected: "train or test")
                }
                guard fat.validation != nil else {
                    throw f.invalid("validation_source", expected: "no value unless fat.validation is set")
                }
                fat.validationSource = source
            }
            if let v = fat.validation {
                // The split's own checks (size, overlap), under the YAML key.
                do {
                    _ = try HeldOutSplits(trainSubset: fat.trainSubset, validation: v, testSubset: fat.validationSource == .test ? fat.testSubset : nil,
                                          validationSource: fat.validationSource ?? .train)
                } catch let e as FapsimError {
                    let m = e.message
                    for (flag, key) in [("--validation: ", "fat.validation"), ("--test-subset: ", "fat.test_subset")] where m.hasPrefix(flag) {
                        throw FapsimError("\(file): \(key): \(m.dropFirst(flag.count))")
                    }
                    throw FapsimError("\(file): fat.validation: \(m)")
                }
            }
            fat.lr = try f.optionalDouble("lr")
            if let lr = fat.lr, !(lr > 0) { throw f.invalid("lr", expected: "a positive learning rate") }
            fat.schedule = try f.optionalString("schedule")
            fat.batch = try f.optionalInt("batch")
            fat.convAlgorithm = try f.optionalString("conv_algorithm")
            if let c = fat.convAlgorithm, !["winograd", "gemm"].contains(c) { throw f.invalid("conv_algorithm", expected: "winograd or gemm") }
            fat.momentum = try f.optionalDouble("momentum")
            if let m = fat.momentum, !(m >= 0 && m < 1) { throw f.invalid("momentum", expected: "a momentum in [0, 1)") }
            fat.weightDecay = try f.optionalDouble("weight_decay")
            if let w = fat.weightDecay, !(w >= 0) { throw f.invalid("weight_decay", expected: "a weight decay >= 0") }
            fat.nesterov = try f.optionalBool("nesterov")
            fat.augment = try f.optionalBool("augment")
        }

        let t = try r.mapping("targets")
        try t.check([("below_baseline", true, "accuracy points under the measured baseline, e.g. [0.04, 0.02]"),
                     ("campaign_index", true, "1-based index into the ascending targets")])
        let below = try t.doubles("below_baseline")
        guard !below.isEmpty, below.allSatisfy({ $0 > 0 && $0 < 1 }) else {
            throw t.invalid("below_baseline", expected: "a non-empty list of accuracy points in (0, 1) under the baseline")
        }
        guard Set(below).count == below.count else { throw t.invalid("below_baseline", expected: "distinct values") }
        let index = try t.int("campaign_index")
        guard (1...below.count).contains(index) else {
            throw t.invalid("campaign_index", expected: "an index from 1 to \(below.count) into the ascending targets")
        }

        let p = try r.mapping("reduce")
        try p.check([("policies", true, "Reduce policies, a list of max, mean, confidence and adaptive (may be empty)"),
                     ("confidence", false, "the confidence policy's level C in (0, 1), e.g. 0.9"),
                     ("check_every", false, "the adaptive policy's training images between validation checks (> 0)"),
                     ("adaptive_cap", false, "the most training images the adaptive policy trains a chip (> 0)"),
                     ("fixed", true, "fixed epoch budgets to compare with, e.g. [1, 3, 5] (may be empty)"),
                     ("fixed_images", false, "fixed budgets in training images, e.g. [1000, 4000, 16000]"),
                     ("interpolate", false, "interpolate budgets between measured rates (default false)"),
                     ("rate_metric", false, "pe (default) or weights")])
        let policies = try p.strings("policies")
        let fixed = try p.ints("fixed")
        let confidence = try p.optionalDouble("confidence")
        if policies.contains(BudgetPolicy.confidence.rawValue) {
            guard let c = confidence else {
                throw FapsimError("\(file): reduce.confidence: missing required field (the confidence policy's level C in (0, 1), e.g. 0.9)")
            }
            guard c > 0, c < 1 else { throw p.invalid("confidence", expected: "a confidence level strictly between 0 and 1") }
        } else if confidence != nil {
            throw p.invalid("confidence", expected: "no value unless reduce.policies lists confidence")
        }
        let fixedImages = p.dict["fixed_images"] == nil ? [] : try p.ints("fixed_images")
        let checkEvery = try p.optionalInt("check_every"), adaptiveCap = try p.optionalInt("adaptive_cap")
        if policies.contains(CampaignPolicy.adaptive.label) {
            guard let n = checkEvery else {
                throw FapsimError("\(file): reduce.check_every: missing required field (the adaptive policy's training images between validation checks, e.g. 1000)")
            }
            guard n > 0 else { throw p.invalid("check_every", expected: "a positive number of training images") }
            if let c = adaptiveCap, c <= 0 { throw p.invalid("adaptive_cap", expected: "a positive number of training images") }
            guard fat.validation != nil else {
                throw FapsimError("\(file): reduce.policies: adaptive checks held-out validation images; set fat.validation")
            }
        } else if checkEvery != nil || adaptiveCap != nil {
            throw p.invalid(checkEvery != nil ? "check_every" : "adaptive_cap", expected: "no value unless reduce.policies lists adaptive")
        }
        do {
            _ = try CampaignPolicy.parse(policies: policies.joined(separator: ","), fixed: fixed.map(String.init).joined(separator: ","),
                                         fixedImages: fixedImages.map(String.init).joined(separator: ","))
        } catch let e as FapsimError {
            // The flag's name as the YAML key.
            let m = (e.message.hasPrefix("--") ? String(e.message.dropFirst(2)) : e.message).replacingOccurrences(of: "fixed-images:", with: "fixed_images:")
            throw FapsimError("\(file): reduce.\(m)")
        }
        let rateMetric = try p.optionalString("rate_metric") ?? "pe"
        guard ["pe", "weights"].contains(rateMetric) else { throw p.invalid("rate_metric", expected: "pe or weights") }

        return CampaignSpec(out: try r.string("out"), config: try r.string("config"), data: try r.optionalString("data"),
                            weights: weights, lot: lot, rates: rates, repeats: repeats, resilienceEpochs: resilienceEpochs,
                            resilienceAmounts: resilienceAmounts, fat: fat, targetsBelowBaseline: below, campaignTargetIndex: index, policies: policies,
                            fixed: fixed, fixedImages: fixedImages, checkEvery: checkEvery, adaptiveCap: adaptiveCap,
                            confidence: confidence, interpolate: try p.optionalBool("interpolate") ?? false, rateMetric: rateMetric,
                            seed: try r.uint64("seed"))
    }

    /// The targets under a measured baseline accuracy `b`: b - d for each
    /// point d (`AccuracyConstraint.threshold`, the threshold the campaign's
    /// budgets decide on), ascending, as the text the steps are given (the
    /// shortest decimal that reads back as the same double).
    public static func targets(baseline b: Double, below: [Double]) -> [String] {
        let values = Set(below.map { AccuracyConstraint.belowBaseline($0).threshold(baseline: b) })
        return values.sorted().map { "\($0)" }
    }

    /// The campaign's constraint: the drop d of the `campaignTargetIndex`-th
    /// ascending target (the largest d gives the lowest target).
    public var campaignBelowBaseline: Double {
        targetsBelowBaseline.sorted(by: >)[campaignTargetIndex - 1]
    }

    /// The spec as sorted `key = value` lines: what a rerun in the same output
    /// folder must match (a changed campaign there would mix results).
    public var canonicalLines: [String] {
        func list<T>(_ xs: [T]) -> String { "[" + xs.map { "\($0)" }.joined(separator: ", ") + "]" }
        func opt<T>(_ x: T?) -> String { x.map { "\($0)" } ?? "default" }
        var kv: [String: String] = [
            "out": out, "config": config, "data": data ?? "default",
            "lot.chips": "\(lot.chips)", "lot.seed": "\(lot.seed)", "lot.model": lot.model,
            "lot.rate_range": lot.rateRange.map { "[\($0.0), \($0.1)]" } ?? "none", "lot.rate": opt(lot.rate),
            "lot.alpha": opt(lot.alpha), "lot.mean_defects": opt(lot.meanDefects), "lot.cluster_radius": opt(lot.clusterRadius),
            "resilience.rates": list(rates), "resilience.repeats": "\(repeats)", "resilience.epochs": "\(resilienceEpochs)",
            "fat.train_subset": opt(fat.trainSubset), "fat.test_subset": opt(fat.testSubset), "fat.lr": opt(fat.lr),
            "fat.schedule": opt(fat.schedule), "fat.batch": opt(fat.batch), "fat.conv_algorithm": opt(fat.convAlgorithm),
            "fat.momentum": opt(fat.momentum), "fat.weight_decay": opt(fat.weightDecay), "fat.nesterov": opt(fat.nesterov),
            "fat.augment": opt(fat.augment),
            "targets.below_baseline": list(targetsBelowBaseline), "targets.campaign_index": "\(campaignTargetIndex)",
            "reduce.policies": list(policies), "reduce.fixed": list(fixed), "reduce.interpolate": "\(interpolate)",
            "reduce.rate_metric": rateMetric, "reduce.confidence": opt(confidence), "seed": "\(seed)",
        ]
        // Only when set: campaign folders of earlier versions keep their lines.
        if let v = fat.validation { kv["fat.validation"] = "\(v)" }
        if let s = fat.validationSource { kv["fat.validation_source"] = s.rawValue }
        if !fixedImages.isEmpty { kv["reduce.fixed_images"] = list(fixedImages) }
        if let n = checkEvery { kv["reduce.check_every"] = "\(n)" }
        if let n = adaptiveCap { kv["reduce.adaptive_cap"] = "\(n)" }
        if let a = resilienceAmounts {
            kv["resilience.amounts"] = list(a)
            kv.removeValue(forKey: "resilience.epochs")
        }
        switch weights {
        case .train(let width, let epochs, let seed):
            kv["weights.train.width"] = "\(width)"; kv["weights.train.epochs"] = "\(epochs)"; kv["weights.train.seed"] = "\(seed)"
        case .file(let path):
            kv["weights.file"] = path
        }
        return kv.keys.sorted().map { "\($0) = \(kv[$0]!)" }
    }
}
