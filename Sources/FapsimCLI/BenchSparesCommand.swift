import ArgumentParser
import Foundation
import FapsimSupport
import Network
import SystolicArray

/// `fapsim bench spares`: the figures of docs/mitigations.md for spare PEs. For
/// each spare layout and uniform fault rate on the config's array, random maps
/// repaired by the maximum matching: the share of faulty PEs repaired, the
/// faulty PEs left to FAP, and the share of VGG11's MACs still pruned against
/// FAP alone on the same maps.
struct BenchSparesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spares",
        abstract: "Spare PEs: the share of faults repaired per layout and the pruned share left to FAP, as JSON (docs/mitigations.md).")

    @Option(help: "Hardware config YAML of the array (its own spares, if any, are not used: --layouts are).")
    var config: String = "hw-configs/tpu-256x256.yaml"
    @Option(help: "Comma-separated spare layouts: diagonal, column-groups:G.")
    var layouts: String = "diagonal,column-groups:256,column-groups:32"
    @Option(help: "Comma-separated uniform fault rates.") var rates: String = "0.0001,0.001,0.01,0.05,0.1"
    @Option(help: "Random maps per rate (the same maps for every layout).") var maps: Int = 5
    @Option(help: "Seed of the fault maps.") var seed: UInt64 = 1
    @Flag(help: "JSON output (the default; kept for symmetry with other commands).") var json = false

    func run() throws {
        let hw = try HardwareConfig.load(path: config)
        let layoutList = try BenchRowColCommand.list(layouts, "layouts", { SpareLayout(description: $0) },
                                                     valid: { $0.misfit(rows: hw.rows, cols: hw.cols) == nil })
        let rateList = try BenchRowColCommand.list(rates, "rates", { Double($0) }, valid: { $0 >= 0 && $0 <= 1 })
        guard maps >= 1 else { throw FapsimError("--maps: expected a positive count, got \(maps)") }
        let spec = try VGG11Spec(width: 1)
        let pes = Double(hw.rows * hw.cols)
        var rows: [[String: Any]] = []
        for (r, rate) in rateList.enumerated() {
            var rng = SeededRNG.derived(seed: seed, UInt64(r))
            let faultMaps = try (0..<maps).map { _ in try FaultMap.uniform(rows: hw.rows, cols: hw.cols, rate: rate, rng: &rng) }
            let fapShare = faultMaps.map { PrunedShare.macWeighted($0, spec: spec) }.reduce(0, +) / Double(maps)
            for layout in layoutList {
                var faulty = 0.0, repaired = 0.0, worstShare = 1.0, left = 0.0, pruned = 0.0, seconds = 0.0
                for faults in faultMaps {
                    let t0 = ProcessStats.now()
                    let chip = ChipDescription(faults: faults, mitigation: .spares, spares: layout)
                    seconds += ProcessStats.now() - t0
                    let repair = chip.spareRepair!
                    faulty += Double(repair.faultCount)
                    repaired += Double(repair.repaired.count)
                    worstShare = min(worstShare, repair.repairedShare)
                    left += Double(repair.unrepaired.count)
                    pruned += PrunedShare.macWeighted(chip, spec: spec)
                }
                let n = Double(maps)
                let spares = layout.spareCount(rows: hw.rows, cols: hw.cols)
                rows.append([
                    "layout": layout.description, "spare_pes": spares, "spare_share": Double(spares) / pes,
                    "fault_rate": rate, "maps": maps, "faulty_pes_mean": faulty / n,
                    "repaired_mean": repaired / n, "repaired_share": faulty > 0 ? repaired / faulty : 1,
                    "repaired_share_worst": worstShare, "left_to_fap_mean": left / n, "left_to_fap_rate": left / n / pes,
                    "pruned_mac_share": pruned / n, "fap_pruned_mac_share": fapShare, "repair_seconds_mean": seconds / n,
                ])
            }
        }
        JSONOutput.print(["config": hw.name, "rows": hw.rows, "cols": hw.cols, "seed": seed, "table": rows] as [String: Any])
    }
}
