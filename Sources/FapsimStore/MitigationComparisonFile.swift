import Foundation
import FapsimSupport

/// The lot-level comparison of mitigations written by `fapsim mitigate compare`
/// (`content` = "mitigation_comparison", docs/hdf5-schema.md): for every chip
/// of a lot and every mitigation compared, whether the chip is usable, its
/// accuracy, its VGG11 cycles per image and throughput against a fault-free
/// chip, the PEs the mitigation adds, its array's area in synthesized cells
/// against a FAP array and the retraining it spent (`per_chip`),
/// the per-mitigation summary under the constraint (`summary`) and the yield
/// against the fault rate (`yield`). Reduce computes the values; the store owns
/// the layout and its checks.
///
/// A finished chip of the run is a small file of the same rows
/// (`chip-<c>.h5` in `OUT.work/`, content "mitigation_comparison_chip"): the
/// measured mitigations of one chip, written as soon as the chip is done.
public struct MitigationComparisonFile: Equatable, Sendable {
    public static let content = "mitigation_comparison"
    public static let chipContent = "mitigation_comparison_chip"

    /// One chip under one mitigation.
    public struct Row: Equatable, Sendable {
        public var chip: Int
        /// `fap`, `fam`, `rowcol`, or a retrained one from a campaign (`fap+T`, `fam+T`).
        public var mitigation: String
        public var faultyPEs: Int
        /// Faulty PEs / R x C: the chip's actual fault rate.
        public var faultShare: Double
        /// False when the mitigation leaves no array to run on (rowcol with every PE faulty).
        public var usable: Bool
        /// Top-1 accuracy (fraction) on `testImages` test images; NaN when unusable.
        public var accuracy: Double
        public var testImages: Int
        /// VGG11 cycles per image by the closed form; -1 when unusable.
        public var cyclesPerImage: Int
        /// Fault-free cycles / this chip's cycles; NaN when unusable.
        public var throughput: Double
        /// PEs the mitigation adds to the array (0 for FAP, FAM, rowcol).
        public var pesAdded: Int
        /// Training images spent retraining this chip (0 for untrained mitigations).
        public var retrainingImages: Int
        /// How the accuracy was obtained: `evaluated`, `fault-free logits`, `campaign POLICY`, `unusable`.
        public var source: String
        /// The accuracy the chip must reach on its own test images (the
        /// constraint applied to the baseline of those images); NaN in a chip file,
        /// which holds measurements only.
        public var accuracyThreshold: Double = .nan
        /// The array's cells under this mitigation / a FAP array's (PE cells
        /// from the synthesis, docs/mitigations.md "Area in the comparison");
        /// NaN when not available, in a chip file (the area is the
        /// mitigation's, not a measurement: it is added when the file is
        /// assembled) and in files written before the area existed.
        public var areaVsFAP: Double = .nan

        public init(chip: Int, mitigation: String, faultyPEs: Int, faultShare: Double, usable: Bool, accuracy: Double,
                    testImages: Int, cyclesPerImage: Int, throughput: Double, pesAdded: Int, retrainingImages: Int,
                    source: String, accuracyThreshold: Double = .nan, areaVsFAP: Double = .nan) {
            self.chip = chip
            self.mitigation = mitigation
            self.faultyPEs = faultyPEs
            self.faultShare = faultShare
            self.usable = usable
            self.accuracy = accuracy
            self.testImages = testImages
            self.cyclesPerImage = cyclesPerImage
            self.throughput = throughput
            self.pesAdded = pesAdded
            self.retrainingImages = retrainingImages
            self.source = source
            self.accuracyThreshold = accuracyThreshold
            self.areaVsFAP = areaVsFAP
        }

