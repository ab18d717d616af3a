import ArgumentParser
import Foundation
import FapsimSupport
import Reduce

/// `fapsim campaign ...`: whole Reduce campaigns described by one YAML file.
struct CampaignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign",
        abstract: "Whole Reduce campaigns from one YAML file (campaigns/*.yaml).",
        subcommands: [CampaignRunCommand.self])
}

/// `fapsim campaign run FILE`: every step of a campaign in order, each one
/// exactly the documented fapsim command (printed before it runs, so any step
/// can be reproduced or rerun by hand), run in this process. Every step
/// resumes: rerunning after a kill skips finished outputs, and `train`,
/// `resilience` and `reduce` continue from their own checkpoints and units.
struct CampaignRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a whole Reduce campaign: weights, lot, baseline and targets, resilience, budgets, FAT per chip, report.",
        discussion: """
        The YAML keys are in docs/reduce.md ("Whole campaigns"); every problem in the file is a one-line error \
        naming the file and the field. The output folder records the campaign (campaign-spec.txt): a rerun there \
        with a changed file is refused unless --force, which removes the campaign's earlier outputs first. \
        Step summaries go to stderr; stdout gets the report path (or, with --json, one JSON object).
        """)

    @Argument(help: "Campaign file (YAML), e.g. campaigns/demo.yaml.")
    var file: String

    @Option(help: "Output folder (default: the file's out).")
    var out: String?

    @Flag(help: "Start over: remove this campaign's earlier outputs in the output folder, even if the file changed.")
    var force = false

    @Flag(help: "No progress or step output on stderr.")
    var quiet = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    /// Names of what a campaign writes in its output folder (all of it is
    /// removed by --force, nothing else is).
    static let specName = "campaign-spec.txt"
    static let outputs = ["lot.h5", "baseline.json", "resilience.h5", "resilience.h5.work", "budget.h5",
                          "campaign.h5", "campaign.h5.work", "report"]

    func run() throws {
        var spec = try CampaignSpec.load(path: file)
        if let out { spec.out = out }
        let dir = spec.out
        let t0 = Date()
        try prepare(spec: spec, dir: dir)
        var steps = CampaignSteps(file: file, spec: spec, dir: dir, quiet: quiet, start: t0)

        let weights = try steps.weights()
        try steps.lot()
        let baseline = try steps.baseline(weights: weights)
        let targets = CampaignSpec.targets(baseline: baseline, below: spec.targetsBelowBaseline)
        let target = targets[spec.campaignTargetIndex - 1]
        let below = spec.campaignBelowBaseline
        steps.note(String(format: "baseline accuracy %.4f on %@; targets %@; the campaign's constraint: %g points below each split's baseline (budgets: %@ on %@; chips are judged against the test baseline, measured in step 6)",
                          baseline, steps.baselineImages, targets.joined(separator: ","), below * 100, target, steps.baselineImages))
        try steps.resilience(weights: weights, targets: targets)
        try steps.budget(belowBaseline: below)
        try steps.reduce(weights: weights, belowBaseline: below)
        let report = try steps.report()
        let seconds = Date().timeIntervalSince(t0)
        steps.note("done in \(ProgressLine.duration(seconds)): the report is \(report)/report.md")
        if json {
            JSONOutput.print([
                "campaign": file, "out": dir, "weights": weights, "baseline_accuracy": baseline,
                "targets": targets.compactMap(Double.init), "target": Double(target) ?? 0, "below_baseline": below,
                "report": report + "/report.md", "campaign_file": dir + "/campaign.h5",
                "resilience_file": dir + "/resilience.h5", "wall_s": seconds,
                "step_seconds": steps.stepSeconds,
            ])
        } else {
            print(report + "/report.md")
        }
    }

    /// Creates the output folder and records the spec; refuses a folder made
    /// by another spec unless --force (which clears the earlier outputs).
    func prepare(spec: CampaignSpec, dir: String) throws {
        let fm = FileManager.default
        let specPath = dir + "/" + Self.specName
        let lines = spec.canonicalLines
        if let old = fm.contents(atPath: specPath).map({ String(decoding: $0, as: UTF8.self) }) {
            let oldLines = old.split(separator: "\n").map(String.init)
            if oldLines != lines {
                guard force else {
                    let changed = Set(lines).symmetricDifference(oldLines).map { $0.components(separatedBy: " = ")[0] }
                    let field = changed.sorted().first ?? "?"
                    throw FapsimError("\(file): \(field): differs from the campaign already in \(dir) (\(specPath)); use another out, or pass --force to remove that campaign's outputs and start over")
                }
                removeOutputs(dir: dir)
            }
        } else if force {
            removeOutputs(dir: dir)
        }
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw FapsimError("\(dir): cannot create the campaign's output folder: \(error.localizedDescription)")
        }
        try AtomicWrite.write(text: lines.joined(separator: "\n") + "\n", to: specPath, force: true)
    }

    func removeOutputs(dir: String) {
        let fm = FileManager.default
        var names = Self.outputs
        if let all = try? fm.contentsOfDirectory(atPath: dir) {
            names += all.filter { $0.hasPrefix("vgg11-w") && ($0.hasSuffix(".h5") || $0.hasSuffix(".checkpoint.h5")) }
        }
        for name in names { try? fm.removeItem(atPath: dir + "/" + name) }
    }
}

