import Dispatch
import SystolicArray

/// One SGD step at a time on a VGG11Spec: forward in training mode (batch-statistics
/// BN), softmax cross-entropy, backward through every layer, and the optimizer
/// update, all on reused buffers (nothing is allocated per step once the first
/// batch of the largest size has run).
///
/// FAT (docs/conventions.md §2): with a fault map, every GEMM layer gets its PruneMask;
/// the pruned weights are zeroed once at construction (epoch 0 = FAP alone) and
/// the optimizer keeps them, their gradients and their momentum exactly zero, so
/// the weights held here are at every step the masked weights W * mask the
/// faulty array computes with. The forward pass therefore uses them directly and
/// the input gradients flow through the same masked weights.
///
/// Layouts: activations CNHW like `VGG11Network`; images in NCHW, normalized.
/// Not thread-safe; the GEMMs use OpenBLAS's threads, the elementwise passes `Parallel`.
public final class VGG11Trainer {
    public let spec: VGG11Spec
    /// The chip trained for: its fault map and mitigation decide the prune masks.
    public let chip: ChipDescription
    public var faults: FaultMap? { chip.effectiveFaults }
    public let convolution: ConvAlgorithm
    public private(set) var optimizer: SGD
    /// Optimizer steps taken (the LR schedule's clock; restored by checkpoints).
    public var stepsTaken: Int = 0
    /// When set, each phase of a step adds its wall seconds here (bench train).
    public var profile: [String: Double]?

    /// Trainable state in flat arrays, indexed like `spec.gemmLayers` / `spec.batchNormLayers`.
    var weights: [[Float]]
    var biases: [[Float]]
    var bn: [BatchNormParameters]
    public let masks: [PruneMask?]

    // Per-step gradients, same indexing.
    var dW: [[Float]]
    var dB: [[Float]]
    var dGamma: [[Float]]
    var dBeta: [[Float]]

    /// One record per conv block of what the backward pass needs.
    struct ConvBlock {
        let conv: ConvSpec
        let gemmIndex: Int
        let bnIndex: Int
        let pooled: Bool
        /// Computed through Winograd F(2x2, 3x3) rather than im2col + GEMM.
        let winograd: Bool
    }
    let blocks: [ConvBlock]
    let linear: LinearSpec
    let linearIndex: Int

    // Saved activations, sized for `capacity` images.
    private var capacity = 0
    /// Per block: the im2col matrix of its input (K x M), or for a Winograd
    /// block its transformed input V (16 x Cin x T, 4/9 of the im2col size).
    private var columns: [UnsafeMutablePointer<Float>] = []
    /// Per block: the transformed weights U of a Winograd block (nil otherwise).
    private var transformedWeights: [UnsafeMutablePointer<Float>?] = []
    /// Winograd scratch: M / E (16 x Cout x T) and dU (16 x Cin x Cout), sized for the largest block.
    private var winogradOutput: UnsafeMutablePointer<Float>?
    private var winogradWeightGradient: UnsafeMutablePointer<Float>?
    private var activations: [UnsafeMutablePointer<Float>] = [] // each block's BN+ReLU output, C x M
    private var xhat: [UnsafeMutablePointer<Float>] = []
    private var invStd: [UnsafeMutablePointer<Float>] = []
    private var scratchA: UnsafeMutablePointer<Float>?
    private var scratchB: UnsafeMutablePointer<Float>?
    private var flat: UnsafeMutablePointer<Float>?      // linear input At[K][B]
    private var logitsT: UnsafeMutablePointer<Float>?   // linear output Out^T[N][B]
    private var logits: UnsafeMutablePointer<Float>?    // [B][N], then dLogits in place

    public struct Hyperparameters: Sendable, Equatable {
        public var momentum: Float
        public var weightDecay: Float
        public var nesterov: Bool
        /// How the 3x3 convolutions are computed. Not a hyperparameter of the
        /// optimisation, but it decides the last bits of every result, so it
        /// travels with the settings into a run's identity.
        public var convolution: ConvAlgorithm
        public init(momentum: Float = 0.9, weightDecay: Float = 5e-4, nesterov: Bool = false,
                    convolution: ConvAlgorithm = .winograd) {
            self.momentum = momentum
            self.weightDecay = weightDecay
            self.nesterov = nesterov
            self.convolution = convolution
        }
    }

