import Foundation
import Testing
import FapsimStore
import FapsimTestSupport
import HDF5Kit
import Network
import SystolicArray

/// `fapsim fam map` and `--fam-mapping`: a FAM plan written once and used by a
/// later run, and the one-line refusals of a plan for another network, array
/// or chip, and of a lot whose chips run another mitigation.
@Suite struct FAMMappingCLITests {
    static let config = "hw-configs/small-8x8.yaml"

    struct Files {
        let dir: TemporaryDirectory
        let weights: String
        let otherWidth: String
        let mapping: String
    }

    /// Random weights of width 1/16 (and 1/8), and one mapping for chip
    /// (rate 0.2, seed 3) of the 8x8 array.
    static func files() throws -> Files {
        let dir = try TemporaryDirectory(prefix: "fapsim-fam-map")
        let weights = dir.file("w.h5"), other = dir.file("w8.h5"), mapping = dir.file("map.h5")
        try VGG11Parameters.random(spec: try VGG11Spec(width: 0.0625), seed: 21).weightsFile().write(path: weights, force: false)
        try VGG11Parameters.random(spec: try VGG11Spec(width: 0.125), seed: 22).weightsFile().write(path: other, force: false)
        let r = try runFapsim(["fam", "map", "--weights", weights, "--config", config, "--fault-rate", "0.2", "--seed", "3",
                               "--out", mapping, "--json"])
        guard r.status == 0 else { throw FapsimTestFailure(r.stderr) }
        return Files(dir: dir, weights: weights, otherWidth: other, mapping: mapping)
    }

    func fails(_ args: [String], _ message: String) throws {
        let r = try runFapsim(args)
        #expect(r.status != 0, "\(args)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains(message), "expected '\(message)' in: \(r.stderr)")
    }