        /// NaN-aware equality (NaN marks "none" in accuracy, throughput and the threshold).
        public static func == (a: Row, b: Row) -> Bool {
            a.chip == b.chip && a.mitigation == b.mitigation && a.faultyPEs == b.faultyPEs && a.faultShare == b.faultShare
                && a.usable == b.usable && sameNumber(a.accuracy, b.accuracy) && a.testImages == b.testImages
                && a.cyclesPerImage == b.cyclesPerImage && sameNumber(a.throughput, b.throughput) && a.pesAdded == b.pesAdded
                && a.retrainingImages == b.retrainingImages && a.source == b.source && sameNumber(a.accuracyThreshold, b.accuracyThreshold)
                && sameNumber(a.areaVsFAP, b.areaVsFAP)
        }
    }

    /// One mitigation over the lot.
    public struct Summary: Equatable, Sendable {
        public var mitigation: String
        /// Chips with a row (a campaign may cover part of the lot).
        public var chips: Int
        public var usable: Int
        /// Chips meeting both the accuracy and the throughput constraint.
        public var meeting: Int
        /// Mean throughput over the usable chips (NaN when none).
        public var meanThroughput: Double
        /// PEs added per chip (the same on every chip of a lot).
        public var pesAdded: Int
        /// Training images over every chip.
        public var retrainingImages: Int
        /// The array's cells / a FAP array's (NaN when not available).
        public var areaVsFAP: Double
        /// How the area was formed ("65536 rowcol-reg PEs + 512 line-enable
        /// flip-flops"), or why it is not available.
        public var areaBasis: String

        /// The area as the tables print it: the ratio to 3 decimals, or "not available".
        public var areaText: String { areaVsFAP.isNaN ? "not available" : String(format: "%.3f", areaVsFAP) }

        /// Files written before the area existed have neither column.
        public static let areaNotRecorded = "not available: not recorded (a file written before the area column)"

        public init(mitigation: String, chips: Int, usable: Int, meeting: Int, meanThroughput: Double, pesAdded: Int,
                    retrainingImages: Int, areaVsFAP: Double = .nan, areaBasis: String = Summary.areaNotRecorded) {
            self.mitigation = mitigation
            self.chips = chips
            self.usable = usable
            self.meeting = meeting
            self.meanThroughput = meanThroughput
            self.pesAdded = pesAdded
            self.retrainingImages = retrainingImages
            self.areaVsFAP = areaVsFAP
            self.areaBasis = areaBasis
        }

        public static func == (a: Summary, b: Summary) -> Bool {
            a.mitigation == b.mitigation && a.chips == b.chips && a.usable == b.usable && a.meeting == b.meeting
                && sameNumber(a.meanThroughput, b.meanThroughput)
                && a.pesAdded == b.pesAdded && a.retrainingImages == b.retrainingImages
                && sameNumber(a.areaVsFAP, b.areaVsFAP) && a.areaBasis == b.areaBasis
        }
    }

    /// One point of a yield curve: the chips of one fault-rate bin under one mitigation.
    public struct YieldPoint: Equatable, Sendable {
        public var mitigation: String
        /// The bin [low, high) of the fault share (the last bin includes its high end).
        public var binLow: Double
        public var binHigh: Double
        /// Mean fault share of the bin's chips (the curve's x).
        public var meanFaultShare: Double
        public var chips: Int
        public var meeting: Int

        public init(mitigation: String, binLow: Double, binHigh: Double, meanFaultShare: Double, chips: Int, meeting: Int) {
            self.mitigation = mitigation
            self.binLow = binLow
            self.binHigh = binHigh
            self.meanFaultShare = meanFaultShare
            self.chips = chips
            self.meeting = meeting
        }

        /// The share of the bin's chips meeting the constraints (the curve's y).
        public var yield: Double { chips == 0 ? 0 : Double(meeting) / Double(chips) }
    }

    public var rows: [Row]
    public var summary: [Summary]
    public var yieldCurve: [YieldPoint]
    /// Inputs and settings: lot and weights with their checksums, the array, the
    /// constraint (`min_throughput`, `target` or `below_baseline`), the baseline,
    /// the fault-free cycles per image, the campaigns read.
    public var attributes: [String: AttributeValue]

