import Foundation
import FapsimStore
import FapsimSupport

/// The Reduce report: `report.md` plus one SVG per figure, rendered from a
/// resilience table and, once Step 3 has run, the campaign results, and
/// `report.html`, the same report as one self-contained page (ReportHTML).
public enum ReduceReport {
    public static let markdownName = "report.md"

    /// Every file of the report, name -> contents: the figures, report.html,
    /// then report.md last. Pure.
    /// `baseline`: the weights' fault-free test accuracy (the resilience file's
    /// `baseline_accuracy`), shown in the inputs table and Fig. 2a when known.
    /// `metricComparison`: the PE-rate vs weight-share comparison
    /// (docs/rate-metric.md), appended as Fig. 4 when given; `metricNote`:
    /// why it could not be made, said in its place.
    public static func render(resilience t: ResilienceTable, campaign: CampaignResults? = nil,
                              baseline: Double? = nil,
                              metricComparison: MetricComparison? = nil, metricNote: String? = nil) -> [(name: String, text: String)] {
        var files: [(name: String, text: String)] = [
            ("fig2a-accuracy-vs-epochs.svg", ReduceFigures.accuracyVsEpochs(t, baseline: baseline).render()),
            ("fig2b-epochs-needed.svg", ReduceFigures.epochsNeeded(t).render()),
        ]
        var md = header(t, baseline: baseline, campaign: campaign) + resilienceSection(t)
        if let r = campaign {
            let perPolicy = r.policies.enumerated().map { i, p in
                (letter: letter(i), policy: p, name: "fig3\(letter(i))-\(fileSafe(p)).svg")
            }
            for f in perPolicy { files.append((f.name, ReduceFigures.perChip(r, policy: f.policy).render())) }
            files.append(("fig3f-summary.svg", SVGText.panels(ReduceFigures.summary(r))))
            md += campaignSection(r, figures: perPolicy.map { ($0.letter, $0.policy, $0.name) })
            var confidence: Double?
            if case .string(let text)? = r.attributes[WorkDir.identityPrefix + "confidence"] { confidence = Double(text) }
            if let chart = ReduceFigures.calibration(r, confidence: confidence) {
                files.append(("fig5-calibration.svg", chart.render()))
                md += calibrationSection(r, confidence: confidence)
            }
        } else {
            md += "\n## Step 3: campaign\n\nNo campaign results were given, so Fig. 3 is not drawn.\n"
        }
        if let c = metricComparison {
            files.append((MetricComparisonReport.figureName, MetricComparisonReport.chart(c).render()))
            md += "\n" + MetricComparisonReport.section(c)
        } else if campaign != nil, let note = metricNote {
            md += "\n## Rate metrics\n\nFig. 4 (budgets placed by the share of faulty PEs against the share of pruned weights) is not drawn: \(note).\n"
        }
        let figures = Dictionary(files.map { ($0.name, $0.text) }, uniquingKeysWith: { a, _ in a })
        files.append((ReportHTML.fileName, ReportHTML.render(markdown: md, figures: figures)))
        files.append((markdownName, md))
        return files
    }

    /// Refuses to write a report into `dir` over an existing report.md or
    /// report.html unless `force` (the figures follow their report).
    public static func checkOverwrite(dir: String, force: Bool) throws {
        for name in [markdownName, ReportHTML.fileName] { try AtomicWrite.checkOverwrite(dir + "/" + name, force: force) }
    }

    /// Writes the report into `dir` (created if missing). Everything is rendered
    /// first; each file is then written atomically and report.md last, so a
    /// report.md never points at a figure that is not there.
    public static func write(resilience t: ResilienceTable, campaign: CampaignResults? = nil, baseline: Double? = nil,
                             metricComparison: MetricComparison? = nil, metricNote: String? = nil, to dir: String, force: Bool) throws {
        let files = render(resilience: t, campaign: campaign, baseline: baseline, metricComparison: metricComparison,
                           metricNote: metricNote)
        try writeFiles(files, to: dir, force: force)
    }

