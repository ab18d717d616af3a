import Testing
@testable import SystolicArray

/// Records every PE register after every edge.
final class Recorder: ArrayObserver {
    var psum: [[Double]] = []
    var act: [[Double]] = []
    var weight: [[Double]] = []
    var psumValid: [[Bool]] = []
    var bottomValidCycles: [Int] = []
    func edge(_ cycle: Int, inputs: EdgeInputs, state: ArrayStateView) {
        var p: [Double] = [], a: [Double] = [], w: [Double] = [], v: [Bool] = []
        for i in 0..<state.rows {
            for j in 0..<state.cols {
                p.append(state.psum(i, j)); a.append(state.activation(i, j))
                w.append(state.weight(i, j)); v.append(state.psumValid(i, j))
            }
        }
        psum.append(p); act.append(a); weight.append(w); psumValid.append(v)
    }
}

/// Hand-worked register traces (Verilator-style golden traces): every value below
/// was derived on paper from the edge rules in docs/hardware-model.md, not printed
/// by the model. A = [[1,2],[3,4]], W = [[5,6],[7,8]], Out = [[19,22],[43,50]].
@Suite struct GoldenTraceTests {
    let a: [Float] = [1, 2, 3, 4]
    let w: [Float] = [5, 6, 7, 8]

    @Test func twoByTwoSingleBuffered() throws {
        let cfg = HardwareConfig(rows: 2, cols: 2, weightLoad: .singleBuffered)
        let rec = Recorder()
        let run = try ArrayGEMM.run(config: cfg, faults: nil, a: a, m: 2, k: 2, w: w, n: 2, observer: rec)
        #expect(run.output == [19, 22, 43, 50])
        #expect(run.stats.cycles == 7)
        // Edges 0-1 shift W's rows in bottom row first; edges 2-5 stream; edge 6 drains.
        #expect(rec.weight[0] == [7, 8, 0, 0])
        #expect(rec.weight[1] == [5, 6, 7, 8])
        //              p00 p01 p10 p11
        let psum: [[Double]] = [
            [0, 0, 0, 0],     // e0 load
            [0, 0, 0, 0],     // e1 load
            [5, 0, 0, 0],     // e2: 5*1
            [15, 6, 19, 0],   // e3: 5*3, 6*1, 5+7*2
            [0, 18, 43, 22],  // e4: 6*3, 15+7*4, 6+8*2
            [0, 0, 0, 50],    // e5: 18+8*4 (last MAC)
            [0, 0, 0, 0],     // e6: accumulator takes 50
        ]
        let act: [[Double]] = [
            [0, 0, 0, 0], [0, 0, 0, 0],
            [1, 0, 0, 0], [3, 1, 2, 0], [0, 3, 4, 2], [0, 0, 0, 4], [0, 0, 0, 0],
        ]
        #expect(rec.psum == psum)
        #expect(rec.act == act)
        #expect(run.stats.weightLoadCycles == 2 && run.stats.fillCycles == 2 && run.stats.steadyCycles == 2
                && run.stats.drainCycles == 1)
    }

    @Test func twoByTwoWithBypassedPE() throws {
        let cfg = HardwareConfig(rows: 2, cols: 2, weightLoad: .singleBuffered)
        var faults = FaultMap.none(rows: 2, cols: 2)
        faults.setFaulty(1, 0, true)   // W[1][0] = 7 is pruned
        let rec = Recorder()
        let run = try ArrayGEMM.run(config: cfg, faults: faults, a: a, m: 2, k: 2, w: w, n: 2, observer: rec)
        #expect(run.output == [5, 22, 15, 50])
        let psum: [[Double]] = [
            [0, 0, 0, 0], [0, 0, 0, 0],
            [5, 0, 0, 0],
            [15, 6, 5, 0],    // PE(1,0) passes 5 through
            [0, 18, 15, 22],  // and 15
            [0, 0, 0, 50],
            [0, 0, 0, 0],
        ]
        #expect(rec.psum == psum)
        #expect(run.stats.macsBypassed == 2 && run.stats.macsPerformed == 6)
    }

    /// 3x3 array, double-buffered, a 2x2 fold: row 2 is unused (partial sums pass
    /// through it) and column 2 is unused (activations die there).
    @Test func threeByThreeDoubleBufferedPartialFold() throws {
        let cfg = HardwareConfig(rows: 3, cols: 3, weightLoad: .doubleBuffered)
        let rec = Recorder()
        let run = try ArrayGEMM.run(config: cfg, faults: nil, a: a, m: 2, k: 2, w: w, n: 2, observer: rec)
        #expect(run.output == [19, 22, 43, 50])
        #expect(run.stats.cycles == 9)   // e0-e1 shadow shift, e2 swap, e3-e6 stream, e7-e8 drain
        #expect(rec.weight[1] == [0, 0, 0, 0, 0, 0, 0, 0, 0])        // active weights untouched while the shadow fills
        #expect(rec.weight[2] == [5, 6, 0, 7, 8, 0, 0, 0, 0])        // the swap
        //              p00 p01 p02  p10 p11 p12  p20 p21 p22
        let z: [Double] = [0, 0, 0, 0, 0, 0, 0, 0, 0]
        let psum: [[Double]] = [
            z, z, z,
            [5, 0, 0, 0, 0, 0, 0, 0, 0],
            [15, 6, 0, 19, 0, 0, 0, 0, 0],
            [0, 18, 0, 43, 22, 0, 19, 0, 0],
            [0, 0, 0, 0, 50, 0, 43, 22, 0],
            [0, 0, 0, 0, 0, 0, 0, 50, 0],
            z,
        ]
        let act: [[Double]] = [
            z, z, z,
            [1, 0, 0, 0, 0, 0, 0, 0, 0],
            [3, 1, 0, 2, 0, 0, 0, 0, 0],
            [0, 3, 1, 4, 2, 0, 0, 0, 0],
            [0, 0, 3, 0, 4, 2, 0, 0, 0],
            [0, 0, 0, 0, 0, 4, 0, 0, 0],
            z,
        ]
        #expect(rec.psum == psum)
        #expect(rec.act == act)
        // Only the first psum of each column's items is valid at the bottom: 19 leaves at e5.
        #expect(rec.psumValid[5][6] && !rec.psumValid[5][7])
        #expect(run.stats.weightLoadCycles == 3 && run.stats.drainCycles == 2)
    }

    @Test func threeByThreeWithBypassedPE() throws {
        let cfg = HardwareConfig(rows: 3, cols: 3, weightLoad: .doubleBuffered)
        var faults = FaultMap.none(rows: 3, cols: 3)
        faults.setFaulty(1, 1, true)   // W[1][1] = 8 is pruned
        let rec = Recorder()
        let run = try ArrayGEMM.run(config: cfg, faults: faults, a: a, m: 2, k: 2, w: w, n: 2, observer: rec)
        #expect(run.output == [19, 6, 43, 18])
        let z: [Double] = [0, 0, 0, 0, 0, 0, 0, 0, 0]
        let psum: [[Double]] = [
            z, z, z,
            [5, 0, 0, 0, 0, 0, 0, 0, 0],
            [15, 6, 0, 19, 0, 0, 0, 0, 0],
            [0, 18, 0, 43, 6, 0, 19, 0, 0],
            [0, 0, 0, 0, 18, 0, 43, 6, 0],
            [0, 0, 0, 0, 0, 0, 0, 18, 0],
            z,
        ]
        #expect(rec.psum == psum)
    }
}