/// The steps of one campaign run. Each builds the argument list of the
/// fapsim command it stands for and runs that command in this process.
struct CampaignSteps {
    /// The campaign file, for errors about its fields.
    let file: String
    let spec: CampaignSpec
    let dir: String
    let quiet: Bool
    let start: Date
    var number = 0
    var stepSeconds: [String: Double] = [:]
    static let count = 7

    init(file: String, spec: CampaignSpec, dir: String, quiet: Bool, start: Date) {
        self.file = file
        self.spec = spec
        self.dir = dir
        self.quiet = quiet
        self.start = start
    }

    func path(_ name: String) -> String { dir + "/" + name }

    var dataArgs: [String] { spec.data.map { ["--data", $0] } ?? [] }
    var quietArgs: [String] { quiet ? ["--quiet"] : [] }

    /// The FAT settings both Step 1 and Step 3 take.
    var fatArgs: [String] {
        var a: [String] = []
        let f = spec.fat
        if let n = f.trainSubset { a += ["--train-subset", String(n)] }
        if let n = f.testSubset { a += ["--test-subset", String(n)] }
        if let n = f.validation { a += ["--validation", String(n)] }
        if let s = f.validationSource { a += ["--validation-from", s.rawValue] }
        if let lr = f.lr { a += ["--lr", "\(lr)"] }
        if let s = f.schedule { a += ["--schedule", s] }
        if let b = f.batch { a += ["--batch", String(b)] }
        if let c = f.convAlgorithm { a += ["--conv-algorithm", c] }
        if let m = f.momentum { a += ["--momentum", "\(m)"] }
        if let w = f.weightDecay { a += ["--weight-decay", "\(w)"] }
        if let n = f.nesterov { a.append(n ? "--nesterov" : "--no-nesterov") }
        if let g = f.augment { a.append(g ? "--augment" : "--no-augment") }
        return a
    }

    func note(_ s: String) {
        if !quiet { FileHandle.standardError.write(Data("campaign: \(s)\n".utf8)) }
    }

    /// Announces step `name`, or says it is skipped because `done` exists.
    mutating func begin(_ name: String, _ what: String) {
        number += 1
        let elapsed = ProgressLine.duration(Date().timeIntervalSince(start))
        note("[\(number)/\(Self.count), \(elapsed)] \(name): \(what)")
    }

    /// Runs `fapsim ARGS` in this process with its stdout on stderr (the
    /// campaign's own stdout is its result), timing it as step `name`.
    mutating func fapsim(_ name: String, _ args: [String]) throws {
        note("  fapsim " + args.map(Self.shellQuoted).joined(separator: " "))
        let t0 = Date()
        // --quiet silences the steps' summaries too: they go to /dev/null, not stderr.
        let sink = quiet ? FileHandle(forWritingAtPath: "/dev/null") : nil
        defer { try? sink?.close() }
        try StandardOutput.redirected(to: (sink ?? FileHandle.standardError).fileDescriptor) {
            try Self.runCommand(args, step: name)
        }
        stepSeconds[name, default: 0] += Date().timeIntervalSince(t0)
    }

    static func runCommand(_ args: [String], step: String) throws {
        do {
            var command = try Fapsim.parseAsRoot(args)
            try command.run()
        } catch let e as FapsimError {
            throw e
        } catch {
            // Argument errors of a step: one line, as the top level prints them.
            let message = Fapsim.message(for: error).split(whereSeparator: \.isNewline).joined(separator: " ")
            throw FapsimError("campaign step \(step): \(message)")
        }
    }