    /// The file holds the plan `--mitigation fam` makes for the same weights and
    /// chip: every layer's slots, the network and the array.
    @Test func mapWritesThePlanOfTheChip() throws {
        let f = try Self.files()
        let file = try FAMMappingFile.read(path: f.mapping)
        let params = try VGG11Parameters.load(path: f.weights)
        let faults = try FaultMap.uniform(rows: 8, cols: 8, rate: 0.2, seed: 3)
        let planned = FaultAwareMapping.chip(faults: faults, parameters: params)
        #expect(file.rows == 8 && file.cols == 8 && file.networkWidth == 0.0625)
        #expect(file.faultMapChecksum == faults.checksum && file.faultyPEs == faults.faultyCount)
        #expect(file.saliency == "magnitude" && file.method == FaultAwareMapping.Method.standard.rawValue
                && file.calibrationImages == nil)
        #expect(file.layers.map(\.name) == params.spec.gemmLayers.map(\.name))
        #expect(file.mappings == planned.layerMappings)
        #expect(file.layers.contains { !$0.mapping.isDefault })
        #expect(file.provenance["seed"] == .string("3"))
        // Nothing is overwritten without --force.
        try fails(["fam", "map", "--weights", f.weights, "--config", Self.config, "--fault-rate", "0.2", "--seed", "3",
                   "--out", f.mapping], "already exists; pass --force")
    }

    /// A run given the file computes what a run planning FAM itself computes.
    @Test(.requiresSharedData(.cifarTestBatch))
    func evaluateWithTheFileEqualsPlanningAgain() throws {
        let f = try Self.files()
        func evaluate(_ extra: [String]) throws -> [String: Any] {
            let r = try runFapsim(["evaluate", "--weights", f.weights, "--config", Self.config, "--fault-rate", "0.2", "--seed", "3",
                                   "--data", SharedData.cifarDirectory, "--limit", "64", "--json", "--quiet"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        let fromFile = try evaluate(["--fam-mapping", f.mapping]), planned = try evaluate(["--mitigation", "fam"])
        let fap = try evaluate(["--mitigation", "fap"])
        #expect(fromFile["mitigation"] as? String == "fam")
        // A run planning FAM says how; a run given a file leaves that to the file.
        #expect(planned["fam_method"] as? String == FaultAwareMapping.Method.standard.rawValue)
        #expect(planned["fam_saliency"] as? String == FaultAwareMapping.Saliency.standard.name)
        #expect(fromFile["fam_method"] == nil && fap["fam_method"] == nil)
        #expect(fromFile["per_class"] as? [Double] == planned["per_class"] as? [Double])
        #expect(fromFile["correct"] as? Int == planned["correct"] as? Int)
        #expect(fromFile["pruned_saliency_share"] as? Double == planned["pruned_saliency_share"] as? Double)
        // FAM moves weights (and, on chosen lanes, onto healthier lines): never
        // more pruned, less |w|.
        #expect(try #require(fromFile["pruned_weight_share"] as? Double) <= (try #require(fap["pruned_weight_share"] as? Double)))
        let famShare = try #require(fromFile["pruned_saliency_share"] as? Double)
        let fapShare = try #require(fap["pruned_saliency_share"] as? Double)
        #expect(famShare < fapShare)
    }

    /// Under `--fam-method lanes` the file records each layer's lanes, a run
    /// given it equals a run planning `lanes` itself, and, the layers sitting on
    /// healthier lines, fewer weights are pruned than under FAP.
    @Test(.requiresSharedData(.cifarTestBatch))
    func aLanesMappingKeepsItsLanesThroughTheFile() throws {
        let f = try Self.files()
        let path = f.dir.file("lanes.h5")
        let r = try runFapsim(["fam", "map", "--weights", f.weights, "--config", Self.config, "--fault-rate", "0.2", "--seed", "3",
                               "--fam-method", "lanes", "--out", path])
        #expect(r.status == 0, "\(r.stderr)")
        let file = try FAMMappingFile.read(path: path)
        let faults = try FaultMap.uniform(rows: 8, cols: 8, rate: 0.2, seed: 3)
        let planned = FaultAwareMapping.chip(faults: faults, parameters: try VGG11Parameters.load(path: f.weights), method: .lanes)
        #expect(file.method == "lanes" && file.mappings == planned.layerMappings)
        #expect(file.layers.contains { !$0.mapping.usesEveryLane })
        func evaluate(_ extra: [String]) throws -> [String: Any] {
            let r = try runFapsim(["evaluate", "--weights", f.weights, "--config", Self.config, "--fault-rate", "0.2", "--seed", "3",
                                   "--data", SharedData.cifarDirectory, "--limit", "64", "--json", "--quiet"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        let fromFile = try evaluate(["--fam-mapping", path])
        let plannedRun = try evaluate(["--mitigation", "fam", "--fam-method", "lanes"])
        let fap = try evaluate(["--mitigation", "fap"])
        #expect(plannedRun["fam_method"] as? String == "lanes")
        #expect(fromFile["per_class"] as? [Double] == plannedRun["per_class"] as? [Double])
        #expect(fromFile["pruned_saliency_share"] as? Double == plannedRun["pruned_saliency_share"] as? Double)
        let lanesShare = try #require(fromFile["pruned_weight_share"] as? Double)
        let fapShare = try #require(fap["pruned_weight_share"] as? Double)
        #expect(lanesShare < fapShare)
        // The file says lanes: asking for another method with it is refused.
        try fails(["evaluate", "--weights", f.weights, "--config", Self.config, "--fault-rate", "0.2", "--seed", "3",
                   "--fam-mapping", path, "--fam-method", "columns"],
                  "\(path): method: expected columns (--fam-method columns), got lanes")
    }

    @Test func aMappingForAnotherNetworkArrayOrChipIsAOneLineError() throws {
        let f = try Self.files()
        let chip = ["--fault-rate", "0.2", "--seed", "3"]
        // Another array: the plan is for 8x8, the chip is on 4x4.
        let hw4 = f.dir.file("hw4.yaml")
        try "rows: 4\ncols: 4\nweight_load: single-buffered\nclock_mhz: 700\n".write(toFile: hw4, atomically: true, encoding: .utf8)
        try fails(["evaluate", "--weights", f.weights, "--config", hw4, "--fam-mapping", f.mapping] + chip,
                  "\(f.mapping): array_rows, array_cols: expected the chip's 4x4 array, got a mapping for 8x8")
        // Another network: width 1/8 weights.
        try fails(["evaluate", "--weights", f.otherWidth, "--config", Self.config, "--fam-mapping", f.mapping] + chip,
                  "\(f.mapping): network_width: expected 0.125 (the weights' VGG11 width), got 0.0625")
        // Another chip of the same array.
        try fails(["evaluate", "--weights", f.weights, "--config", Self.config, "--fam-mapping", f.mapping,
                   "--fault-rate", "0.2", "--seed", "4"],
                  "\(f.mapping): fault_map_checksum: expected the chip's fault map")
        // Not a mapping file.
        try fails(["evaluate", "--weights", f.weights, "--config", Self.config, "--fam-mapping", f.weights] + chip,
                  "\(f.weights)")
        // The file is a FAM plan: another mitigation with it, or no chip, is refused.
        try fails(["evaluate", "--weights", f.weights, "--config", Self.config, "--fam-mapping", f.mapping,
                   "--mitigation", "fap"] + chip,
                  "--fam-mapping: expected --mitigation fam (the file is a FAM plan) or no --mitigation, got --mitigation fap")
        try fails(["evaluate", "--weights", f.weights, "--config", Self.config, "--fam-mapping", f.mapping,
                   "--mitigation", "rowcol"] + chip,
                  "--fam-mapping: expected --mitigation fam (the file is a FAM plan) or no --mitigation, got --mitigation rowcol")
        try fails(["evaluate", "--weights", f.weights, "--config", Self.config, "--fam-mapping", f.mapping],
                  "--fam-mapping: expected the chip it was planned for")
        // A file made by another method or saliency than the options ask for.
        try fails(["evaluate", "--weights", f.weights, "--config", Self.config, "--fam-mapping", f.mapping,
                   "--fam-method", "joint"] + chip,
                  "\(f.mapping): method: expected joint (--fam-method joint), got \(FaultAwareMapping.Method.standard.rawValue)")
        try fails(["evaluate", "--weights", f.weights, "--config", Self.config, "--fam-mapping", f.mapping,
                   "--fam-saliency", "bn"] + chip,
                  "\(f.mapping): saliency: expected bn (--fam-saliency), got magnitude")
        try fails(["fam", "map", "--weights", f.weights, "--config", Self.config, "--mitigation", "fap", "--out", f.dir.file("x.h5")] + chip,
                  "--mitigation: expected fam or none (fam map plans FAM), got fap")
        try fails(["fam", "map", "--weights", f.weights, "--config", Self.config, "--mitigation", "spare-pes", "--out", f.dir.file("x.h5")] + chip,
                  "--mitigation: expected one of fap, fam, rowcol, spares, got 'spare-pes'")
    }

    /// A lot records the mitigation its chips run; a run asking for another
    /// (by --mitigation or by a FAM mapping file) is refused in one line.
    @Test func aLotOfAnotherMitigationIsAOneLineError() throws {
        let f = try Self.files()
        let fapLot = f.dir.file("lot-fap.h5"), famLot = f.dir.file("lot-fam.h5")
        for (lot, mitigation) in [(fapLot, "fap"), (famLot, "fam")] {
            let r = try runFapsim(["lot", "generate", "--config", Self.config, "--chips", "2", "--seed", "3", "--model", "uniform",
                                   "--rate-range", "0.1:0.2", "--mitigation", mitigation, "--out", lot, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        #expect(try H5File.open(famLot).stringAttribute("mitigation") == "fam")
        try fails(["lot", "generate", "--config", Self.config, "--chips", "2", "--seed", "3", "--model", "uniform",
                   "--rate-range", "0.1:0.2", "--mitigation", "spare-rows", "--out", f.dir.file("bad-lot.h5")],
                  "--mitigation: expected one of fap, fam, rowcol, spares, got 'spare-rows'")
        let map = f.dir.file("chip1.h5")
        let r = try runFapsim(["fam", "map", "--weights", f.weights, "--config", Self.config, "--lot", fapLot, "--chip", "1", "--out", map])
        #expect(r.status == 0, "\(r.stderr)")
        try fails(["evaluate", "--weights", f.weights, "--config", Self.config, "--lot", fapLot, "--chip", "1", "--fam-mapping", map],
                  "\(fapLot): attribute mitigation: the lot's chips run fap, but --fam-mapping asks for fam")
        try fails(["evaluate", "--weights", f.weights, "--config", Self.config, "--lot", famLot, "--chip", "1", "--mitigation", "fap"],
                  "\(famLot): attribute mitigation: the lot's chips run fam, but --mitigation asks for fap")
        try fails(["simulate", "--weights", f.weights, "--config", Self.config, "--lot", famLot, "--chip", "0", "--mitigation", "fap",
                   "--trace", f.dir.file("trace.csv")],
                  "\(famLot): attribute mitigation: the lot's chips run fam, but --mitigation asks for fap")
    }
}
