import Foundation
import FapsimSupport
import Network
import SystolicArray

/// Accuracy of the int8 VGG11 against the fraction of faulty PEs, with the same
/// maps run two ways: every faulty PE bypassed (FAP), and every faulty PE left
/// unmitigated with a stuck-at bit on its partial-sum output (docs/stuck-at.md).
public struct StuckAtCurve: Sendable {
    public struct Point: Sendable, Equatable {
        public var rate: Double
        public var map: Int
        public var mapSeed: UInt64
        public var faultyPEs: Int
        public var fapCorrect: Int
        public var unmitigatedCorrect: Int
        /// Wall seconds of the two evaluations (0 for a point read back from its file).
        public var fapSeconds: Double
        public var unmitigatedSeconds: Double
    }

    /// What a point's result depends on besides its rate and map: a finished point
    /// is reused only if its file records the same values.
    public struct Identity: Sendable, Equatable {
        /// FNV-1a 64 of the quantized weights file.
        public var quantizedChecksum: String
        public var array: String
        public var images: Int
        public var stuckBits: String
        public var seed: UInt64

        public init(quantizedChecksum: String, config: HardwareConfig, images: Int, bits: StuckBitDistribution, seed: UInt64) {
            self.quantizedChecksum = quantizedChecksum
            array = "\(config.rows)x\(config.cols)"
            self.images = images
            stuckBits = bits.description
            self.seed = seed
        }
    }

    /// A folder of finished points, one JSON file each, written atomically as soon
    /// as the point is done, so a killed sweep loses at most the point it was on.
    public struct PointFolder: Sendable {
        public var path: String
        /// Reuse the finished points found there (checked against the identity).
        public var resume: Bool
        /// Recompute and replace the points found there.
        public var force: Bool

        public init(path: String, resume: Bool, force: Bool) {
            self.path = path
            self.resume = resume
            self.force = force
        }

        public func file(rate: Double, map: Int) -> String {
            path + "/" + String(format: "rate%g-map%ld.json", rate, map)
        }
    }

    public var rates: [Double]
    public var maps: Int
    public var seed: UInt64
    public var bits: StuckBitDistribution
    public var images: Int
    public var array: String
    public var points: [Point] = []

    /// Map i of every rate is `FaultMap.uniform` from seed + i, and its stuck bits
    /// are drawn from the same seed, so a point can be rerun alone with
    /// `fapsim evaluate --fault-rate R --seed S [--unmitigated]`, and a point does
    /// not depend on which other rates the sweep holds. With one seed, the maps of
    /// a lower rate are the first PEs of the same shuffle, so they nest: every PE
    /// faulty at 0.01% is faulty at 0.1%.
    public static func mapSeed(_ seed: UInt64, map: Int) -> UInt64 {
        seed &+ UInt64(map)
    }

    /// Checks that every rate gives at least one faulty PE on `config`'s array
    /// (`FaultMap.faultyCount(rate:rows:cols:)` rounds to the nearest PE count).
    public static func checkRates(_ rates: [Double], config: HardwareConfig) throws {
        for r in rates where FaultMap.faultyCount(rate: r, rows: config.rows, cols: config.cols) == 0 {
            let pes = config.rows * config.cols
            throw FapsimError.invalid(file: nil, field: "--rates",
                                      expected: String(format: "rates of at least half a PE of the %ldx%ld array (%g, 0.5 of its %ld PEs)",
                                                       config.rows, config.cols, 0.5 / Double(pes), pes),
                                      got: String(format: "%g (%.2f PEs, which rounds to 0 faulty PEs)", r, r * Double(pes)))
        }
    }