    static func shellQuoted(_ s: String) -> String {
        s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:,=".contains($0) }) ? s : "'" + s + "'"
    }

    /// Step 1: the weights file (trained here when the spec says so).
    mutating func weights() throws -> String {
        switch spec.weights {
        case .file(let p):
            begin("weights", p)
            guard FileManager.default.fileExists(atPath: p) else {
                throw FapsimError.invalid(file: file, field: "weights.file", expected: "an existing weights file", got: p)
            }
            return p
        case .train(let width, let epochs, let seed):
            let out = path("vgg11-w\(width).h5")
            begin("train", "VGG11 width \(width), \(epochs) epochs on the CIFAR-10 training images")
            if FileManager.default.fileExists(atPath: out) { note("  \(out) exists (finished earlier)"); return out }
            var args = ["train"] + dataArgs + ["--width", "\(width)", "--epochs", String(epochs), "--out", out, "--resume"]
            // The held-out split is held out of pre-training too: budgets decided on
            // images the network was trained on would promise more than the test set gives.
            if let n = spec.fat.validation { args += ["--validation", String(n)] }
            if let s = spec.fat.validationSource { args += ["--validation-from", s.rawValue] }
            if seed != 0 { args += ["--train-seed", String(seed)] }
            try fapsim("train", args + quietArgs)
            return out
        }
    }

    /// Step 2: the chip lot (regenerated only when missing: it is a pure
    /// function of the spec, which the output folder is pinned to).
    mutating func lot() throws {
        let out = path("lot.h5")
        let l = spec.lot
        begin("lot", "\(l.chips) chips on \(spec.config), \(l.model) faults")
        if FileManager.default.fileExists(atPath: out) { note("  \(out) exists (finished earlier)"); return }
        let o = l.options
        var args = ["lot", "generate", "--config", spec.config, "--chips", String(l.chips), "--seed", String(l.seed),
                    "--model", o.model]
        if let r = o.rateRange { args += ["--rate-range", r] }
        if let r = o.rate { args += ["--rate", "\(r)"] }
        if let a = o.alpha { args += ["--alpha", "\(a)"] }
        if let d = o.meanDefects { args += ["--mean-defects", "\(d)"] }
        if let c = o.clusterRadius { args += ["--cluster-radius", "\(c)"] }
        try fapsim("lot", args + ["--out", out] + quietArgs)
    }

    /// The images the baseline step measures: the split the budgets decide on.
    var baselineImages: String {
        if let n = spec.fat.validation {
            return spec.fat.validationSource == .test ? "the first \(n) test images (the validation split)" : "the \(n) validation images"
        }
        return spec.fat.testSubset.map { "the first \($0) test images" } ?? "the test images"
    }

    /// Step 3: the fault-free accuracy on the split the budgets decide on
    /// (validation when there is one) that the targets sit under, by
    /// `fapsim evaluate --json` (kept as baseline.json).
    mutating func baseline(weights: String) throws -> Double {
        let out = path("baseline.json")
        begin("baseline", "the network fault-free on \(baselineImages)")
        if !FileManager.default.fileExists(atPath: out) {
            var args = ["evaluate", "--weights", weights] + dataArgs
            // The targets sit under the baseline of the split the budgets decide on.
            if let n = spec.fat.validation {
                args += ["--validation", String(n)]
                if let s = spec.fat.validationSource { args += ["--validation-from", s.rawValue] }
            } else if let n = spec.fat.testSubset {
                args += ["--limit", String(n)]
            }
            args += ["--json", "--quiet"]
            note("  fapsim " + args.joined(separator: " ") + " > " + out)
            let t0 = Date()
            try AtomicWrite.write(to: out, force: true) { tmp in
                guard FileManager.default.createFile(atPath: tmp, contents: nil), let h = FileHandle(forWritingAtPath: tmp) else {
                    throw FapsimError("\(out): cannot write")
                }
                defer { try? h.close() }
                try StandardOutput.redirected(to: h.fileDescriptor) { try Self.runCommand(args, step: "baseline") }
            }
            stepSeconds["baseline"] = Date().timeIntervalSince(t0)
        }
        guard let data = FileManager.default.contents(atPath: out),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let accuracy = object["accuracy"] as? Double else {
            throw FapsimError("\(out): accuracy: expected the JSON of fapsim evaluate (delete the file to measure again)")
        }
        return accuracy
    }

