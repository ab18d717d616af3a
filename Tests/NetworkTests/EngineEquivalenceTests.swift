import Foundation
import Testing
import SystolicArray
@testable import Network

/// The array engine (every GEMM on the register-level PE array, faults in the
/// bypass muxes) and the functional engine (FAP-masked OpenBLAS GEMMs) compute
/// the same network: same predictions, logits within the bound derived in
/// ReferenceForward, and every layer's cycles equal to the closed form.
/// Width 0.25 with seeded random weights and real CIFAR-10 test images keeps the
/// register-level runs short.
@Suite(.serialized) struct EngineEquivalenceTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var rows: Int, cols: Int, rate: Double, seed: UInt64, images: Int
        var weightLoad: WeightLoadPolicy = .singleBuffered
        var mitigation: Mitigation = .fap
        var famMethod: FaultAwareMapping.Method = .standard
        /// The spare layout under `Mitigation.spares`.
        var spares: SpareLayout? = nil
        var testDescription: String {
            "\(rows)x\(cols) \(weightLoad.rawValue) rate \(rate) seed \(seed), \(images) images, \(mitigation.rawValue)"
                + (mitigation == .fam ? " (\(famMethod.rawValue))" : "") + (spares.map { " (\($0.description))" } ?? "")
        }
    }

    /// Every array size meets every fault rate with several seeds; two images
    /// (one batch, so M spans images) on the small arrays, one on 256x256 except
    /// one batch of two.
    static let cases: [Case] = {
        var out: [Case] = []
        for size in [8, 16] {
            out.append(Case(rows: size, cols: size, rate: 0, seed: 0, images: 2))
            for rate in [0.05, 0.3] {
                for seed: UInt64 in 1...3 { out.append(Case(rows: size, cols: size, rate: rate, seed: seed, images: 2)) }
            }
        }
        out.append(Case(rows: 16, cols: 8, rate: 0.05, seed: 7, images: 2, weightLoad: .doubleBuffered))
        out.append(Case(rows: 256, cols: 256, rate: 0, seed: 0, images: 1))
        out.append(Case(rows: 256, cols: 256, rate: 0.05, seed: 8, images: 2))
        out.append(Case(rows: 256, cols: 256, rate: 0.3, seed: 9, images: 1))
        return out
    }()

    @Test(.requiresSharedData(.cifarTestBatch),
          arguments: cases)
    func arrayMatchesFunctional(_ c: Case) throws {
        try check(VGG11Parameters.random(spec: try VGG11Spec(width: 0.25), seed: 11), c)
    }

    /// The trained full-width network on a small faulty array: real weights and
    /// the largest K (4608) the tolerance has to cover.
    @Test(.requiresSharedData(.cifarTestBatch, .pretrainedModel))
    func trainedModelOnFaultyArray() throws {
        try check(try VGG11Parameters.load(path: TestData.modelPath), Case(rows: 16, cols: 16, rate: 0.05, seed: 12, images: 1))
    }

    /// The trained full-width network under FAM, on real images at several
    /// rates, on a small array and on the TPU-like 256x256 one: the array engine
    /// reads each layer's FAM mapping and equals the functional engine, and its
    /// cycles equal the closed form under the same mapping.
    @Test(.requiresSharedData(.cifarTestBatch, .pretrainedModel), arguments: [
        // The default method, lanes: the first conv (27 rows, 64 columns), the
        // second's 128 columns and the classifier's 10 on chosen lines.
        Case(rows: 16, cols: 16, rate: 0.05, seed: 13, images: 1, mitigation: .fam),
        Case(rows: 16, cols: 16, rate: 0.3, seed: 14, images: 1, mitigation: .fam),
        Case(rows: 256, cols: 256, rate: 0.1, seed: 15, images: 1, mitigation: .fam),
        Case(rows: 256, cols: 256, rate: 0.2, seed: 16, images: 1, mitigation: .fam),
        // The first lanes, as FAM was first built.
        Case(rows: 16, cols: 16, rate: 0.2, seed: 18, images: 1, mitigation: .fam, famMethod: .columns),
        // The joint method also permutes the first layer's input rows and the
        // classifier's columns.
        Case(rows: 16, cols: 16, rate: 0.2, seed: 17, images: 1, mitigation: .fam, famMethod: .joint),
    ])
    func trainedModelUnderFAM(_ c: Case) throws {
        try check(try VGG11Parameters.load(path: TestData.modelPath), c)
    }

    /// Row/column bypass: every GEMM on the fault-free sub-array the solver keeps
    /// (exact on 16x16, greedy on 256x256). The functional engine's logits are
    /// the fault-free network's bit for bit (no weight is pruned), the array
    /// engine equals them within the bound, and its cycles and MACs equal the
    /// closed form under the chip's lanes.
    @Test(.requiresSharedData(.cifarTestBatch), arguments: [
        Case(rows: 16, cols: 16, rate: 0.05, seed: 17, images: 2, mitigation: .rowcol),
        Case(rows: 16, cols: 8, rate: 0.1, seed: 18, images: 2, weightLoad: .doubleBuffered, mitigation: .rowcol),
        Case(rows: 256, cols: 256, rate: 0.001, seed: 19, images: 1, mitigation: .rowcol),
    ])
    func randomModelUnderRowcol(_ c: Case) throws {
        try check(VGG11Parameters.random(spec: try VGG11Spec(width: 0.25), seed: 11), c)
    }

    /// Spares + FAP: both engines and the closed form see the repaired map (the
    /// faults no spare took), and the reference prunes exactly those.
    @Test(.requiresSharedData(.cifarTestBatch), arguments: [
        Case(rows: 8, cols: 8, rate: 0.2, seed: 20, images: 2, mitigation: .spares, spares: .diagonal),
        Case(rows: 16, cols: 16, rate: 0.1, seed: 21, images: 2, mitigation: .spares, spares: .columnGroups(groupCols: 4)),
        Case(rows: 16, cols: 8, rate: 0.1, seed: 22, images: 2, weightLoad: .doubleBuffered, mitigation: .spares, spares: .diagonal),
    ])
    func randomModelUnderSpares(_ c: Case) throws {
        try check(VGG11Parameters.random(spec: try VGG11Spec(width: 0.25), seed: 11), c)
    }

    func check(_ params: VGG11Parameters, _ c: Case) throws {
        let test = try TestData.testSet()
        let images = test.normalized(0..<c.images)
        let config = HardwareConfig(name: "t\(c.rows)x\(c.cols)", rows: c.rows, cols: c.cols, weightLoad: c.weightLoad)
        let faults = c.rate == 0 ? nil : try FaultMap.uniform(rows: c.rows, cols: c.cols, rate: c.rate, seed: c.seed)
        let chip = c.mitigation == .fam ? FaultAwareMapping.chip(faults: faults, parameters: params, method: c.famMethod)
            : FaultAwareMapping.applied(ChipDescription(faults: faults, mitigation: c.mitigation, spares: c.spares), parameters: params)
        if c.mitigation == .rowcol { #expect(try #require(chip.lanes).area < c.rows * c.cols) }
        if c.mitigation == .spares {
            let repair = try #require(chip.spareRepair)
            #expect(!repair.repaired.isEmpty && !repair.unrepaired.isEmpty, "a case with repaired and unrepaired faults")
        }
        if c.mitigation == .fam && faults != nil { #expect(chip.layerMappings.values.contains { !$0.isDefault }) }

        let functional = VGG11Network(parameters: params, engine: FunctionalEngine(chip: chip))
        let fLogits = try functional.forward(images: images, batch: c.images)
        // The reference prunes by the default mapping: under FAM it runs the
        // network whose weights FAM's mapping pruned, on a fault-free chip.
        var referenceParams = params
        if c.mitigation == .fam {
            for layer in params.spec.gemmLayers {
                let p = params.gemm[layer.name]!
                referenceParams.gemm[layer.name]!.weight = FunctionalEngine(chip: chip).prepare(layer: layer.name, weights: p.weight,
                                                                                               k: layer.k, n: layer.n)
            }
        }
        // Under row/column bypass no weight is pruned: the reference is the fault-free network.
        // Under spares it prunes the faults no spare replaced.
        let reference = ReferenceForward(params: referenceParams,
                                         faults: c.mitigation == .fap || c.mitigation == .spares ? chip.effectiveFaults : nil)
            .run(images: images, batch: c.images)
        // The reference runs the same routines in the same order: identical bits.
        #expect(reference.logits == fLogits)

        // One array thread: the array's threads meet at a spin barrier every
        // cycle, which stalls badly when the test runner shares the cores.
        let arrayEngine = try ArrayEngine(config: config, chip: chip, threads: 1)
        let array = VGG11Network(parameters: params, engine: arrayEngine)
        let t0 = Date()
        let aLogits = try array.forward(images: images, batch: c.images)
        let seconds = Date().timeIntervalSince(t0)

        let classes = params.spec.classes
        var worst: Float = 0, largestDiff: Float = 0
        for j in 0..<fLogits.count {
            let diff = abs(aLogits[j] - fLogits[j])
            #expect(diff <= reference.bound[j], "logit \(j): array \(aLogits[j]) functional \(fLogits[j]) bound \(reference.bound[j])")
            worst = max(worst, reference.bound[j])
            largestDiff = max(largestDiff, diff)
        }
        print(String(format: "width %g, %@: array engine %.2f s, largest logit difference %.3g, tolerance %.3g",
                     params.spec.width, c.testDescription, seconds, largestDiff, worst))
        // The bound must be tight enough to catch a wrong network: well below the logits' spread.
        let spread = (fLogits.max() ?? 0) - (fLogits.min() ?? 0)
        #expect(worst < 0.01 * spread, "bound \(worst) vs logit spread \(spread)")

        let fPred = fLogits.withUnsafeBufferPointer { VGG11Network.argmax($0.baseAddress!, batch: c.images, classes: classes) }
        let aPred = aLogits.withUnsafeBufferPointer { VGG11Network.argmax($0.baseAddress!, batch: c.images, classes: classes) }
        for b in 0..<c.images {
            // Predictions must agree unless the top two logits are within the bound of each other.
            let row = Array(fLogits[(b * classes)..<((b + 1) * classes)]).sorted(by: >)
            if row[0] - row[1] > 2 * worst { #expect(aPred[b] == fPred[b], "image \(b)") }
        }

        // Cycles: every layer's register-level count equals the closed form.
        #expect(arrayEngine.runs.map(\.layer) == params.spec.gemmLayers.map(\.name))
        for run in arrayEngine.runs {
            let closed = try ClosedFormTiming.gemm(config: config, m: run.m, k: run.k, n: run.n, faults: chip.effectiveFaults,
                                                   mapping: chip.mapping(layer: run.layer, k: run.k, n: run.n))
            #expect(run.stats.cycles == closed.cycles, "\(run.layer) cycles")
            #expect(run.stats.macsPerformed == closed.macsPerformed, "\(run.layer) MACs performed")
            #expect(run.stats.macsBypassed == closed.macsBypassed, "\(run.layer) MACs bypassed")
            let mapping = chip.mapping(layer: run.layer, k: run.k, n: run.n)
            if c.mitigation == .rowcol {
                // Every weight on a working PE; the bypassed MACs are the switched-off lines'.
                #expect(run.stats.macsPerformed == run.m * run.k * run.n, "\(run.layer) MACs performed")
            } else if let mapping, let faults, !mapping.usesEveryLane {
                // FAM on chosen lanes: every unpruned weight performs its MACs; the
                // bypassed ones add the switched-off lines inside the fold spans.
                #expect(run.stats.macsPerformed == run.m * (run.k * run.n - mapping.prunedCount(faults: faults)),
                        "\(run.layer) MACs performed")
                #expect(run.stats.macsPerformed + run.stats.macsBypassed > run.m * run.k * run.n, "\(run.layer) MAC total")
            } else {
                #expect(run.stats.macsPerformed + run.stats.macsBypassed == run.m * run.k * run.n, "\(run.layer) MAC total")
            }
        }
    }

    /// One fault-free image through the full-width VGG11 on the 256x256 array
    /// performs exactly the 152,769,536 MACs of docs/conventions.md §3, none bypassed, and every
    /// layer's M, K, N is the network description's GEMM shape for one image.
    @Test func fullWidthImageOnTPUArrayPerformsSpecMACs() throws {
        let params = VGG11Parameters.random(spec: try VGG11Spec(width: 1.0), seed: 5)
        let engine = try ArrayEngine(config: HardwareConfig(name: "tpu-256x256", rows: 256, cols: 256), faults: nil, threads: 1)
        let network = VGG11Network(parameters: params, engine: engine)
        _ = try network.forward(images: TestData.random(3 * 32 * 32, seed: 9), batch: 1)
        #expect(engine.runs.reduce(0) { $0 + $1.stats.macsPerformed } == 152_769_536)
        #expect(engine.runs.allSatisfy { $0.stats.macsBypassed == 0 })
        #expect(engine.runs.map { GEMMShape(m: $0.m, k: $0.k, n: $0.n) } == params.spec.gemmLayers.map { $0.shape(batch: 1) })
    }

    /// The tolerance is not vacuous: pruning 30% of the weights moves the logits
    /// by far more than the bound, so an engine that ignored the faults would fail.
    @Test(.requiresSharedData(.cifarTestBatch))
    func boundIsFarBelowTheEffectOfFaults() throws {
        let test = try TestData.testSet()
        let images = test.normalized(0..<2)
        let params = VGG11Parameters.random(spec: try VGG11Spec(width: 0.25), seed: 11)
        let faults = try FaultMap.uniform(rows: 8, cols: 8, rate: 0.3, seed: 1)
        let faulty = ReferenceForward(params: params, faults: faults).run(images: images, batch: 2)
        let clean = ReferenceForward(params: params, faults: nil).run(images: images, batch: 2)
        let moved = zip(faulty.logits, clean.logits).map { abs($0 - $1) }.max()!
        #expect(moved > 100 * faulty.bound.max()!)
    }
}