    /// Writes a rendered report (report.md last, as `render` orders it) into
    /// `dir`, created if missing, after `checkOverwrite`; every report page
    /// (this one, the mitigation comparison) is written this way.
    public static func writeFiles(_ files: [(name: String, text: String)], to dir: String, force: Bool) throws {
        try checkOverwrite(dir: dir, force: force)
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw FapsimError("\(dir): cannot create report directory: \(error.localizedDescription)")
        }
        for f in files { try AtomicWrite.write(text: f.text, to: dir + "/" + f.name, force: true) }
    }

    /// Figure letters for policies: a, b, c, ...; "f" is the summary figure's.
    static func letter(_ i: Int) -> String {
        let letters = Array("abcdeghijklmnopqrstuvwxyz")
        return i < letters.count ? String(letters[i]) : "z\(i)"
    }

    static func fileSafe(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    }

    static func pct(_ x: Double) -> String { String(format: "%.2f %%", x * 100) }

    /// The campaign's constraint in words. A drop d from the baseline reads
    /// on both splits: "test accuracy >= 75.55 % (test baseline 81.55 % -
    /// 6.00 points); budgets decided on validation >= 76.76 % (82.76 % -
    /// 6.00)"; an absolute target (and files before the drop was recorded)
    /// "final accuracy >= 76.50 %".
    public static func constraintLine(_ r: CampaignResults) -> String {
        func double(_ k: String) -> Double? { if case .double(let v)? = r.attributes[k] { return v }; return nil }
        guard let d = double("below_baseline"), let testBase = double("test_baseline_accuracy") else {
            return "final accuracy >= \(pct(r.target))"
        }
        let points = String(format: "%.2f", d * 100)
        var s = "test accuracy >= \(pct(r.target)) (test baseline \(pct(testBase)) - \(points) points)"
        if let b = double("budget_target"), let base = double("baseline_accuracy") {
            var split = "validation"
            if case .string(let c)? = r.attributes["curve_split"] { split = c }
            s += "; budgets decided on \(split) >= \(pct(b)) (\(pct(base)) - \(points))"
        }
        return s
    }

    /// The threshold the campaign's budgets decided on: `budget_target`
    /// (differs from the judged `target` under a drop from the baseline), else `target`.
    public static func budgetTarget(_ r: CampaignResults) -> Double {
        if case .double(let v)? = r.attributes["budget_target"] { return v }
        return r.target
    }

    static func header(_ t: ResilienceTable, baseline: Double? = nil, campaign: CampaignResults? = nil) -> String {
        let p = t.provenance
        // Under a validation split Step 1 reads no test image (test_subset 0):
        // the test images are the campaign's, which judge the final accuracies.
        var images = "| Training / test images | \(p.trainSubset) / \(p.testSubset) |\n"
        if p.validationSubset != nil {
            images = "| Training images | \(p.trainSubset) |\n"
            if let r = campaign, case .int(let n)? = r.attributes["test_subset"] {
                var first: Int64 = 0
                if case .int(let f)? = r.attributes["test_first"] { first = f }
                images += "| Final accuracies measured on | \(n) test images\(first > 0 ? " (from test image \(first), after the validation split)" : "") |\n"
            }
        }
        return """
        # Reduce report

        Fault-aware retraining budgets after Hanif & Shafique's Reduce: Step 1 measures how
        many epochs of fault-aware training (FAT) the network needs at each fault rate, Step 2
        gives each chip its budget from its own fault rate, Step 3 retrains every chip and
        checks the accuracy constraint.

        | Input | Value |
        |---|---|
        | Weights checksum | `\(p.weightsChecksum)` \(p.weightsFile.isEmpty ? "" : "(`\(p.weightsFile)`)") |
        | Array | \(p.rows) x \(p.cols) PEs (config `\(p.configName)`) |
        | Fault-rate metric | \(p.rateMetric) |
        | Seed | \(p.seed) |

        """ + images + (p.validationSubset.map { v in
            p.validationSource == .test ? "| Curves measured on | the first \(v) test images (held-out validation split, `--validation-from test`) |\n"
                : "| Curves measured on | the last \(v) training images (held-out validation split) |\n"
        } ?? "")
            + (baseline.map { "| Fault-free \(p.curveSplit) accuracy (the weights) | \(pct($0)) |\n" } ?? "")
    }

    static func resilienceSection(_ t: ResilienceTable) -> String {
        // The table's own unit: epochs, or training images of its schedule.
        let images = t.measuredInImages
        let axis = images ? "the image schedule \(t.schedule.map(String.init).joined(separator: ", ")) training images" : "\(t.epochs) FAT epochs"
        let unit = images ? "training images" : "epochs"
        let last = images ? "\(t.schedule.last!) images" : "\(t.epochs) epochs"
        let split = t.provenance.curveSplit
        var s = """

        ## Step 1: resilience

        \(t.rates.count) fault rates (\(t.rates.map(ReduceFigures.percent).joined(separator: ", "))) x \(t.repeats) random fault maps x \(axis), accuracy on the \(split) images.

        ![Fig. 2a: accuracy vs FAT \(unit) per fault rate](fig2a-accuracy-vs-epochs.svg)

        *Fig. 2a: \(split) accuracy after FAP alone (0) and after each FAT amount; line = mean over repeats, band = min to max.*

        \(images ? "Training images" : "Epochs") needed to reach each target, min / mean / max over repeats (`-` = not reached
        within \(last) in some repeat; reached k/\(t.repeats) counts the repeats that did):

        | Fault rate |
        """
        s += t.targets.map { " target \(ReduceFigures.percent($0)) |" }.joined() + "\n|---|"
        s += String(repeating: "---|", count: t.targets.count) + "\n"
        let stats = t.targets.map { t.needed(target: $0) }
        for (i, rate) in t.rates.enumerated() {
            s += "| \(ReduceFigures.percent(rate)) |"
            for perTarget in stats {
                let e = perTarget[i]
                let mean = e.mean.map { String(format: images ? "%.0f" : "%.2f", $0) } ?? "-"
                s += " \(e.min.map(String.init) ?? "-") / \(mean) / \(e.max.map(String.init) ?? "-") (reached \(e.reachedCount)/\(t.repeats)) |"
            }
            s += "\n"
        }
        s += """

        ![Fig. 2b: FAT \(unit) needed vs fault rate](fig2b-epochs-needed.svg)

        *Fig. 2b: \(unit) needed per target; square = mean, bar = min to max over repeats; a triangle on the "> \(images ? String(t.schedule.last!) : String(t.epochs))" row marks a rate where some repeat never reached the target.*

        """
        return s
    }

    static func calibrationSection(_ r: CampaignResults, confidence: Double?) -> String {
        var s = """

        ## Calibration of the confidence policy

        Each chip's budget came with a predicted probability of meeting the constraint\(confidence.map { " (stated confidence \(pct($0)))" } ?? ""); the mean of those
        probabilities is the share of chips predicted to meet it, against the share that met it on the test set,
        overall and in bins of equal chip counts by fault rate:

        | Group | Fault rate | Chips | Predicted share | Observed share |
        |---|---|---|---|---|

        """
        for b in r.calibration() {
            s += "| \(b.label) | \(ReduceFigures.percent(b.meanRate)) (mean) | \(b.chips) | \(pct(b.predicted)) | \(pct(b.observed)) |\n"
        }
        s += """

        ![Fig. 5: calibration of the confidence policy](fig5-calibration.svg)

        *Fig. 5: predicted share of chips meeting the constraint (mean p_meet) against the observed share, per fault-rate bin; with few chips per bin the observed share moves in steps of one chip.*

        """
        return s
    }

    static func campaignSection(_ r: CampaignResults, figures: [(letter: String, policy: String, name: String)]) -> String {
        var s = """

        ## Step 3: campaign

        Constraint: \(constraintLine(r)).

        | Policy | Chips | Meeting the constraint | Training images | Evaluation images while training | Total FAT epochs (whole) | Mean final accuracy | Flagged budgets |
        |---|---|---|---|---|---|---|---|

        """
        for p in r.summary() {
            let flagged = r.rows(policy: p.policy).filter { !$0.flags.isEmpty }
            let unreached = flagged.filter { $0.flags.contains("unreached") }.count
            let note = flagged.isEmpty ? "0" : "\(flagged.count) (\(unreached) unreached: trained the largest amount, or stopped at the cap)"
            s += "| \(p.policy) | \(p.chips) | \(p.met) | \(p.trainImages.map(String.init) ?? "-") | \(p.evalImages.map(String.init) ?? "-") | \(p.totalEpochs) | \(pct(p.meanAccuracy)) | \(note) |\n"
        }
        let savings = r.savings()
        if !savings.isEmpty {
            s += """

            Savings against the cheapest fixed policy meeting the constraint on at least as many chips (training
            images, plus the evaluation images a policy spends while training; a negative saving spends more):

            | Policy | Compared with | Its images | Fixed policy's images | Saving |
            |---|---|---|---|---|

            """
            for v in savings {
                let saving = v.saving.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
                s += "| \(v.policy) | \(v.against ?? "no fixed policy meets as many chips") | \(v.policyImages) | \(v.fixedImages.map(String.init) ?? "-") | \(saving) |\n"
            }
        }
        for f in figures {
            s += "\n![Fig. 3\(f.letter): policy \(f.policy)](\(f.name))\n\n"
            s += "*Fig. 3\(f.letter): policy \(f.policy), each chip's final accuracy (chips sorted by fault rate) against the constraint; rings mark chips whose budget was flagged.*\n"
        }
        s += """

        ![Fig. 3f: chips meeting the constraint and total epochs per policy](fig3f-summary.svg)

        *Fig. 3f: chips meeting the constraint (left) and total FAT epochs over all chips (right), per policy.*

        """
        return s
    }
}