    public static func run(model: QuantizedVGG11, identity: Identity, config: HardwareConfig, test: CIFAR10Set,
                           rates: [Double], maps: Int, bits: StuckBitDistribution, folder: PointFolder?, workers: Int = 1,
                           progress: (_ remainingImages: Int) -> ProgressLine?) throws -> StuckAtCurve {
        guard !rates.isEmpty, maps > 0 else { throw FapsimError("--rates and --maps: expected at least one rate and one map") }
        try checkRates(rates, config: config)
        if let folder { try prepare(folder) }
        let seed = identity.seed
        var curve = StuckAtCurve(rates: rates, maps: maps, seed: seed, bits: bits, images: test.count, array: identity.array)
        var finished: [Int: Point] = [:]
        for (ri, rate) in rates.enumerated() {
            for i in 0..<maps {
                guard let folder, folder.resume, FileManager.default.fileExists(atPath: folder.file(rate: rate, map: i)) else { continue }
                finished[ri * maps + i] = try readPoint(folder.file(rate: rate, map: i), identity: identity, rate: rate, map: i,
                                                        mapSeed: mapSeed(seed, map: i))
            }
        }
        let line = progress((rates.count * maps - finished.count) * 2 * test.count)
        for (ri, rate) in rates.enumerated() {
            for i in 0..<maps {
                if let p = finished[ri * maps + i] { curve.points.append(p); continue }
                let s = mapSeed(seed, map: i)
                let faults = try FaultMap.uniform(rows: config.rows, cols: config.cols, rate: rate, seed: s)
                let stuckAt = bits.draw(faults: faults, seed: s)
                // One network and engine per worker (each keeps its own buffers); the
                // evaluator's batches give the same predictions on any worker count.
                let fap = try (0..<max(1, workers)).map { _ in
                    QuantizedNetwork(model: model, engine: try Int8FunctionalEngine(config: config, chip: ChipDescription(faults: faults)))
                }
                let stuck = try (0..<max(1, workers)).map { _ in
                    QuantizedNetwork(model: model, engine: try Int8FunctionalEngine(config: config, stuckAt: stuckAt))
                }
                let t0 = Date()
                let a = try Evaluator.evaluate(networks: fap, data: test, progress: line)
                let t1 = Date()
                let b = try Evaluator.evaluate(networks: stuck, data: test, progress: line)
                let p = Point(rate: rate, map: i, mapSeed: s, faultyPEs: faults.faultyCount, fapCorrect: a.correct,
                              unmitigatedCorrect: b.correct, fapSeconds: t1.timeIntervalSince(t0),
                              unmitigatedSeconds: Date().timeIntervalSince(t1))
                if let folder {
                    try AtomicWrite.write(text: JSONOutput.string(pointJSON(p, identity: identity)) + "\n",
                                          to: folder.file(rate: rate, map: i), force: true)
                }
                curve.points.append(p)
            }
        }
        line?.finish()
        return curve
    }