    /// Parameter slots of the optimizer: per GEMM layer weight then bias, then
    /// per BN layer gamma then beta. The names are the state_dict keys.
    public var slotNames: [String] {
        spec.gemmLayers.flatMap { [$0.name + ".weight", $0.name + ".bias"] }
            + spec.batchNormLayers.flatMap { [$0.name + ".weight", $0.name + ".bias"] }
    }

    /// A trainer for a chip under FAP with this fault map.
    public convenience init(parameters: VGG11Parameters, faults: FaultMap?, hyperparameters h: Hyperparameters = .init()) {
        self.init(parameters: parameters, chip: ChipDescription(faults: faults), hyperparameters: h)
    }

    public init(parameters: VGG11Parameters, chip: ChipDescription, hyperparameters h: Hyperparameters = .init()) {
        spec = parameters.spec
        convolution = h.convolution
        self.chip = chip
        let gemmLayers = spec.gemmLayers
        let bnLayers = spec.batchNormLayers
        weights = gemmLayers.map { parameters.gemm[$0.name]!.weight }
        biases = gemmLayers.map { parameters.gemm[$0.name]!.bias }
        bn = bnLayers.map { parameters.batchNorm[$0.name]! }
        masks = gemmLayers.map { layer in
            guard let faults = chip.effectiveFaults, let mapping = chip.mapping(layer: layer.name, k: layer.k, n: layer.n) else {
                return nil
            }
            let m = PruneMask(faults: faults, k: layer.k, n: layer.n, mapping: mapping)
            return m.isEmpty ? nil : m
        }
        for i in weights.indices { masks[i]?.zero(&weights[i]) }
        dW = gemmLayers.map { [Float](repeating: 0, count: $0.k * $0.n) }
        dB = gemmLayers.map { [Float](repeating: 0, count: $0.n) }
        dGamma = bnLayers.map { [Float](repeating: 0, count: $0.channels) }
        dBeta = bnLayers.map { [Float](repeating: 0, count: $0.channels) }
        optimizer = SGD(slots: 2 * (gemmLayers.count + bnLayers.count), momentum: h.momentum,
                        weightDecay: h.weightDecay, nesterov: h.nesterov)

        var blocks: [ConvBlock] = []
        var linear: LinearSpec?
        var gi = 0, bi = 0
        let layers = spec.layers
        for (i, layer) in layers.enumerated() {
            switch layer {
            case .conv(let c):
                guard i + 2 < layers.count, case .batchNorm = layers[i + 1], case .relu = layers[i + 2] else {
                    preconditionFailure("VGG11Trainer expects conv -> BN -> ReLU blocks")
                }
                var pooled = false
                if i + 3 < layers.count, case .maxPool = layers[i + 3] { pooled = true }
                blocks.append(ConvBlock(conv: c, gemmIndex: gi, bnIndex: bi, pooled: pooled,
                                        winograd: h.convolution.usesWinograd(c)))
                gi += 1
                bi += 1
            case .linear(let l):
                linear = l
                gi += 1
            default:
                break
            }
        }
        guard let linear, gi == gemmLayers.count else { preconditionFailure("VGG11Trainer expects one final linear layer") }
        self.blocks = blocks
        self.linear = linear
        linearIndex = gemmLayers.count - 1
    }

    deinit { release() }

    private func release() {
        for p in columns + activations + xhat + invStd { p.deallocate() }
        for p in transformedWeights + [scratchA, scratchB, flat, logitsT, logits, winogradOutput, winogradWeightGradient] {
            p?.deallocate()
        }
        columns = []; activations = []; xhat = []; invStd = []; transformedWeights = []
        winogradOutput = nil; winogradWeightGradient = nil
    }

