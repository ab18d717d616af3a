import Testing
import FapsimSupport
import SystolicArray
@testable import FapsimStore

/// A lot's per-PE fault kinds: bypassed by FAP or unmitigated stuck-at.
@Suite struct StuckAtLotTests {
    @Test func faultKindsRoundTripAndPlainMapsAreRefused() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("lot.h5")
        var map = FaultMap.none(rows: 4, cols: 5)
        map.setFaulty(0, 1, true); map.setFaulty(2, 3, true); map.setFaulty(3, 4, true)
        let stuck = [StuckAtFault(row: 2, col: 3, bit: 31, value: 1), StuckAtFault(row: 3, col: 4, bit: 0, value: 0)]
        try ChipLotFile.write(path: path, rows: 4, cols: 5, chips: 2, generator: "test", lotSeed: 1, stuckAtKinds: true,
                              force: false) { w in
            try w.write(chip: 0, ChipLot.Chip(faultMap: map, faultRate: 0.15, seed: 1), stuckAt: stuck)
            try w.write(chip: 1, ChipLot.Chip(faultMap: map, faultRate: 0.15, seed: 2))
        }
        let reader = try ChipLotReader(path: path)
        let (bypassed, read) = try reader.int8Chip(chip: 0)
        #expect(read == stuck)
        #expect(bypassed.faultyCount == 1 && bypassed.isFaulty(0, 1))
        // Chip 1 has kinds but no stuck PE: every faulty PE is bypassed, a plain map.
        #expect(try reader.faultMap(chip: 1) == map)
        let message = errorMessage { _ = try reader.faultMap(chip: 0) } ?? ""
        #expect(message.contains("/stuck_bit") && message.contains("chip 0: 2 faulty PEs are unmitigated stuck-at faults"), "\(message)")
        #expect(throws: FapsimError.self) { _ = try reader.readAll() }
        // A stuck bit on a healthy PE is refused before it reaches the file.
        #expect(throws: FapsimError.self) {
            try ChipLotFile.write(path: dir.file("bad.h5"), rows: 4, cols: 5, chips: 1, generator: "test", lotSeed: 1,
                                  stuckAtKinds: true, force: false) { w in
                try w.write(chip: 0, ChipLot.Chip(faultMap: map, faultRate: 0.15, seed: 1),
                            stuckAt: [StuckAtFault(row: 0, col: 0, bit: 3, value: 1)])
            }
        }
    }
}
