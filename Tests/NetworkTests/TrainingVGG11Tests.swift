import Foundation
import Testing
import FapsimSupport
import SystolicArray
@testable import Network

/// The whole-VGG11 training executor (VGG11Trainer, TrainingRun, checkpoints)
/// on narrow networks, so each test runs in well under a second in release.
@Suite struct TrainingVGG11Tests {
    /// Width 1/16: channels 4, 8, 16, 16, 32, 32, 32, 32 (every layer kind, 32x32 input).
    static func spec(_ width: Double = 0.0625) -> VGG11Spec { try! VGG11Spec(width: width) }

    static func batch(_ size: Int, seed: UInt64, classes: Int = 10) -> (images: [Float], labels: [Int]) {
        var rng = SeededRNG(seed: seed)
        let images = (0..<(size * 3 * 32 * 32)).map { _ in Float(rng.nextGaussian()) }
        let labels = (0..<size).map { _ in rng.nextInt(below: classes) }
        return (images, labels)
    }

    /// A fault map on an 8x8 array: the tiny network's layers (K from 27 to 288,
    /// N from 4 to 32) all fold over it, so every layer has pruned weights.
    static func faults(rate: Double = 0.2, seed: UInt64 = 5) -> FaultMap {
        try! FaultMap.uniform(rows: 8, cols: 8, rate: rate, seed: seed)
    }

    static func loss(_ trainer: VGG11Trainer, _ b: (images: [Float], labels: [Int])) -> Double {
        b.images.withUnsafeBufferPointer { trainer.forwardBackward(images: $0.baseAddress!, labels: b.labels).loss }
    }

