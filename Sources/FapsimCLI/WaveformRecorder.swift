import Foundation
import FapsimSupport
import SystolicArray

/// Observer that dumps every PE's registers to a VCD over a window [start, end)
/// of one GEMM's clock edges. The value at `#t` is the register state after
/// edge t of the GEMM (one time unit per clock edge, so cursor times in a
/// viewer are cycle numbers). Signals per PE (scope fap_array.pe_I_J):
/// w, wv (weight, valid), a, av (activation), p, pv (partial sum), bypass, and
/// ws (shadow weight) when double-buffered. w, a, ws are IEEE 754 float32 bits
/// on the float32 datapath and two's-complement bytes on int8; p is the
/// register's raw 32 bits either way.
final class WaveformRecorder: ArrayObserver {
    let rows: Int, cols: Int
    let window: Range<Int>
    private let double: Bool
    private let int8: Bool
    private let vcd: VCDWriter
    private var handles: [[Int]] = []
    private(set) var edgesWritten = 0
    private var lastCycle = -1
    /// First write error inside `edge` (which cannot throw), rethrown by `finish`.
    private var writeError: Error?

    init(path: String, config: HardwareConfig, window: Range<Int>, comment: String) throws {
        rows = config.rows
        cols = config.cols
        self.window = window
        double = config.weightLoad == .doubleBuffered
        int8 = config.datapath == .int8
        vcd = try VCDWriter(path: path, timescale: "1ns", comment: comment)
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

    func edge(_ cycle: Int, inputs: EdgeInputs, state: ArrayStateView) {
        lastCycle = cycle
        guard window.contains(cycle), writeError == nil else { return }
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
        do { try vcd.emit(time: cycle) } catch { writeError = error }
        edgesWritten += 1
    }

    /// Closes the file; fails if the GEMM never reached the window (a shape
    /// mismatch between the closed form and the run would show up here).
    func finish() throws {
        if let writeError { throw FapsimError("writing the VCD failed: \(writeError.localizedDescription)") }
        guard edgesWritten == window.count else {
            throw FapsimError("VCD window \(window.lowerBound):\(window.upperBound) saw \(edgesWritten) edges "
                              + "(the GEMM's last edge was \(lastCycle))")
        }
        try vcd.close(endTime: window.upperBound)
    }
}
