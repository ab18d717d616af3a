import ArgumentParser
import Foundation
import FapsimSupport
import Network
import SystolicArray

/// `fapsim bench rowcol`: the figures of docs/mitigations.md for row/column
/// bypass. (1) The greedy heuristic's gap to the exact choice on arrays small
/// enough for both (random uniform maps at several rates). (2) On the full
/// array, the sub-array the heuristic keeps and what it costs VGG11 in cycles
/// per image (closed form, equal to the register-level array) against FAP on
/// the same chip.
struct BenchRowColCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rowcol",
        abstract: "Row/column bypass: the greedy choice's gap to the exact one, and VGG11 cycles per image against FAP, as JSON (docs/mitigations.md).")

    @Option(help: "Comma-separated square array sizes solved both exactly and greedily.") var sizes: String = "4,6,8,10,12"
    @Option(help: "Comma-separated fault rates for the gap table.") var rates: String = "0.02,0.05,0.1,0.2,0.3"
    @Option(help: "Random maps per (size, rate).") var maps: Int = 200
    @Option(help: "Hardware config YAML of the full array.") var config: String = "hw-configs/tpu-256x256.yaml"
    @Option(name: .customLong("full-rates"), help: "Comma-separated fault rates on the full array.")
    var fullRates: String = "0.0001,0.0005,0.001,0.005,0.01"
    @Option(name: .customLong("full-maps"), help: "Random maps per rate on the full array.") var fullMaps: Int = 5
    @Option(help: "Seed of the fault maps.") var seed: UInt64 = 1
    @Flag(help: "JSON output (the default; kept for symmetry with other commands).") var json = false

    static func list<T>(_ text: String, _ option: String, _ parse: (String) -> T?, valid: (T) -> Bool) throws -> [T] {
        let items = text.split(separator: ",").map { parse($0.trimmingCharacters(in: .whitespaces)) }
        guard !items.isEmpty, items.allSatisfy({ $0.map(valid) ?? false }) else {
            throw FapsimError("--\(option): expected a comma-separated list of valid values, got '\(text)'")
        }
        return items.map { $0! }
    }

    func run() throws {
        let sizeList = try Self.list(sizes, "sizes", { Int($0) }, valid: { $0 >= 1 && $0 <= RowColumnBypass.exactLimit })
        let rateList = try Self.list(rates, "rates", { Double($0) }, valid: { $0 >= 0 && $0 <= 1 })
        let fullRateList = try Self.list(fullRates, "full-rates", { Double($0) }, valid: { $0 >= 0 && $0 <= 1 })
        guard maps >= 1, fullMaps >= 1 else {
            throw FapsimError("--maps / --full-maps: expected positive counts, got \(maps) / \(fullMaps)")
        }
        let spec = try VGG11Spec(width: 1)
        let gemms = spec.gemmLayers.map { layer -> RowColumnBypass.GEMMSize in
            let s = layer.shape(batch: 1)
            return RowColumnBypass.GEMMSize(m: s.m, k: s.k, n: s.n)
        }
        func vggCycles(_ lanes: ArrayLanes) -> Int {
            gemms.reduce(0) { $0 + RowColumnBypass.singleBufferedCycles($1, rows: lanes.rows.count, cols: lanes.cols.count) }
        }
        var gap: [[String: Any]] = []
        for size in sizeList {
            for rate in rateList {
                var rng = SeededRNG.derived(seed: seed, UInt64(size * 1000) + UInt64(rate * 1e4))
                var exactShare = 0.0, greedyShare = 0.0, worst = 0.0, ratioSum = 0.0, optimal = 0, usable = 0
                var exactSeconds = 0.0, greedySeconds = 0.0
                // The same under the cycles objective (VGG11's GEMMs for one image).
                var cycleRatioSum = 0.0, cycleWorst = 0.0, cycleOptimal = 0
                for _ in 0..<maps {
                    let faults = try FaultMap.uniform(rows: size, cols: size, rate: rate, rng: &rng)
                    var t = ProcessStats.now()
                    let exact = RowColumnBypass.exact(faults: faults)?.area ?? 0
                    exactSeconds += ProcessStats.now() - t
                    t = ProcessStats.now()
                    let greedy = RowColumnBypass.greedy(faults: faults)?.area ?? 0
                    greedySeconds += ProcessStats.now() - t
                    exactShare += Double(exact) / Double(size * size)
                    greedyShare += Double(greedy) / Double(size * size)
                    guard exact > 0 else { continue }
                    usable += 1
                    let objective = RowColumnBypass.Objective.cycles(gemms: gemms)
                    let exactCycles = vggCycles(RowColumnBypass.exact(faults: faults, objective: objective)!)
                    let greedyCycles = vggCycles(RowColumnBypass.greedy(faults: faults, objective: objective)!)
                    let excess = Double(greedyCycles) / Double(exactCycles) - 1
                    cycleRatioSum += excess
                    cycleWorst = max(cycleWorst, excess)
                    if greedyCycles == exactCycles { cycleOptimal += 1 }
                    let ratio = Double(greedy) / Double(exact)
                    ratioSum += ratio
                    worst = max(worst, 1 - ratio)
                    if greedy == exact { optimal += 1 }
                }
                gap.append([
                    "size": size, "rate": rate, "maps": maps, "usable_maps": usable,
                    "mean_exact_area_share": exactShare / Double(maps), "mean_greedy_area_share": greedyShare / Double(maps),
                    "mean_gap": usable == 0 ? 0 : 1 - ratioSum / Double(usable), "worst_gap": worst,
                    "greedy_optimal_share": usable == 0 ? 1 : Double(optimal) / Double(usable),
                    "exact_seconds_per_map": exactSeconds / Double(maps), "greedy_seconds_per_map": greedySeconds / Double(maps),
                    "cycles_objective_mean_excess": usable == 0 ? 0 : cycleRatioSum / Double(usable),
                    "cycles_objective_worst_excess": cycleWorst,
                    "cycles_objective_greedy_optimal_share": usable == 0 ? 1 : Double(cycleOptimal) / Double(usable),
                ])
            }
        }
        let hw = try HardwareConfig.load(path: config)
        func cyclesPerImage(_ chip: ChipDescription) throws -> Int {
            try spec.closedFormCyclesPerImage(config: hw, chip: chip)
        }
        let faultFree = try cyclesPerImage(ChipDescription(faults: FaultMap.none(rows: hw.rows, cols: hw.cols)))
        var full: [[String: Any]] = []
        for rate in fullRateList {
            var rng = SeededRNG.derived(seed: seed, 0x256 + UInt64(rate * 1e6))
            var entry: [String: Any] = ["rate": rate, "maps": fullMaps]
            var maps: [FaultMap] = []
            for _ in 0..<fullMaps { maps.append(try FaultMap.uniform(rows: hw.rows, cols: hw.cols, rate: rate, rng: &rng)) }
            for (name, describe) in [("area", { ChipDescription(faults: $0, mitigation: .rowcol) }),
                                     ("cycles", { FaultAwareMapping.rowColumnChip(faults: $0, spec: spec) })]
                as [(String, (FaultMap) -> ChipDescription)] {
                var shares: [Double] = [], rowsKept: [Int] = [], colsKept: [Int] = [], slowdowns: [Double] = []
                var seconds = 0.0, unusable = 0
                for faults in maps {
                    let t = ProcessStats.now()
                    let chip = describe(faults)
                    seconds += ProcessStats.now() - t
                    guard let lanes = chip.lanes else { unusable += 1; continue }
                    shares.append(Double(lanes.area) / Double(hw.rows * hw.cols))
                    rowsKept.append(lanes.rows.count)
                    colsKept.append(lanes.cols.count)
                    slowdowns.append(Double(try cyclesPerImage(chip)) / Double(faultFree))
                }
                func mean(_ x: [Double]) -> Double { x.isEmpty ? 0 : x.reduce(0, +) / Double(x.count) }
                entry[name + "_objective"] = [
                    "unusable": unusable, "mean_area_share": mean(shares), "min_area_share": shares.min() ?? 0,
                    "mean_rows_kept": mean(rowsKept.map(Double.init)), "mean_cols_kept": mean(colsKept.map(Double.init)),
                    "mean_cycles_relative_to_fault_free": mean(slowdowns), "max_cycles_relative_to_fault_free": slowdowns.max() ?? 0,
                    "solver_seconds_per_map": seconds / Double(fullMaps),
                ] as [String: Any]
            }
            full.append(entry)
        }
        JSONOutput.print([
            "objectives": "area: largest fault-free |rows| x |cols|; cycles: fewest VGG11 cycles per image (single-buffered closed form on the compact sub-array); ties: more rows",
            "gap": gap,
            "full_array": ["config": hw.name, "rows": hw.rows, "cols": hw.cols,
                           "vgg11_cycles_per_image_fault_free": faultFree, "rates": full] as [String: Any],
        ])
    }
}
