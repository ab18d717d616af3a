import SystolicArray

/// The per-PE signals of the array in a VCD (w, wv, a, av, p, pv, bypass, and ws
/// when double-buffered, under `fap_array.pe_I_J`). `fapsim vectors` (compared
/// with the RTL's VCD) and `fapsim simulate --vcd` declare and sample them the
/// same way, so the names and encodings cannot drift apart.
struct PEWaveforms {
    let rows: Int
    let cols: Int
    let double: Bool
    /// int8 datapath: weights and activations are 8-bit two's complement; float32: IEEE bits.
    let int8: Bool
    private var handles: [[Int]] = []

    /// Declares every PE's signals and ends the VCD header.
    init(vcd: VCDWriter, rows: Int, cols: Int, double: Bool, int8: Bool) {
        self.rows = rows
        self.cols = cols
        self.double = double
        self.int8 = int8
        let valueWidth = int8 ? 8 : 32
        vcd.scope("fap_array")
        for i in 0..<rows {
            for j in 0..<cols {
                vcd.scope("pe_\(i)_\(j)")
                var hs = [vcd.wire("w", width: valueWidth), vcd.wire("wv", width: 1),
                          vcd.wire("a", width: valueWidth), vcd.wire("av", width: 1),
                          vcd.wire("p", width: 32), vcd.wire("pv", width: 1), vcd.wire("bypass", width: 1)]
                if double { hs.append(vcd.wire("ws", width: valueWidth)) }
                handles.append(hs)
                vcd.upscope()
            }
        }
        vcd.upscope()
        vcd.endDefinitions()
    }

    @inline(__always) private func bits(_ x: Double) -> UInt64 {
        int8 ? UInt64(UInt8(truncatingIfNeeded: Int(x))) : UInt64(Float(x).bitPattern)
    }

    /// Every register after an edge.
    func sample(_ vcd: VCDWriter, _ state: ArrayStateView) {
        for i in 0..<rows {
            for j in 0..<cols {
                let hs = handles[i * cols + j]
                vcd.set(hs[0], bits(state.weight(i, j)))
                vcd.set(hs[1], state.weightValid(i, j) ? 1 : 0)
                vcd.set(hs[2], bits(state.activation(i, j)))
                vcd.set(hs[3], state.activationValid(i, j) ? 1 : 0)
                vcd.set(hs[4], UInt64(state.psumBits(i, j)))
                vcd.set(hs[5], state.psumValid(i, j) ? 1 : 0)
                vcd.set(hs[6], state.bypass(i, j) ? 1 : 0)
                if double { vcd.set(hs[7], bits(state.shadowWeight(i, j))) }
            }
        }
    }

    /// The reset state: every register 0, the (static) bypass bits from the fault map.
    func sampleReset(_ vcd: VCDWriter, _ state: ArrayStateView) {
        for i in 0..<rows {
            for j in 0..<cols {
                let hs = handles[i * cols + j]
                for h in hs { vcd.set(h, 0) }
                vcd.set(hs[6], state.bypass(i, j) ? 1 : 0)
            }
        }
    }
}