    public init(rows: [Row], summary: [Summary], yieldCurve: [YieldPoint], attributes: [String: AttributeValue]) {
        self.rows = rows
        self.summary = summary
        self.yieldCurve = yieldCurve
        self.attributes = attributes
    }

    /// Whether a row meets the constraint: usable, accuracy >= its threshold
    /// and throughput >= `minThroughput`. Stored as `meets` for pandas, and
    /// checked against the values on read.
    public static func meets(_ r: Row, minThroughput: Double) -> Bool {
        r.usable && r.accuracy >= r.accuracyThreshold && r.throughput >= minThroughput
    }

    // MARK: tables

    /// The `per_chip` table (also the whole of a chip file).
    public static func rowsTable(_ rows: [Row], minThroughput: Double? = nil) -> ResultsTable {
        var columns: [ResultsColumn] = [
            .int64("chip", units: "index", rows.map { Int64($0.chip) }),
            .string("mitigation", rows.map(\.mitigation)),
            .int64("faulty_pes", units: "count", rows.map { Int64($0.faultyPEs) }),
            .double("fault_share", units: "1", rows.map(\.faultShare), description: "faulty PEs / (rows x cols)"),
            .int64("usable", units: "1", rows.map { $0.usable ? 1 : 0 }, description: "0 = the mitigation leaves no array to run on"),
            .double("accuracy", units: "1", rows.map(\.accuracy), description: "top-1 test accuracy; NaN when unusable"),
            .int64("test_images", units: "count", rows.map { Int64($0.testImages) }, description: "test images the accuracy was measured on"),
            .int64("cycles_per_image", units: "cycles", rows.map { Int64($0.cyclesPerImage) },
                   description: "VGG11's GEMMs for one image, closed form; -1 when unusable"),
            .double("throughput", units: "1", rows.map(\.throughput), description: "fault-free cycles / cycles_per_image; NaN when unusable"),
            .int64("pes_added", units: "count", rows.map { Int64($0.pesAdded) }, description: "PEs the mitigation adds to the array"),
            .int64("retraining_images", units: "count", rows.map { Int64($0.retrainingImages) },
                   description: "training images spent retraining the chip; 0 = not retrained"),
            .string("source", rows.map(\.source), description: "evaluated, fault-free logits, campaign POLICY, unusable"),
        ]
        if let minThroughput {
            columns.append(.double("accuracy_threshold", units: "1", rows.map(\.accuracyThreshold),
                                   description: "the accuracy constraint on this row's test images"))
            columns.append(.int64("meets", units: "1", rows.map { meets($0, minThroughput: minThroughput) ? 1 : 0 },
                                  description: "1 = usable, accuracy >= accuracy_threshold and throughput >= min_throughput"))
            columns.append(.double("area_vs_fap", units: "1", rows.map(\.areaVsFAP),
                                   description: "the array's synthesized cells / a FAP array's; NaN = not available (summary area_basis says why)"))
        }
        return ResultsTable(name: "per_chip", columns: columns, attributes: ["description": .string("one row per (chip, mitigation)")])
    }

    /// A finished chip's file in the work directory.
    public static func chipFile(chip: Int, rows: [Row]) -> ResultsFile {
        ResultsFile(content: chipContent, attributes: ["chip": .int(Int64(chip))], tables: [rowsTable(rows)])
    }

