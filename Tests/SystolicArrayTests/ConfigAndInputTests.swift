import Foundation
import Testing
import FapsimSupport
@testable import SystolicArray

@Suite struct ConfigAndInputTests {
    func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    @Test func shippedConfigsLoad() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../hw-configs").path
        let tpu = try HardwareConfig.load(path: dir + "/tpu-256x256.yaml")
        #expect(tpu.rows == 256 && tpu.cols == 256 && tpu.weightLoad == .singleBuffered)
        let db = try HardwareConfig.load(path: dir + "/tpu-256x256-double-buffered.yaml")
        #expect(db.weightLoad == .doubleBuffered)
        let small = try HardwareConfig.load(path: dir + "/small-8x8.yaml")
        #expect(small.rows == 8 && small.cols == 8)
        #expect(try HardwareConfig.load(path: dir + "/small-8x8-int8.yaml").datapath == .int8)
    }

    @Test func configErrorsNameTheFileAndField() {
        let base = "rows: 4\ncols: 4\nweight_load: single-buffered\nclock_mhz: 700\n"
        #expect(message { _ = try HardwareConfig.parse(yaml: base + "colz: 3\n", file: "a.yaml") }
                == "a.yaml: colz: unknown field; expected one of name, rows, cols, weight_load, clock_mhz, mapping_order, datapath, spares")
        #expect(message { _ = try HardwareConfig.parse(yaml: "rows: 4\nweight_load: single-buffered\nclock_mhz: 1\n", file: "b.yaml") }
                .hasPrefix("b.yaml: cols: missing required field"))
        #expect(message { _ = try HardwareConfig.parse(yaml: base.replacingOccurrences(of: "rows: 4", with: "rows: 0"), file: "c.yaml") }
                == "c.yaml: rows: expected an integer from 1 to 4096, got 0")
        #expect(message { _ = try HardwareConfig.parse(yaml: base.replacingOccurrences(of: "single-buffered", with: "triple"), file: "d.yaml") }
                == "d.yaml: weight_load: expected single-buffered or double-buffered, got triple")
        #expect(message { _ = try HardwareConfig.parse(yaml: base.replacingOccurrences(of: "700", with: "-5"), file: "e.yaml") }
                == "e.yaml: clock_mhz: expected a positive number, got -5")
        #expect(message { _ = try HardwareConfig.parse(yaml: "rows: [", file: "f.yaml") }.hasPrefix("f.yaml: not valid YAML"))
        #expect(message { _ = try HardwareConfig.parse(yaml: "- 1\n- 2\n", file: "g.yaml") }.hasPrefix("g.yaml: expected a YAML mapping"))
        #expect(message { _ = try HardwareConfig.load(path: "/nonexistent/x.yaml") }
                == "/nonexistent/x.yaml: cannot read hardware config (missing or unreadable)")
        for msg in [message { _ = try HardwareConfig.parse(yaml: base + "datapath: int4\n", file: "h.yaml") }] {
            #expect(!msg.contains("\n"))
        }
    }

    @Test func badGEMMInputsAreRejected() {
        let cfg = HardwareConfig(rows: 2, cols: 2)
        #expect(message { _ = try ArrayGEMM.run(config: cfg, faults: nil, a: [], m: 0, k: 1, w: [1], n: 1) }
                == "GEMM size M: expected a positive integer, got 0")
        #expect(message { _ = try ArrayGEMM.run(config: cfg, faults: nil, a: [1], m: 1, k: -1, w: [1], n: 1) }
                == "GEMM size K: expected a positive integer, got -1")
        #expect(message { _ = try ArrayGEMM.run(config: cfg, faults: nil, a: [1, 2], m: 1, k: 1, w: [1], n: 1) }
                .hasPrefix("GEMM operand A"))
        #expect(message { _ = try ArrayGEMM.run(config: cfg, faults: FaultMap.none(rows: 3, cols: 3), a: [1], m: 1, k: 1, w: [1], n: 1) }
                .hasPrefix("fault map is 3x3"))
        #expect(message { _ = try ArrayGEMM.run(config: cfg, faults: nil, a: [1], m: 1, k: 1, w: [.nan], n: 1) }
                .hasPrefix("GEMM weights: expected finite"))
        for rate in [-0.1, 1.5, Double.nan, .infinity] {
            #expect(throws: FapsimError.self) { _ = try FaultMap.uniform(rows: 2, cols: 2, rate: rate, seed: 1) }
        }
    }

    @Test func faultMapsAreDeterministicAndExact() throws {
        let a = try FaultMap.uniform(rows: 16, cols: 16, rate: 0.1, seed: 7)
        let b = try FaultMap.uniform(rows: 16, cols: 16, rate: 0.1, seed: 7)
        let c = try FaultMap.uniform(rows: 16, cols: 16, rate: 0.1, seed: 8)
        #expect(a == b && a != c)
        #expect(a.faultyCount == 26)   // round(0.1 * 256)
        #expect(try FaultMap.uniform(rows: 4, cols: 4, rate: 1, seed: 1).faultyCount == 16)
        // The mask and the pruned count agree for shapes above and below the array.
        for (k, n) in [(3, 5), (16, 16), (37, 50)] {
            let mask = a.weightMask(k: k, n: n)
            #expect(mask.filter { $0 == 0 }.count == a.prunedWeights(k: k, n: n))
        }
    }
}
