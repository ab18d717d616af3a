import Testing
import FapsimSupport
import MaskedGEMM
@testable import SystolicArray

/// A random GEMM case: array shape, policy, mapping, operand sizes, fault rate.
struct Case: CustomStringConvertible {
    var config: HardwareConfig
    var m, k, n: Int
    var rate: Double
    var seed: UInt64
    var description: String {
        "\(config.rows)x\(config.cols) \(config.weightLoad.rawValue) \(config.mappingOrder.rawValue) M\(m) K\(k) N\(n) rate \(rate) seed \(seed)"
    }
}

/// Sizes below, at and above multiples of the array dimension (and 1).
func interestingSizes(_ d: Int, rng: inout SeededRNG) -> [Int] {
    var s: Set<Int> = [1, max(1, d - 1), d, d + 1, 2 * d, 2 * d + 1]
    s.insert(1 + rng.nextInt(below: 3 * d + 1))
    return s.sorted()
}

func makeCases(count: Int, seed: UInt64, maxDim: Int = 6) -> [Case] {
    var rng = SeededRNG(seed: seed)
    var cases: [Case] = []
    let rates = [0.0, 0.1, 0.5, 1.0]
    while cases.count < count {
        let r = 1 + rng.nextInt(below: maxDim), c = 1 + rng.nextInt(below: maxDim)
        let ks = interestingSizes(r, rng: &rng), ns = interestingSizes(c, rng: &rng)
        let cfg = HardwareConfig(rows: r, cols: c,
                                 weightLoad: rng.nextInt(below: 2) == 0 ? .singleBuffered : .doubleBuffered,
                                 mappingOrder: rng.nextInt(below: 2) == 0 ? .nOuter : .kOuter)
        let m = [1, 1 + rng.nextInt(below: 4), 1 + rng.nextInt(below: 12)][rng.nextInt(below: 3)]
        cases.append(Case(config: cfg, m: m, k: ks[rng.nextInt(below: ks.count)], n: ns[rng.nextInt(below: ns.count)],
                          rate: rates[rng.nextInt(below: rates.count)], seed: rng.next()))
    }
    return cases
}

func randomFloats(_ count: Int, _ rng: inout SeededRNG) -> [Float] {
    (0..<count).map { _ in Float(rng.nextGaussian()) }
}

/// The forward error bound of a float32 sum of K products, in any order:
/// |computed - exact| <= gamma_K * sum |a_k w_k| with gamma_K = K u / (1 - K u),
/// u = 2^-24. The array (k order within a fold, folds added in order) and BLAS
/// (blocked, FMA) are both within it of the exact value, hence within twice it of
/// each other. Sums of K products: K multiplications and K additions, so 2K.
func floatTolerance(a: [Float], w: [Float], m: Int, k: Int, n: Int, row i: Int, col j: Int) -> Float {
    var s: Double = 0
    for kk in 0..<k { s += Double(abs(a[i * k + kk] * w[kk * n + j])) }
    let u = 0x1p-24, kk = Double(2 * k)
    return Float(2 * (kk * u / (1 - kk * u)) * s) + Float.leastNormalMagnitude
}

/// The functional paths against one case's register-level float run (`output`,
/// of operands `a`, `w`) under `mapping` with `faults` bypassed: each float
/// output within the float bound of the masked GEMM; then an int8 run of fresh
/// operands from `rng`, bit-exact against the int8 masked GEMM, with the
/// closed form's statistics `closed`.
func expectFunctionalPathsAgree(_ tc: Case, faults: FaultMap, mapping: WeightMapping, a: [Float], w: [Float],
                                output: [Float], closed: GEMMStats, rng: inout SeededRNG, label: String) throws {
    let fast = MaskedGEMM.forward(a: a, m: tc.m, k: tc.k, w: w, n: tc.n, faults: faults, mapping: mapping)
    let wm = MaskedGEMM.maskedWeights(w, k: tc.k, n: tc.n, faults: faults, mapping: mapping)
    for i in 0..<tc.m {
        for j in 0..<tc.n {
            let tol = floatTolerance(a: a, w: wm, m: tc.m, k: tc.k, n: tc.n, row: i, col: j)
            #expect(abs(output[i * tc.n + j] - fast[i * tc.n + j]) <= tol, "\(label) at (\(i),\(j))")
        }
    }
    let a8 = (0..<(tc.m * tc.k)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
    let w8 = (0..<(tc.k * tc.n)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
    let run8 = try ArrayGEMM.runInt8(config: tc.config, faults: faults, a: a8, m: tc.m, k: tc.k, w: w8, n: tc.n,
                                     mapping: mapping, threads: 1)
    #expect(run8.output == MaskedGEMM.forwardInt8(a: a8, m: tc.m, k: tc.k, w: w8, n: tc.n, faults: faults,
                                                  mapping: mapping), "\(label)")
    #expect(run8.stats == closed, "\(label)")
}