    /// The rows of a chip file (or of the final file's `per_chip`), checked.
    public static func readRows(_ f: ResultsReader) throws -> [Row] {
        let t = try f.table("per_chip")
        let chip = try f.ints(t, "chip"), mitigation = try f.strings(t, "mitigation"), faulty = try f.ints(t, "faulty_pes")
        let share = try f.doubles(t, "fault_share"), usable = try f.ints(t, "usable"), acc = try f.doubles(t, "accuracy")
        let images = try f.ints(t, "test_images"), cycles = try f.ints(t, "cycles_per_image"), thr = try f.doubles(t, "throughput")
        let pes = try f.ints(t, "pes_added"), retrain = try f.ints(t, "retraining_images"), source = try f.strings(t, "source")
        let threshold = t["accuracy_threshold"] == nil ? nil : try f.doubles(t, "accuracy_threshold")
        // Absent from chip files and from files written before the area existed.
        let area = t["area_vs_fap"] == nil ? nil : try f.doubles(t, "area_vs_fap")
        var counts: [Int] = [mitigation.count, faulty.count, share.count, usable.count, acc.count, images.count, cycles.count,
                             thr.count, pes.count, retrain.count, source.count]
        if let threshold { counts.append(threshold.count) }
        if let area { counts.append(area.count) }
        guard counts.allSatisfy({ $0 == chip.count }) else { throw f.malformed(t, "columns of different lengths") }
        return try chip.indices.map { i in
            guard usable[i] == 0 || usable[i] == 1 else { throw f.malformed(t, "row \(i): usable: expected 0 or 1, got \(usable[i])") }
            if usable[i] == 1 {
                guard acc[i] >= 0, acc[i] <= 1 else { throw f.malformed(t, "row \(i): accuracy: expected a fraction in [0, 1], got \(acc[i])") }
                guard cycles[i] > 0 else { throw f.malformed(t, "row \(i): cycles_per_image: expected a positive count, got \(cycles[i])") }
            }
            return Row(chip: Int(chip[i]), mitigation: mitigation[i], faultyPEs: Int(faulty[i]), faultShare: share[i],
                       usable: usable[i] == 1, accuracy: acc[i], testImages: Int(images[i]), cyclesPerImage: Int(cycles[i]),
                       throughput: thr[i], pesAdded: Int(pes[i]), retrainingImages: Int(retrain[i]), source: source[i],
                       accuracyThreshold: threshold?[i] ?? .nan, areaVsFAP: area?[i] ?? .nan)
        }
    }

    public func resultsFile() throws -> ResultsFile {
        guard case .double(let minThroughput)? = attributes["min_throughput"] else {
            throw FapsimError("mitigation comparison: attribute min_throughput: expected a number (the throughput constraint)")
        }
        var attrs = attributes
        attrs["mitigations"] = .strings(summary.map(\.mitigation))
        return ResultsFile(content: Self.content, attributes: attrs, tables: [
            Self.rowsTable(rows, minThroughput: minThroughput),
            ResultsTable(name: "summary", columns: [
                .string("mitigation", summary.map(\.mitigation)),
                .int64("chips", units: "count", summary.map { Int64($0.chips) }),
                .int64("usable", units: "count", summary.map { Int64($0.usable) }),
                .int64("meeting", units: "count", summary.map { Int64($0.meeting) }, description: "chips meeting the accuracy and the throughput constraint"),
                .double("mean_throughput", units: "1", summary.map(\.meanThroughput), description: "over the usable chips, relative to a fault-free chip"),
                .int64("pes_added", units: "count", summary.map { Int64($0.pesAdded) }, description: "per chip"),
                .int64("retraining_images", units: "count", summary.map { Int64($0.retrainingImages) }, description: "over every chip"),
                .double("area_vs_fap", units: "1", summary.map(\.areaVsFAP),
                        description: "the array's synthesized cells / a FAP array's (PEs only); NaN = not available"),
                .string("area_basis", summary.map(\.areaBasis), description: "how area_vs_fap was formed, or why it is not available"),
            ], attributes: ["description": .string("one row per mitigation")]),
            ResultsTable(name: "yield", columns: [
                .string("mitigation", yieldCurve.map(\.mitigation)),
                .double("bin_low", units: "1", yieldCurve.map(\.binLow), description: "fault share bin [low, high); the last bin includes high"),
                .double("bin_high", units: "1", yieldCurve.map(\.binHigh)),
                .double("mean_fault_share", units: "1", yieldCurve.map(\.meanFaultShare)),
                .int64("chips", units: "count", yieldCurve.map { Int64($0.chips) }),
                .int64("meeting", units: "count", yieldCurve.map { Int64($0.meeting) }),
                .double("yield", units: "1", yieldCurve.map(\.yield), description: "meeting / chips"),
            ], attributes: ["description": .string("per mitigation and fault-rate bin, the chips meeting both constraints")]),
        ])
    }