    /// Analytic directional derivatives g . v of every parameter tensor against
    /// central differences (L(p + eps v) - L(p - eps v)) / 2 eps of the whole
    /// masked network in training mode (batch-statistics BN), for a random unit
    /// direction v per tensor (zero on pruned weights, which cannot move).
    ///
    /// The narrow network is strongly curved (ReLU and max-pool switches behind
    /// BN over few values), so the step must be small: measured for
    /// features.0.weight, the central difference goes -0.381, -0.309, -0.251,
    /// -0.212, -0.214 for eps = 3e-2, 1e-2, 3e-3, 1e-3, 3e-4 against the analytic
    /// -0.220. At eps = 3e-4 float32 rounding of the loss (~1e-6 absolute after
    /// the sums) is worth ~2e-3 in the quotient, hence the tolerance
    /// 3e-3 absolute + 8% relative (worst measured: 7%, BN gamma of layer 1).
    /// Pruned gradients must be exactly 0, and the conv biases in front of BN
    /// (which BN's mean subtraction cancels) get a gradient of (almost) 0.
    @Test func directionalDerivativesMatchFiniteDifferences() {
        let spec = Self.spec()
        let f = Self.faults()
        let base = VGG11Parameters.random(spec: spec, seed: 11)
        let b = Self.batch(4, seed: 12)
        let t = VGG11Trainer(parameters: base, faults: f)
        _ = Self.loss(t, b)
        let masked = t.parameters

        // Gradients at `masked`, by state_dict name.
        var grads: [String: [Float]] = [:]
        for (i, l) in spec.gemmLayers.enumerated() {
            grads[l.name + ".weight"] = t.dW[i]
            grads[l.name + ".bias"] = t.dB[i]
            if let m = t.masks[i] { for p in m.pruned { #expect(t.dW[i][p] == 0, "pruned gradient of \(l.name)") } }
        }
        for (i, l) in spec.batchNormLayers.enumerated() {
            grads[l.name + ".weight"] = t.dGamma[i]
            grads[l.name + ".bias"] = t.dBeta[i]
        }
        #expect(t.masks.allSatisfy { $0 != nil }, "every layer of the tiny net should see faults")

        var rng = SeededRNG(seed: 13)
        let eps: Float = 3e-4
        var worst = 0.0
        for (name, g) in grads.sorted(by: { $0.key < $1.key }) {
            var v = (0..<g.count).map { _ in Float(rng.nextGaussian()) }
            if name.hasSuffix(".weight"), let i = spec.gemmLayers.firstIndex(where: { $0.name + ".weight" == name }) {
                t.masks[i]?.zero(&v)
            }
            let norm = Float(v.reduce(0) { $0 + Double($1 * $1) }.squareRoot())
            v = v.map { $0 / norm }
            func shifted(_ s: Float) -> Double {
                var p = masked
                Self.edit(&p, name: name) { values in for j in values.indices { values[j] += s * v[j] } }
                let tt = VGG11Trainer(parameters: p, faults: f)
                return Self.loss(tt, b)
            }
            let numeric = (shifted(eps) - shifted(-eps)) / Double(2 * eps)
            let analytic = zip(g, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            if ProcessInfo.processInfo.environment["FD_DEBUG"] != nil {
                let ns = [3e-2, 1e-2, 3e-3, 1e-3, 3e-4].map { e -> String in
                    let n = (shifted(Float(e)) - shifted(Float(-e))) / (2 * e)
                    return String(format: "%.5f", n)
                }
                print("FD \(name) analytic \(String(format: "%.5f", analytic)) numeric \(ns.joined(separator: " "))")
            }
            let err = abs(numeric - analytic)
            worst = max(worst, err / max(abs(analytic), 3e-2))
            #expect(err <= 3e-3 + 0.08 * abs(analytic), "\(name): analytic \(analytic), numeric \(numeric)")
        }
        #expect(worst < 0.1)
    }

    static func edit(_ p: inout VGG11Parameters, name: String, _ body: (inout [Float]) -> Void) {
        let layer = String(name.prefix(upTo: name.lastIndex(of: ".")!))
        let isWeight = name.hasSuffix(".weight")
        if p.gemm[layer] != nil {
            if isWeight { body(&p.gemm[layer]!.weight) } else { body(&p.gemm[layer]!.bias) }
        } else {
            if isWeight { body(&p.batchNorm[layer]!.gamma) } else { body(&p.batchNorm[layer]!.beta) }
        }
    }

    /// FAT over many steps with momentum, Nesterov and weight decay: every
    /// pruned weight and its momentum stay exactly +0 while the kept weights
    /// move, under both convolution algorithms.
    @Test(arguments: ConvAlgorithm.allCases)
    func prunedWeightsAndMomentumStayExactlyZero(_ algorithm: ConvAlgorithm) {
        let spec = Self.spec()
        let f = Self.faults(rate: 0.3)
        let start = VGG11Parameters.random(spec: spec, seed: 21)
        let t = VGG11Trainer(parameters: start, faults: f,
                             hyperparameters: .init(momentum: 0.9, weightDecay: 5e-3, nesterov: true,
                                                    convolution: algorithm))
        for s in 0..<25 {
            let b = Self.batch(8, seed: 100 + UInt64(s))
            b.images.withUnsafeBufferPointer { _ = t.step(images: $0.baseAddress!, labels: b.labels, lr: 0.05) }
        }
        let p = t.parameters
        var moved = 0
        for (i, l) in spec.gemmLayers.enumerated() {
            let mask = t.masks[i]!
            let w = p.gemm[l.name]!.weight
            for j in mask.pruned {
                #expect(w[j].bitPattern == 0, "\(l.name) pruned weight \(j) = \(w[j])")
                #expect(t.momentumBuffers[2 * i][j].bitPattern == 0, "\(l.name) momentum \(j)")
            }
            let kept = Set(0..<w.count).subtracting(mask.pruned)
            moved += kept.filter { w[$0] != start.gemm[l.name]!.weight[$0] }.count
        }
        #expect(moved > 1000)
    }

    /// A fault map with no faults gives bit for bit what training without a
    /// map gives, under both convolution algorithms.
    @Test(arguments: ConvAlgorithm.allCases)
    func faultFreeMapIsBitIdenticalToUnmaskedTraining(_ algorithm: ConvAlgorithm) {
        let spec = Self.spec()
        let start = VGG11Parameters.random(spec: spec, seed: 31)
        let a = VGG11Trainer(parameters: start, faults: nil, hyperparameters: .init(convolution: algorithm))
        let b = VGG11Trainer(parameters: start, faults: FaultMap.none(rows: 8, cols: 8),
                             hyperparameters: .init(convolution: algorithm))
        for s in 0..<6 {
            let x = Self.batch(6, seed: 200 + UInt64(s))
            x.images.withUnsafeBufferPointer {
                let ra = a.step(images: $0.baseAddress!, labels: x.labels, lr: 0.05)
                let rb = b.step(images: $0.baseAddress!, labels: x.labels, lr: 0.05)
                #expect(ra.loss.bitPattern == rb.loss.bitPattern)
            }
        }
        #expect(a.parameters == b.parameters)
        #expect(a.momentumBuffers == b.momentumBuffers)
    }

    /// The training loop really learns: a width-1/8 VGG11 memorises 32 random
    /// images with random labels (train accuracy 100%).
    @Test func overfitsASmallBatch() {
        let spec = Self.spec(0.125)
        let t = VGG11Trainer(parameters: .random(spec: spec, seed: 41), faults: nil,
                             hyperparameters: .init(momentum: 0.9, weightDecay: 0))
        let b = Self.batch(32, seed: 42)
        var last = VGG11Trainer.StepResult(loss: .infinity, correct: 0)
        var first = 0.0
        b.images.withUnsafeBufferPointer { img in
            for s in 0..<120 {
                last = t.step(images: img.baseAddress!, labels: b.labels, lr: 0.02)
                if s == 0 { first = last.loss }
                if last.correct == 32 && last.loss < 0.05 { break }
            }
        }
        #expect(last.correct == 32, "train accuracy \(last.correct)/32, loss \(last.loss) (started at \(first))")
        #expect(last.loss < first / 10)
    }

    /// Synthetic CIFAR-shaped data: random pixels, labels from a seeded draw.
    static func syntheticSet(_ n: Int, seed: UInt64) -> CIFAR10Set {
        var rng = SeededRNG(seed: seed)
        let pixels = (0..<(n * 3072)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let labels = (0..<n).map { _ in UInt8(rng.nextInt(below: 10)) }
        return CIFAR10Set(pixels: pixels, labels: labels, classNames: (0..<10).map { "c\($0)" })
    }

    static func settings(epochs: Int, lr: Double = 0.02) -> TrainingSettings {
        try! TrainingSettings(epochs: epochs, batch: 16, scheduleName: "onecycle", lr: lr, seed: 9)
    }

    /// Two epochs, a checkpoint written to disk and read back into a fresh
    /// trainer, one more epoch: the same weights, momentum and history, bit for
    /// bit, as three epochs without interruption.
    @Test func resumeFromCheckpointIsBitIdentical() throws {
        let spec = Self.spec()
        let train = Self.syntheticSet(40, seed: 51), test = Self.syntheticSet(20, seed: 52)
        let start = VGG11Parameters.random(spec: spec, seed: 53)
        let f = Self.faults(rate: 0.1)
        let identity = ["case": "resume"]

        let whole = try TrainingRun(trainer: VGG11Trainer(parameters: start, faults: f), settings: Self.settings(epochs: 3),
                                    train: train, test: test)
        while !whole.finished { try whole.runEpoch() }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fapsim-resume-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ckpt.h5"
        let first = try TrainingRun(trainer: VGG11Trainer(parameters: start, faults: f), settings: Self.settings(epochs: 3),
                                    train: train, test: test)
        try first.runEpoch()
        try first.runEpoch()
        try first.checkpoint(identity: identity).write(path: path)

        let second = try TrainingRun(trainer: VGG11Trainer(parameters: start, faults: f), settings: Self.settings(epochs: 3),
                                     train: train, test: test)
        let cp = try TrainingCheckpoint.read(path: path, spec: spec, slotNames: second.trainer.slotNames)
        #expect(cp.epochsDone == 2)
        try second.resume(from: cp, identity: identity, path: path)
        try second.runEpoch()
        #expect(second.finished)
        #expect(second.trainer.parameters == whole.trainer.parameters)
        #expect(second.trainer.momentumBuffers == whole.trainer.momentumBuffers)
        #expect(second.trainer.stepsTaken == whole.trainer.stepsTaken)
        #expect(zip(second.history, whole.history).allSatisfy { $0.sameResult(as: $1) })

        // A run with other settings refuses the checkpoint, naming the field.
        let other = try TrainingRun(trainer: VGG11Trainer(parameters: start, faults: f), settings: Self.settings(epochs: 3, lr: 0.03),
                                    train: train, test: test)
        let err = #expect(throws: FapsimError.self) { try other.resume(from: cp, identity: identity, path: path) }
        #expect(err?.message.contains("run_lr") == true)
    }

    /// A diverging run stops with a clear message before the bad step is
    /// applied, so the parameters stay finite.
    @Test func nonFiniteLossStopsTraining() throws {
        let spec = Self.spec()
        let run = try TrainingRun(trainer: VGG11Trainer(parameters: .random(spec: spec, seed: 61), faults: nil,
                                                        hyperparameters: .init(momentum: 0, weightDecay: 0)),
                                  settings: try TrainingSettings(epochs: 2, batch: 8, scheduleName: "constant", lr: 1e30, seed: 1),
                                  train: Self.syntheticSet(32, seed: 62), test: Self.syntheticSet(8, seed: 63))
        let err = #expect(throws: FapsimError.self) { try run.runEpoch() }
        #expect(err?.message.contains("diverged") == true)
        #expect(run.epochsDone == 0)
        let p = run.trainer.parameters
        #expect(p.gemm.values.allSatisfy { $0.weight.allSatisfy(\.isFinite) })
    }

    /// A BN running variance that overflows while the loss stays finite (what
    /// `train --lr 1e6` did) stops the run after that step, naming the tensor,
    /// the element, the epoch and the step; the epoch is not recorded.
    @Test func nonFiniteBatchNormStatisticStopsTraining() throws {
        let spec = Self.spec()
        let trainer = VGG11Trainer(parameters: .random(spec: spec, seed: 61), faults: nil)
        // Training-mode BN normalises with batch statistics, so the loss stays
        // finite; the running average (1 - m) x inf + m x var stays infinite.
        trainer.bn[2].runningVar[3] = .infinity
        let run = try TrainingRun(trainer: trainer,
                                  settings: try TrainingSettings(epochs: 2, batch: 8, scheduleName: "constant", lr: 0.01, seed: 1),
                                  train: Self.syntheticSet(32, seed: 62), test: Self.syntheticSet(8, seed: 63))
        let err = #expect(throws: FapsimError.self) { try run.runEpoch() }
        let name = spec.batchNormLayers[2].name
        #expect(err?.message == "training diverged: \(name).running_var is inf at index 3 after epoch 1, step 0 (learning rate 0.01); the checkpoint of epoch 0 is kept. Lower --lr or change the schedule")
        #expect(run.epochsDone == 0 && run.history.count == 1)
    }

    /// The scan names every kind of tensor, and a weight's element as the
    /// weights file numbers it (PyTorch [out][in] order, not the trainer's W[k][n]).
    @Test func firstNonFiniteStateNamesTheTensorAndElement() throws {
        let spec = Self.spec()
        let trainer = VGG11Trainer(parameters: .random(spec: spec, seed: 64), faults: nil)
        #expect(trainer.firstNonFiniteState() == nil)
        let layer = spec.gemmLayers[1]
        trainer.weights[1][5 * layer.n + 7] = -.infinity   // k = 5, n = 7
        let bad = try #require(trainer.firstNonFiniteState())
        #expect(bad.tensor == layer.name + ".weight" && bad.value == -.infinity)
        let pyTorch = try #require(trainer.parameters.stateDict().first { $0.name == bad.tensor })
        #expect(pyTorch.data[bad.index] == -.infinity && bad.index == 7 * layer.k + 5)
        trainer.weights[1][5 * layer.n + 7] = 0
        trainer.biases[0][2] = .nan
        #expect(trainer.firstNonFiniteState()?.tensor == spec.gemmLayers[0].name + ".bias")
        trainer.biases[0][2] = 0
        trainer.bn[0].beta[1] = .infinity
        #expect(trainer.firstNonFiniteState() == NonFiniteValue(tensor: spec.batchNormLayers[0].name + ".bias", index: 1, value: .infinity))
        trainer.bn[0].beta[1] = 0
        // The largest finite magnitude is not mistaken for infinity.
        trainer.bn[0].runningMean[0] = -.greatestFiniteMagnitude
        #expect(trainer.firstNonFiniteState() == nil)
    }

    // MARK: epoch plans

    @Test func epochPlanIsASeededPermutation() {
        let a = EpochPlan(images: 1000, seed: 3, epoch: 1)
        #expect(a == EpochPlan(images: 1000, seed: 3, epoch: 1))
        #expect(a.order.sorted() == Array(0..<1000))
        #expect(a.order != EpochPlan(images: 1000, seed: 3, epoch: 2).order)
        #expect(a.order != EpochPlan(images: 1000, seed: 4, epoch: 1).order)
        // Offsets span 0...8 and flips are about half.
        #expect(Set(a.cropTop) == Set(0...8) && Set(a.cropLeft) == Set(0...8))
        let flips = a.flip.filter { $0 }.count
        #expect(flips > 430 && flips < 570)
        #expect(a.batches(of: 128).count == 8 && a.batches(of: 128).last == 896..<1000)
    }

    /// Crop offset (4, 4) without flip is the plain normalized image; other
    /// offsets shift it and fill with normalized black; a flip mirrors the crop.
    @Test func augmentationMatchesCropThenFlip() {
        let data = Self.syntheticSet(3, seed: 71)
        let plain = data.normalized(0..<3)
        func fill(top: UInt8, left: UInt8, flip: Bool) -> [Float] {
            let plan = EpochPlan(order: [0, 1, 2], cropTop: [top, top, top], cropLeft: [left, left, left], flip: [flip, flip, flip])
            var out = [Float](repeating: .nan, count: 3 * 3072)
            _ = out.withUnsafeMutableBufferPointer { plan.fill(0..<3, from: data, into: $0.baseAddress!) }
            return out
        }
        #expect(fill(top: 4, left: 4, flip: false) == plain)
        let shifted = fill(top: 6, left: 1, flip: true)   // dy = +2, dx = -3, then mirror
        var mismatches = 0
        for i in 0..<3 {
            for c in 0..<3 {
                let black = CIFARNormalization.tables[c][0]
                for y in 0..<32 {
                    for x in 0..<32 {
                        let cx = 31 - x, sy = y + 2, sx = cx - 3
                        let want = (sy < 32 && sx >= 0) ? plain[((i * 3 + c) * 32 + sy) * 32 + sx] : black
                        if shifted[((i * 3 + c) * 32 + y) * 32 + x] != want { mismatches += 1 }
                    }
                }
            }
        }
        #expect(mismatches == 0)
    }

    // MARK: fused passes

    /// The trainer's fused passes give the same bits as the separate ones:
    /// bias + BN + ReLU forward, and ReLU gate + BN backward.
    @Test func fusedBatchNormPassesEqualSeparatePasses() {
        let channels = 5, count = 1037   // not a multiple of 8: exercises the tails
        var rng = SeededRNG(seed: 81)
        let x = (0..<(channels * count)).map { _ in Float(rng.nextGaussian()) }
        let bias = (0..<channels).map { _ in Float(rng.nextGaussian()) }
        var p1 = BatchNormParameters.identity(channels: channels)
        p1.gamma = (0..<channels).map { _ in Float(0.5 + rng.nextUnitDouble()) }
        p1.beta = (0..<channels).map { _ in Float(rng.nextGaussian() * 0.1) }
        var p2 = p1
        // Separate: add bias, BN, ReLU.
        var y1 = x
        for c in 0..<channels { for i in 0..<count { y1[c * count + i] += bias[c] } }
        var xh1 = [Float](repeating: 0, count: x.count), inv1 = [Float](repeating: 0, count: channels)
        BatchNormTraining.forward(x: y1, channels: channels, count: count, params: &p1, y: &y1, xhat: &xh1, invStd: &inv1)
        for i in y1.indices { y1[i] = max(y1[i], 0) }
        // Fused.
        var y2 = x
        var xh2 = [Float](repeating: 0, count: x.count), inv2 = [Float](repeating: 0, count: channels)
        y2.withUnsafeMutableBufferPointer { yp in
            BatchNormTraining.forward(x: yp.baseAddress!, channels: channels, count: count, params: &p2, y: yp.baseAddress!,
                                      xhat: &xh2, invStd: &inv2, bias: bias, relu: true)
        }
        #expect(y1 == y2 && xh1 == xh2 && inv1 == inv2 && p1 == p2)

        let dy = (0..<x.count).map { _ in Float(rng.nextGaussian()) }
        var g1 = dy
        ReLUBackward.apply(output: y1, gradient: &g1, count: g1.count)
        var dg1 = [Float](repeating: 0, count: channels), db1 = dg1, dx1 = g1
        BatchNormTraining.backward(outputGradient: g1, xhat: xh1, invStd: inv1, gamma: p1.gamma, channels: channels,
                                   count: count, inputGradient: &dx1, gammaGradient: &dg1, betaGradient: &db1)
        var dg2 = [Float](repeating: 0, count: channels), db2 = dg2, dx2 = dy
        dx2.withUnsafeMutableBufferPointer { d in
            BatchNormTraining.backward(outputGradient: d.baseAddress!, xhat: xh1, invStd: inv1, gamma: p1.gamma,
                                       channels: channels, count: count, inputGradient: d.baseAddress!,
                                       gammaGradient: &dg2, betaGradient: &db2, reluOutput: y1)
        }
        #expect(dx1 == dx2 && dg1 == dg2 && db1 == db2)
    }
}