@Suite struct EquivalenceTests {
    static let cases = makeCases(count: 400, seed: 2026)

    @Test(arguments: 0..<8)
    func registerLevelMatchesClosedFormAndFunctional(batch: Int) throws {
        for tc in Self.cases[(batch * 50)..<((batch + 1) * 50)] {
            var rng = SeededRNG(seed: tc.seed)
            let faults = try FaultMap.uniform(rows: tc.config.rows, cols: tc.config.cols, rate: tc.rate, seed: tc.seed)
            let a = randomFloats(tc.m * tc.k, &rng), w = randomFloats(tc.k * tc.n, &rng)
            let run = try ArrayGEMM.run(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n, threads: 1)
            let closed = try ClosedFormTiming.gemm(config: tc.config, m: tc.m, k: tc.k, n: tc.n, faults: faults)
            #expect(run.stats == closed, "\(tc)")
            #expect(run.stats.macsPerformed + run.stats.macsBypassed == tc.m * tc.k * tc.n, "\(tc)")
            let unmasked = tc.k * tc.n - faults.prunedWeights(k: tc.k, n: tc.n)
            #expect(run.stats.macsPerformed == tc.m * unmasked, "\(tc)")
            let fast = MaskedGEMM.forward(a: a, m: tc.m, k: tc.k, w: w, n: tc.n, faults: faults)
            let wm = MaskedGEMM.maskedWeights(w, k: tc.k, n: tc.n, faults: faults)
            for i in 0..<tc.m {
                for j in 0..<tc.n {
                    let tol = floatTolerance(a: a, w: wm, m: tc.m, k: tc.k, n: tc.n, row: i, col: j)
                    #expect(abs(run.output[i * tc.n + j] - fast[i * tc.n + j]) <= tol, "\(tc) at (\(i),\(j))")
                }
            }
        }
    }