    /// Writes atomically; refuses to replace `path` unless `force`.
    public func write(path: String, force: Bool) throws {
        for key in attributes.keys where key == "mitigations" {
            throw FapsimError("\(path): attribute '\(key)' is written from the summary itself")
        }
        try resultsFile().write(path: path, force: force)
    }

    public static func read(path: String) throws -> MitigationComparisonFile {
        let f = try ResultsReader(path: path, content: content)
        let minThroughput = try f.double("min_throughput")
        let rows = try readRows(f)
        let t = try f.table("per_chip")
        let meets = try f.ints(t, "meets")
        if let bad = rows.indices.first(where: { (meets[$0] != 0) != Self.meets(rows[$0], minThroughput: minThroughput) }) {
            throw f.malformed(t, "row \(bad): meets \(meets[bad]) disagrees with usable, accuracy, accuracy_threshold, throughput and min_throughput \(minThroughput)")
        }
        let s = try f.table("summary")
        let sm = try f.strings(s, "mitigation"), sc = try f.ints(s, "chips"), su = try f.ints(s, "usable")
        let sme = try f.ints(s, "meeting"), st = try f.doubles(s, "mean_throughput"), sp = try f.ints(s, "pes_added")
        let sr = try f.ints(s, "retraining_images")
        // Files written before the area existed have neither column: their area is "not recorded".
        let sa = s["area_vs_fap"] == nil ? nil : try f.doubles(s, "area_vs_fap")
        let sb = s["area_basis"] == nil ? nil : try f.strings(s, "area_basis")
        guard [sc.count, su.count, sme.count, st.count, sp.count, sr.count].allSatisfy({ $0 == sm.count }),
              sa.map({ $0.count == sm.count }) ?? true, sb.map({ $0.count == sm.count }) ?? true else {
            throw f.malformed(s, "columns of different lengths")
        }
        let y = try f.table("yield")
        let ym = try f.strings(y, "mitigation"), yl = try f.doubles(y, "bin_low"), yh = try f.doubles(y, "bin_high")
        let yx = try f.doubles(y, "mean_fault_share"), yc = try f.ints(y, "chips"), yme = try f.ints(y, "meeting")
        guard [yl.count, yh.count, yx.count, yc.count, yme.count].allSatisfy({ $0 == ym.count }) else {
            throw f.malformed(y, "columns of different lengths")
        }
        var attrs = f.file.attributes
        attrs["mitigations"] = nil
        return MitigationComparisonFile(
            rows: rows,
            summary: sm.indices.map { Summary(mitigation: sm[$0], chips: Int(sc[$0]), usable: Int(su[$0]), meeting: Int(sme[$0]),
                                              meanThroughput: st[$0], pesAdded: Int(sp[$0]), retrainingImages: Int(sr[$0]),
                                              areaVsFAP: sa?[$0] ?? .nan, areaBasis: sb?[$0] ?? Summary.areaNotRecorded) },
            yieldCurve: ym.indices.map { YieldPoint(mitigation: ym[$0], binLow: yl[$0], binHigh: yh[$0], meanFaultShare: yx[$0],
                                                    chips: Int(yc[$0]), meeting: Int(yme[$0])) },
            attributes: attrs)
    }
}

/// Equal, or both NaN (NaN marks "none" in the comparison's numbers).
private func sameNumber(_ x: Double, _ y: Double) -> Bool { x == y || (x.isNaN && y.isNaN) }
