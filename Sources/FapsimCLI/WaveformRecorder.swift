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
    private let waves: PEWaveforms
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
        waves = PEWaveforms(vcd: vcd, rows: rows, cols: cols, double: double, int8: int8)
    }

    func edge(_ cycle: Int, inputs: EdgeInputs, state: ArrayStateView) {
        lastCycle = cycle
        guard window.contains(cycle), writeError == nil else { return }
        waves.sample(vcd, state)
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