    @Test(arguments: 0..<4)
    func int8DatapathIsBitExact(batch: Int) throws {
        for tc in Self.cases[(batch * 50)..<((batch + 1) * 50)] {
            var rng = SeededRNG(seed: tc.seed ^ 0xABCD)
            let faults = try FaultMap.uniform(rows: tc.config.rows, cols: tc.config.cols, rate: tc.rate, seed: tc.seed)
            let a = (0..<(tc.m * tc.k)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            let w = (0..<(tc.k * tc.n)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            let run = try ArrayGEMM.runInt8(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n, threads: 1)
            #expect(run.output == MaskedGEMM.forwardInt8(a: a, m: tc.m, k: tc.k, w: w, n: tc.n, faults: faults), "\(tc)")
            #expect(run.stats == (try ClosedFormTiming.gemm(config: tc.config, m: tc.m, k: tc.k, n: tc.n, faults: faults)))
        }
    }

    /// Int32 wrap-around really happens and matches: K large enough to overflow.
    @Test func int8AccumulatorsWrapLikeTwosComplement() throws {
        let cfg = HardwareConfig(rows: 4, cols: 2, datapath: .int8)
        let k = 140_000
        let a = [Int8](repeating: 127, count: k), w = [Int8](repeating: 127, count: k)
        let run = try ArrayGEMM.runInt8(config: cfg, faults: nil, a: a, m: 1, k: k, w: w, n: 1)
        let expected = Int32(truncatingIfNeeded: Int64(k) * 127 * 127)
        #expect(run.output == [expected])
        #expect(Int64(k) * 127 * 127 > Int64(Int32.max))
    }

    /// Column strips (any width) on any number of threads give bit-identical results.
    @Test func stripsAndThreadsAreBitIdentical() throws {
        for tc in makeCases(count: 40, seed: 77, maxDim: 12) {
            var rng = SeededRNG(seed: tc.seed)
            let faults = try FaultMap.uniform(rows: tc.config.rows, cols: tc.config.cols, rate: tc.rate, seed: tc.seed)
            let a = randomFloats(tc.m * tc.k, &rng), w = randomFloats(tc.k * tc.n, &rng)
            let one = try ArrayGEMM.run(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n, threads: 1,
                                        stripWidth: tc.config.cols)
            for (t, width) in [(1, 1), (2, 3), (3, 2), (2, 5)] {
                let many = try ArrayGEMM.run(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n,
                                             threads: t, stripWidth: width)
                #expect(many.output.map(\.bitPattern) == one.output.map(\.bitPattern), "\(tc) threads \(t) width \(width)")
                #expect(many.stats == one.stats, "\(tc) threads \(t) width \(width)")
            }
        }
    }

    /// What the controller's fold boundary protects. The next fold's first weight
    /// write comes on the edge after the current fold's last MAC.
    /// - Single-buffered, two edges earlier: the shift reaches PE(r-1, c-1) before
    ///   its last MAC, and outputs are wrong. (One edge earlier would still be
    ///   correct: register semantics let the first shift coincide with the last MAC.
    ///   The controller keeps one uniform rule, which makes a full fold cost exactly
    ///   SCALE-Sim's 2R + C + M - 2; docs/hardware-model.md.)
    /// (Double-buffered, the same rule keeps a swap from putting a valid weight
    /// where a narrow fold's last activation is about to die.)
    @Test func foldBoundaryIsWhereItMustBe() throws {
        var rng = SeededRNG(seed: 5)
        let (m, k, n) = (6, 12, 6)
        let a = randomFloats(m * k, &rng), w = randomFloats(k * n, &rng)
        let fast = MaskedGEMM.forward(a: a, m: m, k: k, w: w, n: n, faults: nil)
        func close(_ x: [Float]) -> Bool { zip(x, fast).allSatisfy { abs($0 - $1) < 1e-3 } }

        let single = HardwareConfig(rows: 4, cols: 4, weightLoad: .singleBuffered, mappingOrder: .kOuter)
        #expect(close(try ArrayGEMM.run(config: single, faults: nil, a: a, m: m, k: k, w: w, n: n).output))
        func early(_ edges: Int) throws -> [Float] {
            try ArrayGEMM.run(config: single, faults: nil, a: a, m: m, k: k, w: w, n: n, stuckAt: [], threads: 1,
                              stripWidth: nil, observer: nil, streamTailAdjust: -edges).output
        }
        #expect(close(try early(1)))
        #expect(!close(try early(2)))
    }

    @Test func vgg11LayerOn256x256MatchesClosedForm() throws {
        // conv 512->512 at 4x4 for one image: M = 16, K = 4608, N = 512.
        for policy in WeightLoadPolicy.allCases {
            let cfg = HardwareConfig(rows: 256, cols: 256, weightLoad: policy)
            var rng = SeededRNG(seed: 9)
            let (m, k, n) = (16, 4608, 512)
            let a = randomFloats(m * k, &rng), w = randomFloats(k * n, &rng)
            let faults = try FaultMap.uniform(rows: 256, cols: 256, rate: 0.1, seed: 3)
            let run = try ArrayGEMM.run(config: cfg, faults: faults, a: a, m: m, k: k, w: w, n: n)
            #expect(run.stats == (try ClosedFormTiming.gemm(config: cfg, m: m, k: k, n: n, faults: faults)))
            let fast = MaskedGEMM.forward(a: a, m: m, k: k, w: w, n: n, faults: faults)
            let wm = MaskedGEMM.maskedWeights(w, k: k, n: n, faults: faults)
            for i in 0..<m {
                for j in stride(from: 0, to: n, by: 7) {
                    #expect(abs(run.output[i * n + j] - fast[i * n + j]) <= floatTolerance(a: a, w: wm, m: m, k: k, n: n, row: i, col: j))
                }
            }
        }
    }
}
