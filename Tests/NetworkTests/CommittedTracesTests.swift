import Foundation
import Testing
import FapsimStore
import SystolicArray
@testable import Network

/// The committed example traces in traces/ against what fapsim computes today.
///
/// Every trace's cycle counts and MAC counts depend only on the layer shapes,
/// the hardware config, the batch and the fault map, not on weights or images,
/// so each trace is recomputed here without ../shared: one closed-form GEMM
/// (ClosedFormTiming) per layer and batch, exactly the runs `fapsim simulate`
/// makes on the register-level array, summed by the same CycleTrace. The
/// closed form equals the register-level array cycle for cycle and MAC for MAC
/// (Tests/SystolicArrayTests/EquivalenceTests.swift, and
/// SimulateCLITests.oneImageOn256MatchesSpecAndClosedForm end to end), so a
/// change in either that moves a committed number fails here.
///
/// The run's parameters come from the results file's root attributes (config,
/// images, batch, seed, fault-map checksum); the requested fault rate, which
/// the file records only as the realised rate, from the file name
/// (`...-rate0.1-seed1`, the commands in traces/README.md).
@Suite struct CommittedTracesTests {
    static let directory = TestPaths.packageRoot + "/traces"

    /// The trace names (without extension) in traces/: every .csv has its .h5.
    static let names: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasSuffix(".csv") }.map { String($0.dropLast(4)) }.sorted()
    }()

    @Test func everyTraceIsAPairAndTheREADMEListsIt() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory)
        // Eight traces today (2 configs x batch 1, 16 x fault-free, 10%); an empty
        // list would make the recomputation below check nothing.
        #expect(Self.names.count == 8, "\(Self.names)")
        let readme = try String(contentsOfFile: Self.directory + "/README.md", encoding: .utf8)
        for name in Self.names {
            #expect(files.contains(name + ".h5"), "traces/\(name).csv has no \(name).h5")
            #expect(readme.contains("`\(name)`"), "traces/README.md does not list \(name)")
        }
        for h5 in files where h5.hasSuffix(".h5") {
            #expect(Self.names.contains(String(h5.dropLast(3))), "traces/\(h5) has no CSV")
        }
    }

    @Test(arguments: names)
    func recomputedTotalsEqualTheCommittedFiles(_ name: String) throws {
        let csvPath = Self.directory + "/\(name).csv", h5Path = Self.directory + "/\(name).h5"
        let committed = try ResultsFile.read(path: h5Path)
        #expect(committed.content == "cycle-trace")
        func attribute(_ key: String) throws -> AttributeValue {
            try #require(committed.attributes[key], "\(h5Path): no root attribute \(key)")
        }
        guard case .string(let configName) = try attribute("config"),
              case .int(let images) = try attribute("images"), case .int(let batch) = try attribute("batch") else {
            Issue.record("\(h5Path): config, images or batch has the wrong type")
            return
        }
        let hw = try HardwareConfig.load(path: TestPaths.packageRoot + "/hw-configs/\(configName).yaml")
        #expect(try attribute("rows") == .int(Int64(hw.rows)))
        #expect(try attribute("cols") == .int(Int64(hw.cols)))
        #expect(try attribute("weight_load") == .string(hw.weightLoad.rawValue))
        #expect(try attribute("clock_mhz") == .double(hw.clockMHz))

        // The chip: fault-free, or `--fault-rate R --seed S` (a uniform map).
        var faults: FaultMap?
        if let seedValue = committed.attributes["seed"] {
            guard case .int(let seed) = seedValue else {
                Issue.record("\(h5Path): seed is not an integer")
                return
            }
            let rateText = try #require(name.components(separatedBy: "-rate").last?.components(separatedBy: "-seed").first,
                                        "\(name): a faulty trace's name gives its rate as -rateR-seedS")
            let rate = try #require(Double(rateText), "\(name): rate \(rateText) is not a number")
            #expect(name.hasSuffix("-seed\(seed)"), "\(name): the file records seed \(seed)")
            let map = try FaultMap.uniform(rows: hw.rows, cols: hw.cols, rate: rate, seed: UInt64(bitPattern: seed))
            #expect(try attribute("fault_map_checksum") == .string(map.checksum), "today's map differs from the trace's")
            faults = map
        } else {
            #expect(committed.attributes["fault_map_checksum"] == nil)
        }
        #expect(try attribute("fault_rate") == .double(faults?.faultRate ?? 0))

        // The runs `fapsim simulate --images I --batch B` makes: every GEMM
        // layer once per batch of the evaluation loop, the last batch short.
        let spec = try VGG11Spec(width: 1.0)
        var runs: [LayerRun] = []
        var done = 0
        while done < Int(images) {
            let b = min(Int(batch), Int(images) - done)
            for layer in spec.gemmLayers {
                let s = layer.shape(batch: b)
                let stats = try ClosedFormTiming.gemm(config: hw, m: s.m, k: s.k, n: s.n, faults: faults)
                runs.append(LayerRun(layer: layer.name, m: s.m, k: s.k, n: s.n, stats: stats))
            }
            done += b
        }
        let today = CycleTrace(runs: runs, config: hw)

        // Byte for byte the CSV, column for column the results table.
        let csv = try String(contentsOfFile: csvPath, encoding: .utf8)
        let expected = today.csv()
        // A Bool, so a failure prints the first differing line rather than both files.
        let csvMatches = csv == expected
        #expect(csvMatches, "traces/\(name).csv differs from today's:\n\(Self.firstDifference(csv, expected))")
        let table = try #require(committed[table: "cycle_trace"], "\(h5Path): no cycle_trace table")
        #expect(table == today.table(), "traces/\(name).h5 cycle_trace differs from today's")

        // The figures traces/README.md quotes: the MAC count of the network on
        // every image, split between performed and bypassed.
        #expect(today.total.macsPerformed + today.total.macsBypassed == Int(images) * spec.macsPerImage)
        #expect((today.total.macsBypassed == 0) == (faults == nil || faults!.faultyCount == 0))
    }

    /// The first line where two CSV texts differ, for the failure message.
    static func firstDifference(_ a: String, _ b: String) -> String {
        let la = a.split(separator: "\n", omittingEmptySubsequences: false)
        let lb = b.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(la.count, lb.count) {
            let x = i < la.count ? String(la[i]) : "<none>", y = i < lb.count ? String(lb[i]) : "<none>"
            if x != y { return "line \(i + 1):\n  committed: \(x)\n  today:     \(y)" }
        }
        return "(same lines)"
    }
}