extension ReduceReport {
    /// The rate-metric comparison for a report, when the inputs allow it: the
    /// resilience file must carry weight shares and the campaign's lot must be
    /// readable (its `lot_file` attribute). The rule is the conservative `max`
    /// policy at the campaign's target. Returns nil with the reason otherwise.
    public static func metricComparison(resiliencePath: String, table: ResilienceTable, campaign: CampaignResults,
                                        campaignPath: String) -> (comparison: MetricComparison?, note: String?) {
        guard table.weightShare != nil else { return (nil, "\(resiliencePath) has no weight shares (made before the weights metric)") }
        if table.measuredInImages {
            return (nil, "the comparison counts the whole FAT epochs each chip's own curve needed (the campaign's per-epoch curves table), and this campaign, on an image schedule, trains each chip one run to its largest amount and records no per-epoch curves")
        }
        guard case .string(let lot)? = campaign.attributes["lot_file"], FileManager.default.fileExists(atPath: lot) else {
            return (nil, "the campaign's lot file is not recorded or not readable")
        }
        do {
            let c = try MetricComparison.run(resilience: resiliencePath, lot: lot, campaign: campaignPath,
                                             rule: BudgetRule(target: budgetTarget(campaign), policy: .max))
            return (c, nil)
        } catch {
            return (nil, "\(error)")
        }
    }
}