    private func reserve(batch: Int) {
        guard batch > capacity else { return }
        release()
        var largest = spec.inputChannels * spec.inputSize * spec.inputSize * batch
        var winogradOut = 0, winogradWeights = 0
        for b in blocks {
            let m = batch * b.conv.height * b.conv.width
            if b.winograd {
                columns.append(.allocate(capacity: WinogradConv.inputTransformCount(b.conv, batch: batch)))
                transformedWeights.append(.allocate(capacity: WinogradConv.weightTransformCount(b.conv)))
                winogradOut = max(winogradOut, WinogradConv.outputTransformCount(b.conv, batch: batch))
                winogradWeights = max(winogradWeights, WinogradConv.weightTransformCount(b.conv))
            } else {
                columns.append(.allocate(capacity: b.conv.k * m))
                transformedWeights.append(nil)
            }
            activations.append(.allocate(capacity: b.conv.outChannels * m))
            xhat.append(.allocate(capacity: b.conv.outChannels * m))
            invStd.append(.allocate(capacity: b.conv.outChannels))
            largest = max(largest, b.conv.outChannels * m, b.conv.inChannels * m)
        }
        if winogradOut > 0 {
            winogradOutput = .allocate(capacity: winogradOut)
            winogradWeightGradient = .allocate(capacity: winogradWeights)
        }
        scratchA = .allocate(capacity: largest)
        scratchB = .allocate(capacity: largest)
        flat = .allocate(capacity: linear.inFeatures * batch)
        logitsT = .allocate(capacity: linear.outFeatures * batch)
        logits = .allocate(capacity: linear.outFeatures * batch)
        capacity = batch
    }

    /// The current parameters (masked weights, BN statistics) as a VGG11Parameters.
    public var parameters: VGG11Parameters {
        var gemm: [String: GEMMParameters] = [:]
        for (i, layer) in spec.gemmLayers.enumerated() {
            gemm[layer.name] = GEMMParameters(weight: weights[i], bias: biases[i], k: layer.k, n: layer.n)
        }
        var bnp: [String: BatchNormParameters] = [:]
        for (i, b) in spec.batchNormLayers.enumerated() { bnp[b.name] = bn[i] }
        return VGG11Parameters(spec: spec, gemm: gemm, batchNorm: bnp)
    }

    /// Restores parameters and optimizer state (a checkpoint). The masks are
    /// re-applied, so a checkpoint of another chip cannot smuggle pruned weights back.
    public func restore(parameters p: VGG11Parameters, momentum: [[Float]], steps: Int) {
        precondition(p.spec == spec)
        for (i, layer) in spec.gemmLayers.enumerated() {
            weights[i] = p.gemm[layer.name]!.weight
            biases[i] = p.gemm[layer.name]!.bias
            masks[i]?.zero(&weights[i])
        }
        for (i, b) in spec.batchNormLayers.enumerated() { bn[i] = p.batchNorm[b.name]! }
        precondition(momentum.count == optimizer.buffers.count)
        for (slot, buf) in momentum.enumerated() { optimizer.setBuffer(slot: slot, buf) }
        stepsTaken = steps
    }

    public var momentumBuffers: [[Float]] { optimizer.buffers }

    public struct StepResult: Sendable {
        /// Mean cross-entropy over the batch.
        public var loss: Double
        /// Images whose arg-max logit was the label (before the update).
        public var correct: Int
    }

    /// Forward, backward and one SGD update at learning rate `lr` on `batch`
    /// normalized NCHW images.
    @discardableResult
    public func step(images: UnsafePointer<Float>, labels: [Int], lr: Float) -> StepResult {
        precondition(!labels.isEmpty)
        let result = forwardBackward(images: images, labels: labels)
        update(lr: lr)
        return result
    }

    /// Forward in training mode and backward; leaves the gradients in dW, dB,
    /// dGamma, dBeta (the pruned entries of dW zeroed). Updates BN running stats.
    @discardableResult
    public func forwardBackward(images: UnsafePointer<Float>, labels: [Int]) -> StepResult {
        // Single-threaded BLAS calls spread over the cores here (TrainerGEMMs: why).
        TrainerGEMMs.singleThreadedBLAS { forwardBackwardSteps(images: images, labels: labels) }
    }