    /// Step 4: Reduce step 1.
    mutating func resilience(weights: String, targets: [String]) throws {
        let out = path("resilience.h5")
        let amounts = spec.resilienceAmounts.map { $0.map(String.init).joined(separator: ",") }
        begin("resilience", "rates \(spec.rates.map { "\($0)" }.joined(separator: ",")), \(spec.repeats) maps each, "
              + (amounts.map { "FAT amounts \($0) images" } ?? "\(spec.resilienceEpochs) FAT epochs"))
        if FileManager.default.fileExists(atPath: out) { note("  \(out) exists (finished earlier)"); return }
        let args = ["resilience", "--weights", weights] + dataArgs + [
            "--config", spec.config, "--rates", spec.rates.map { "\($0)" }.joined(separator: ","),
            "--repeats", String(spec.repeats)] + (amounts.map { ["--amounts", $0] } ?? ["--epochs", String(spec.resilienceEpochs)]) + [
            "--targets", targets.joined(separator: ","),
        ] + fatArgs + ["--rate-metric", spec.rateMetric, "--seed", String(spec.seed), "--out", out]
        try fapsim("resilience", args + quietArgs)
    }

    /// Step 5: Reduce step 2, every chip's budget under the conservative max policy.
    mutating func budget(belowBaseline d: Double) throws {
        begin("budget", "each chip's budget for \(d) below the baseline (max policy)")
        var args = ["budget", "--resilience", path("resilience.h5"), "--lot", path("lot.h5"), "--below-baseline", "\(d)",
                    "--policy", "max", "--out", path("budget.h5"), "--force"]
        if spec.interpolate { args.append("--interpolate") }
        if spec.rateMetric != "pe" { args += ["--rate-metric", spec.rateMetric] }
        try fapsim("budget", args)
    }

    /// Step 6: Reduce step 3, FAT on every chip under every policy.
    mutating func reduce(weights: String, belowBaseline d: Double) throws {
        let out = path("campaign.h5")
        begin("reduce", "FAT on every chip under \((spec.policies + spec.fixed.map { "fixed-\($0)" } + spec.fixedImages.map { "fixed-\($0)img" }).joined(separator: ", "))")
        if FileManager.default.fileExists(atPath: out) { note("  \(out) exists (finished earlier)"); return }
        var args = ["reduce", "--weights", weights] + dataArgs + [
            "--lot", path("lot.h5"), "--resilience", path("resilience.h5"), "--below-baseline", "\(d)",
            "--policies", spec.policies.joined(separator: ","), "--fixed", spec.fixed.map(String.init).joined(separator: ","),
        ] + fatArgs + ["--seed", String(spec.seed), "--out", out]
        if let c = spec.confidence { args += ["--confidence", "\(c)"] }
        if !spec.fixedImages.isEmpty { args += ["--fixed-images", spec.fixedImages.map(String.init).joined(separator: ",")] }
        if let n = spec.checkEvery { args += ["--check-every", String(n)] }
        if let n = spec.adaptiveCap { args += ["--adaptive-cap", String(n)] }
        if spec.interpolate { args.append("--interpolate") }
        if spec.rateMetric != "pe" { args += ["--rate-metric", spec.rateMetric] }
        try fapsim("reduce", args + quietArgs)
    }

    /// Step 7: the report (always rewritten: cheap, and it reflects the files).
    mutating func report() throws -> String {
        let out = path("report")
        begin("report", out)
        try fapsim("report", ["report", "--resilience", path("resilience.h5"), "--campaign", path("campaign.h5"),
                              "--out", out, "--force"])
        return out
    }
}

/// Points the process's standard output (fd 1) somewhere else while a body
/// runs. In-process steps print their summaries with `print`; the campaign
/// keeps its stdout for its own result, as a script would with `>&2`.
enum StandardOutput {
    static func redirected<T>(to fd: Int32, _ body: () throws -> T) throws -> T {
        fflush(stdout)
        let saved = dup(1)
        guard saved >= 0, dup2(fd, 1) >= 0 else { throw FapsimError("stdout: cannot redirect (\(String(cString: strerror(errno))))") }
        defer {
            fflush(stdout)
            dup2(saved, 1)
            close(saved)
        }
        return try body()
    }
}