    /// Creates the folder, or refuses one holding points unless --resume or --force says what to do with them.
    static func prepare(_ folder: PointFolder) throws {
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDir) {
            do { try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: false) } catch {
                throw FapsimError("\(folder.path): cannot create the points folder (\(error.localizedDescription))")
            }
            return
        }
        guard isDir.boolValue else { throw FapsimError.invalid(file: folder.path, field: "--points", expected: "a folder", got: "a file") }
        let held = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasPrefix("rate") && $0.hasSuffix(".json") }
        if !held.isEmpty && !folder.resume && !folder.force {
            throw FapsimError("\(folder.path): holds \(held.count) finished points; pass --resume to reuse them or --force to recompute them")
        }
    }

    static func pointJSON(_ p: Point, identity: Identity) -> [String: Any] {
        ["kind": "fapsim.stuck_at_point", "rate": p.rate, "map": p.map, "map_seed": p.mapSeed, "faulty_pes": p.faultyPEs,
         "fap_correct": p.fapCorrect, "unmitigated_correct": p.unmitigatedCorrect,
         "fap_seconds": p.fapSeconds, "unmitigated_seconds": p.unmitigatedSeconds,
         "quantized_fnv1a64": identity.quantizedChecksum, "array": identity.array, "images": identity.images,
         "stuck_bits": identity.stuckBits, "seed": identity.seed]
    }

    /// Reads a finished point back; any field that differs from this run is a one-line error naming it.
    static func readPoint(_ path: String, identity: Identity, rate: Double, map: Int, mapSeed: UInt64) throws -> Point {
        guard let data = FileManager.default.contents(atPath: path),
              let j = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FapsimError.invalid(file: path, field: "(file)", expected: "a stuck-at-curve point (JSON object)")
        }
        func field<T>(_ name: String, _ type: T.Type) throws -> T {
            guard let v = j[name] as? T else {
                throw FapsimError.invalid(file: path, field: name, expected: "a \(T.self)", got: j[name].map { "\($0)" } ?? "nothing")
            }
            return v
        }
        func check<T: Equatable>(_ name: String, _ expected: T, _ got: T) throws {
            guard expected == got else {
                throw FapsimError.invalid(file: path, field: name, expected: "\(expected) as in this run (or --force to recompute)",
                                          got: "\(got)")
            }
        }
        guard try field("kind", String.self) == "fapsim.stuck_at_point" else {
            throw FapsimError.invalid(file: path, field: "kind", expected: "fapsim.stuck_at_point", got: "\(j["kind"] ?? "")")
        }
        try check("quantized_fnv1a64", identity.quantizedChecksum, try field("quantized_fnv1a64", String.self))
        try check("array", identity.array, try field("array", String.self))
        try check("images", identity.images, try field("images", Int.self))
        try check("stuck_bits", identity.stuckBits, try field("stuck_bits", String.self))
        try check("rate", rate, try field("rate", Double.self))
        try check("map", map, try field("map", Int.self))
        try check("map_seed", mapSeed, UInt64(try field("map_seed", Int.self)))
        let images = identity.images
        let fap = try field("fap_correct", Int.self), stuck = try field("unmitigated_correct", Int.self)
        for (name, v) in [("fap_correct", fap), ("unmitigated_correct", stuck)] where !(0...images).contains(v) {
            throw FapsimError.invalid(file: path, field: name, expected: "a count of correct images in 0...\(images)", got: "\(v)")
        }
        return Point(rate: rate, map: map, mapSeed: mapSeed, faultyPEs: try field("faulty_pes", Int.self), fapCorrect: fap,
                     unmitigatedCorrect: stuck, fapSeconds: 0, unmitigatedSeconds: 0)
    }

    /// Per rate: faulty PEs, and the min, mean and max accuracy (percent) of each way.
    public var rows: [(rate: Double, faultyPEs: Int, fap: (Double, Double, Double), unmitigated: (Double, Double, Double))] {
        rates.map { r in
            let ps = points.filter { $0.rate == r }
            func stats(_ v: [Int]) -> (Double, Double, Double) {
                let pct = v.map { 100 * Double($0) / Double(max(images, 1)) }
                return (pct.min() ?? 0, pct.reduce(0, +) / Double(max(pct.count, 1)), pct.max() ?? 0)
            }
            return (r, ps.first?.faultyPEs ?? 0, stats(ps.map(\.fapCorrect)), stats(ps.map(\.unmitigatedCorrect)))
        }
    }

    /// The table as markdown: one row per rate with its faulty PE count, then
    /// min / mean / max over the maps of each way.
    public var markdown: String {
        var s = "| faulty PEs (rate) | unmitigated stuck-at (\(bits)), min / mean / max | FAP, same PEs, min / mean / max |\n"
        s += "|---|---|---|\n"
        for r in rows {
            s += String(format: "| %ld (%g%%) | %.2f / %.2f / %.2f%% | %.2f / %.2f / %.2f%% |\n", r.faultyPEs, 100 * r.rate,
                        r.unmitigated.0, r.unmitigated.1, r.unmitigated.2, r.fap.0, r.fap.1, r.fap.2)
        }
        return s
    }

    /// One CSV row per (rate, map): the raw points behind the table and the figure.
    public var csv: String {
        var s = "rate,map,map_seed,faulty_pes,stuck_bits,images,unmitigated_correct,fap_correct,unmitigated_accuracy,fap_accuracy\n"
        for p in points {
            s += String(format: "%g,%ld,%llu,%ld,%@,%ld,%ld,%ld,%.4f,%.4f\n", p.rate, p.map, p.mapSeed, p.faultyPEs,
                        bits.description, images, p.unmitigatedCorrect, p.fapCorrect,
                        Double(p.unmitigatedCorrect) / Double(max(images, 1)), Double(p.fapCorrect) / Double(max(images, 1)))
        }
        return s
    }

    public var json: [String: Any] {
        [
            "images": images, "maps": maps, "seed": seed, "stuck_bits": bits.description, "array": array,
            "points": points.map { p -> [String: Any] in
                ["rate": p.rate, "map": p.map, "map_seed": p.mapSeed, "faulty_pes": p.faultyPEs,
                 "fap_accuracy": Double(p.fapCorrect) / Double(max(images, 1)),
                 "unmitigated_accuracy": Double(p.unmitigatedCorrect) / Double(max(images, 1)),
                 "fap_seconds": p.fapSeconds, "unmitigated_seconds": p.unmitigatedSeconds]
            },
        ]
    }
    /// Accuracy against log10(rate): mean lines with min-max bands, and the FAP
    /// paper's 0.006% marked.
    public func svg() -> String {
        let xs = rates.map { log10($0) }
        let lo = (xs.min() ?? -5).rounded(.down), hi = (xs.max() ?? 0).rounded(.up)
        var c = SVGChart(title: "int8 VGG11 on \(array): stuck-at (\(bits)) vs FAP, \(maps) map\(maps == 1 ? "" : "s") per rate, \(images) images",
                         xLabel: "faulty PEs, share of the array (log scale; band: min-max over maps)", yLabel: "top-1 accuracy (%)", xDomain: lo...hi, yDomain: 0...100)
        c.xTicks = stride(from: lo, through: hi, by: 1).map { e in
            let pct = 100 * pow(10, e)
            return (e, pct >= 1 ? String(format: "%.0f%%", pct) : String(format: "%g%%", pct))
        }
        let r = rows
        c.marks.append(.band(name: "FAP min-max", color: "#1f77b4", x: xs, low: r.map(\.fap.0), high: r.map(\.fap.2)))
        c.marks.append(.line(name: "FAP (bypass)", color: "#1f77b4", points: zip(xs, r).map { SVGPoint($0, $1.fap.1) },
                             dashed: false, markers: true))
        c.marks.append(.band(name: "stuck-at min-max", color: "#d62728", x: xs, low: r.map(\.unmitigated.0),
                             high: r.map(\.unmitigated.2)))
        c.marks.append(.line(name: "unmitigated stuck-at", color: "#d62728",
                             points: zip(xs, r).map { SVGPoint($0, $1.unmitigated.1) }, dashed: false, markers: true))
        let paper = log10(0.00006)
        c.marks.append(.line(name: "0.006% (FAP paper's collapse)", color: "#555555",
                             points: [SVGPoint(paper, 0), SVGPoint(paper, 100)], dashed: true, markers: false))
        c.hiddenFromLegend = ["FAP min-max", "stuck-at min-max"]
        return c.render()
    }
}