    private func forwardBackwardSteps(images: UnsafePointer<Float>, labels: [Int]) -> StepResult {
        let batch = labels.count
        reserve(batch: batch)
        let classes = linear.outFeatures
        var height = spec.inputSize, width = spec.inputSize
        let pooledOut = scratchA!
        Layout.swapLeadingAxes(src: images, outer: batch, inner: spec.inputChannels, plane: height * width, dst: pooledOut)
        var input = pooledOut

        // Forward.
        for (bi, b) in blocks.enumerated() {
            let c = b.conv
            let m = batch * height * width
            let act = activations[bi]
            if b.winograd {
                // Reads all of `input` (possibly `pooledOut`) into V before `act` is written.
                weights[b.gemmIndex].withUnsafeBufferPointer { w in
                    WinogradConv.forward(input: input, weights: w.baseAddress!, batch: batch, spec: c,
                                         u: transformedWeights[bi]!, v: columns[bi], m: winogradOutput!, out: act,
                                         timed: timedPhase)
                }
            } else {
                timed("im2col") {
                    Im2Col.columns(src: input, channels: c.inChannels, batch: batch, height: height, width: width,
                                   kernel: c.kernel, padding: c.padding, dst: columns[bi])
                }
                timed("gemm_forward.\(c.name)") {
                    weights[b.gemmIndex].withUnsafeBufferPointer { w in
                        // Conv2D.gemm's product, in two halves of the output pixels.
                        TrainerGEMMs.sgemm(m: c.outChannels, n: m, k: c.k, a: w.baseAddress!, lda: c.outChannels,
                                           transA: true, b: columns[bi], ldb: m, c: act, ldc: m)
                    }
                }
            }
            timed("bn_relu_forward") {
                // Conv bias, BN (batch statistics) and ReLU in one pass over the activations.
                biases[b.gemmIndex].withUnsafeBufferPointer { bias in
                    BatchNormTraining.forward(x: act, channels: c.outChannels, count: m, params: &bn[b.bnIndex],
                                              y: act, xhat: xhat[bi], invStd: invStd[bi], bias: bias.baseAddress!,
                                              relu: true)
                }
            }
            if b.pooled {
                // im2col above has copied everything it needs out of `pooledOut`.
                MaxPool2x2.forward(src: act, planes: c.outChannels * batch, height: height, width: width, dst: pooledOut)
                height /= 2
                width /= 2
                input = pooledOut
            } else {
                input = act
            }
        }
        let lastChannels = blocks.last!.conv.outChannels
        Flatten.forward(src: input, channels: lastChannels, batch: batch, height: height, width: width, dst: flat!)
        weights[linearIndex].withUnsafeBufferPointer { w in
            Conv2D.gemm(weights: w.baseAddress!, k: linear.inFeatures, n: classes, columns: flat!, m: batch, out: logitsT!)
        }
        biases[linearIndex].withUnsafeBufferPointer {
            Linear.finish(outT: logitsT!, n: classes, batch: batch, bias: $0.baseAddress!, logits: logits!)
        }
        let correct = SoftmaxCrossEntropy.correct(logits: logits!, labels: labels, classes: classes)
        let loss = SoftmaxCrossEntropy.lossAndGradient(logits: logits!, labels: labels, classes: classes, gradient: logits!)

        // Backward.
        weights[linearIndex].withUnsafeBufferPointer { w in
            dW[linearIndex].withUnsafeMutableBufferPointer { dw in
                dB[linearIndex].withUnsafeMutableBufferPointer { db in
                    LinearBackward.backward(flatInput: flat!, weights: w.baseAddress!, logitsGradient: logits!,
                                            k: linear.inFeatures, n: classes, batch: batch,
                                            weightGradient: dw.baseAddress!, biasGradient: db.baseAddress!,
                                            flatInputGradient: scratchB!)
                }
            }
        }
        // scratchB holds dFlat [K][B]; back to CNHW of the last block's (pooled) output.
        var cur = scratchA!, other = scratchB!
        FlattenBackward.backward(flatGradient: other, channels: lastChannels, batch: batch, height: height,
                                 width: width, dst: cur)
        // `cur` = gradient of the current block's output (after pooling, if any).
        for bi in blocks.indices.reversed() {
            let b = blocks[bi]
            let c = b.conv
            let m = batch * c.height * c.width
            let act = activations[bi]
            var g = cur
            if b.pooled {
                timed("pool_backward") { MaxPool2x2Backward.backward(input: act, outputGradient: cur, planes: c.outChannels * batch,
                                            height: c.height, width: c.width, inputGradient: other) }
                g = other
            }
            timed("bn_backward") { bn[b.bnIndex].gamma.withUnsafeBufferPointer { gamma in
                dGamma[b.bnIndex].withUnsafeMutableBufferPointer { dg in
                    dBeta[b.bnIndex].withUnsafeMutableBufferPointer { dbeta in
                        BatchNormTraining.backward(outputGradient: g, xhat: xhat[bi], invStd: invStd[bi],
                                                   gamma: gamma.baseAddress!, channels: c.outChannels, count: m,
                                                   inputGradient: g, gammaGradient: dg.baseAddress!,
                                                   betaGradient: dbeta.baseAddress!, reluOutput: act)
                    }
                }
            } }
            // The input gradient goes to whichever buffer `g` is not.
            let inputGradient = g == cur ? other : cur
            if b.winograd {
                dW[b.gemmIndex].withUnsafeMutableBufferPointer { dw in
                    WinogradConv.backward(outputGradient: g, batch: batch, spec: c, u: transformedWeights[bi]!,
                                          v: columns[bi], e: winogradOutput!, du: winogradWeightGradient!,
                                          weightGradient: dw.baseAddress!, inputGradient: bi == 0 ? nil : inputGradient,
                                          timed: timedPhase)
                }
                timed("bias_gradient") {
                    dB[b.gemmIndex].withUnsafeMutableBufferPointer { db in
                        ConvBackward.biasGradient(outputGradient: g, channels: c.outChannels, count: m, dst: db.baseAddress!)
                    }
                }
            } else {
                timed("conv_backward.\(c.name)") { weights[b.gemmIndex].withUnsafeBufferPointer { w in
                    dW[b.gemmIndex].withUnsafeMutableBufferPointer { dw in
                        dB[b.gemmIndex].withUnsafeMutableBufferPointer { db in
                            ConvBackward.backward(columns: columns[bi], weights: w.baseAddress!, outputGradient: g,
                                                  k: c.k, n: c.outChannels, batch: batch, spec: c,
                                                  weightGradient: dw.baseAddress!, biasGradient: db.baseAddress!,
                                                  columnsGradient: bi == 0 ? nil : columns[bi],
                                                  inputGradient: bi == 0 ? nil : inputGradient)
                        }
                    }
                } }
            }
            other = g
            cur = inputGradient
        }
        for i in masks.indices { masks[i]?.zero(&dW[i]) }
        return StepResult(loss: loss, correct: correct)
    }

    /// `timed` in the shape the conv routines take.
    private func timedPhase(_ phase: String, _ body: () -> Void) { timed(phase, body) }

    @inline(__always) private func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        guard profile != nil else { return try body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer { profile![phase, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9 }
        return try body()
    }

    /// One SGD update of every slot with the gradients of the last forwardBackward.
    public func update(lr: Float) {
        timed("sgd") { updateAll(lr: lr) }
    }

    private func updateAll(lr: Float) {
        var slot = 0
        for i in weights.indices {
            optimizer.step(slot: slot, parameter: &weights[i], gradient: &dW[i], lr: lr, mask: masks[i])
            optimizer.step(slot: slot + 1, parameter: &biases[i], gradient: &dB[i], lr: lr)
            slot += 2
        }
        for i in bn.indices {
            optimizer.step(slot: slot, parameter: &bn[i].gamma, gradient: &dGamma[i], lr: lr)
            optimizer.step(slot: slot + 1, parameter: &bn[i].beta, gradient: &dBeta[i], lr: lr)
            slot += 2
        }
        stepsTaken += 1
    }
}
