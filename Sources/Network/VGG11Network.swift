import FapsimSupport

/// A runnable VGG11: the description, its parameters and a GEMM engine, plus
/// reusable activation buffers so inference allocates nothing per image.
///
/// Inside, activations are CNHW ([C][B][H][W], see Im2Col); `forward` takes
/// PyTorch's NCHW images and returns logits [B][classes].
/// Not thread-safe: one forward pass at a time per instance.
public final class VGG11Network {
    public let spec: VGG11Spec
    public let parameters: VGG11Parameters
    public let engine: any GEMMEngine
    /// How the 3x3 convolutions are computed. `.gemm` (im2col + the engine's
    /// GEMM) is the reference, the chip's own arithmetic; `.winograd`
    /// (F(2x2, 3x3) on the engine-prepared weights, the trainer's routine) is
    /// 2.25x fewer multiplies with other roundings, for the functional engine only.
    public let convolution: ConvAlgorithm
    /// When set, forward passes add their per-step wall time to it.
    public var profile: ForwardProfile?
    /// When set, called with every GEMM layer's input activations (CNHW before a
    /// conv's im2col, the flattened features before the classifier): what int8
    /// calibration measures.
    public var gemmInputObserver: ((_ layer: String, _ input: UnsafeBufferPointer<Float>) -> Void)?

    /// Engine-prepared weights (FAP-masked for the functional engine) per GEMM layer.
    private var engineWeights: [String: [Float]] = [:]
    /// Conv bias + BN folded into one affine per conv (see BatchNorm.inferenceAffine).
    private var convAffine: [String: (scale: [Float], shift: [Float])] = [:]
    private var bnAffine: [String: (scale: [Float], shift: [Float])] = [:]

    private var ping: UnsafeMutablePointer<Float>?
    private var pong: UnsafeMutablePointer<Float>?
    private var cols: UnsafeMutablePointer<Float>?
    /// Winograd only: transformed weights U and the transformed-domain output M
    /// (the transformed input V reuses `cols`, which is larger).
    private var winogradU: UnsafeMutablePointer<Float>?
    private var winogradM: UnsafeMutablePointer<Float>?
    /// The batch and worker count the buffers were last checked for (both
    /// decide which blocks run tiled), and the buffers' float capacities.
    private var capacityBatch = 0, capacityWorkers = 0
    private var capacities = (activation: 0, pong: 0, columns: 0, winogradU: 0, winogradM: 0)
    /// The functional engine's conv blocks (`TiledConvBlock`), by conv name, and
    /// each worker's tile scratch: its im2col tile and its pre-pool output tile.
    private var tiledBlocks: [String: TiledConvBlock] = [:]
    private var tileScratch: [(columns: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>)] = []
    private var tileScratchKey: (batch: Int, workers: Int, tiling: TiledConvBlock.Tiling)?
    /// How the functional engine cuts a batch into image tiles; tests shrink it
    /// to the smallest tiles to prove the bits do not depend on it. Set it
    /// before the first forward pass: the layer-wide buffers are sized by it.
    var tiling = TiledConvBlock.Tiling.standard

    public init(parameters: VGG11Parameters, engine: any GEMMEngine, convolution: ConvAlgorithm = .gemm) {
        self.spec = parameters.spec
        self.parameters = parameters
        self.engine = engine
        self.convolution = convolution
        // The array computes every GEMM on its PEs; a Winograd forward would skip them.
        precondition(convolution == .gemm || engine is FunctionalEngine,
                     "Winograd convolutions run on the functional engine only")
        // VGG11Parameters.load and .random fill every layer of the spec; a
        // hand-built parameter set must too (checked here, not per batch).
        func gemm(_ layer: GEMMLayer) -> GEMMParameters {
            guard let p = parameters.gemm[layer.name], p.k == layer.k, p.n == layer.n else {
                preconditionFailure("parameters lack \(layer.name) as a \(layer.k) x \(layer.n) GEMM weight")
            }
            return p
        }
        let layers = spec.layers
        for (i, layer) in layers.enumerated() {
            switch layer {
            case .conv(let c):
                let p = gemm(.conv(c))
                engineWeights[c.name] = engine.prepare(layer: c.name, weights: p.weight, k: p.k, n: p.n)
                if i + 1 < layers.count, case .batchNorm(let b) = layers[i + 1] {
                    convAffine[c.name] = BatchNorm.inferenceAffine(parameters.batchNorm[b.name]!, precedingBias: p.bias)
                }
            case .linear(let l):
                let p = gemm(.linear(l))
                engineWeights[l.name] = engine.prepare(layer: l.name, weights: p.weight, k: p.k, n: p.n)
            case .batchNorm(let b):
                bnAffine[b.name] = BatchNorm.inferenceAffine(parameters.batchNorm[b.name]!, precedingBias: nil)
            default:
                break
            }
        }
        // The functional engine computes every output column alone, so its conv
        // blocks run on image tiles; the array engine's GEMM is one stream whose
        // cycles are recorded and stays layer-wide.
        if engine is FunctionalEngine {
            for (i, layer) in layers.enumerated() {
                guard case .conv(let c) = layer, !convolution.usesWinograd(c), let affine = convAffine[c.name],
                      i + 2 < layers.count, case .relu = layers[i + 2] else { continue }
                var pool = false
                if i + 3 < layers.count, case .maxPool = layers[i + 3] { pool = true }
                tiledBlocks[c.name] = TiledConvBlock(conv: c, affine: affine, relu: true, pool: pool)
            }
        }
    }

    deinit {
        ping?.deallocate()
        pong?.deallocate()
        cols?.deallocate()
        winogradU?.deallocate()
        winogradM?.deallocate()
        releaseTileScratch()
    }

    private func releaseTileScratch() {
        for s in tileScratch {
            s.columns.deallocate()
            s.output.deallocate()
        }
        tileScratch = []
        tileScratchKey = nil
    }

    /// Tiles of conv `c` on `batch` images, nil where it runs layer-wide (the
    /// array engine, a Winograd conv, or a layer too small to tile).
    private func tileCount(_ c: ConvSpec, batch: Int) -> Int? {
        guard tiledBlocks[c.name] != nil else { return nil }
        return tiling.tiles(c, batch: batch, workers: max(1, Parallel.threads))
    }

    /// Worker tile scratch for `batch` images on `Parallel.threads` workers,
    /// reallocated only when the batch, the worker count or the tiling changes.
    private func reserveTiles(batch: Int) -> Int {
        let workers = max(1, Parallel.threads)
        if let key = tileScratchKey, key.batch == batch, key.workers == workers, key.tiling == tiling { return workers }
        releaseTileScratch()
        var columns = 1, output = 1
        for block in tiledBlocks.values {
            guard let tiles = tileCount(block.conv, batch: batch) else { continue }
            let s = TiledConvBlock.scratch(block.conv, tileImages: (batch + tiles - 1) / tiles)
            columns = max(columns, s.columns)
            if block.pool { output = max(output, s.output) }
        }
        tileScratch = (0..<workers).map { _ in (UnsafeMutablePointer<Float>.allocate(capacity: columns),
                                                UnsafeMutablePointer<Float>.allocate(capacity: output)) }
        tileScratchKey = (batch, workers, tiling)
        return workers
    }

    /// Float counts of the largest activation and im2col matrix for `batch` images.
    private func bufferSizes(batch: Int) -> (activation: Int, columns: Int, winogradU: Int, winogradM: Int) {
        var act = spec.inputChannels * spec.inputSize * spec.inputSize * batch
        var colsMax = 0, uMax = 0, mMax = 0
        for layer in spec.layers {
            switch layer {
            case .conv(let c):
                let m = c.height * c.width * batch
                act = max(act, c.outChannels * m, c.inChannels * m)
                // A tiled block builds its im2col matrix tile by tile, in the workers' scratch.
                if tileCount(c, batch: batch) == nil { colsMax = max(colsMax, c.k * m) }
                if convolution.usesWinograd(c) {
                    colsMax = max(colsMax, WinogradConv.inputTransformCount(c, batch: batch))
                    uMax = max(uMax, WinogradConv.weightTransformCount(c))
                    mMax = max(mMax, WinogradConv.outputTransformCount(c, batch: batch))
                }
            case .linear(let l):
                act = max(act, l.inFeatures * batch, l.outFeatures * batch)
            default:
                break
            }
        }
        return (act, colsMax, uMax, mMax)
    }

    /// Grows each buffer to what `batch` images need. Sizes are checked per
    /// batch, not only for a larger batch: which conv blocks run tiled (and so
    /// need no layer-wide im2col matrix) depends on the batch.
    private func reserve(batch: Int) {
        guard batch != capacityBatch || Parallel.threads != capacityWorkers else { return }
        let s = bufferSizes(batch: batch)
        func grow(_ buffer: inout UnsafeMutablePointer<Float>?, _ capacity: inout Int, _ count: Int) {
            guard count > capacity || buffer == nil else { return }
            buffer?.deallocate()
            buffer = .allocate(capacity: max(1, count))
            capacity = max(1, count)
        }
        grow(&ping, &capacities.activation, s.activation)
        grow(&pong, &capacities.pong, s.activation)
        grow(&cols, &capacities.columns, s.columns)
        grow(&winogradU, &capacities.winogradU, s.winogradU)
        grow(&winogradM, &capacities.winogradM, s.winogradM)
        capacityBatch = batch
        capacityWorkers = Parallel.threads
    }

    /// Logits [batch][classes] for `batch` normalized NCHW images.
    public func forward(images: UnsafePointer<Float>, batch: Int, logits: UnsafeMutablePointer<Float>) throws {
        precondition(batch > 0)
        reserve(batch: batch)
        var cur = ping!, other = pong!
        let colsBuf = cols!
        var channels = spec.inputChannels, height = spec.inputSize, width = spec.inputSize
        Layout.swapLeadingAxes(src: images, outer: batch, inner: channels, plane: height * width, dst: cur)

        let layers = spec.layers
        var i = 0
        while i < layers.count {
            switch layers[i] {
            case .conv(let c) where convolution.usesWinograd(c):
                step("winograd") {
                    engineWeights[c.name]!.withUnsafeBufferPointer { w in
                        WinogradConv.forward(input: cur, weights: w.baseAddress!, batch: batch, spec: c, u: winogradU!,
                                             v: colsBuf, m: winogradM!, out: other)
                    }
                }
                swap(&cur, &other)
                channels = c.outChannels
                i += finishConv(c, data: cur, count: batch * height * width, at: i)
            case .conv(let c) where tileCount(c, batch: batch) != nil:
                let block = tiledBlocks[c.name]!
                gemmInputObserver?(c.name, UnsafeBufferPointer(start: cur, count: c.inChannels * batch * height * width))
                let workers = reserveTiles(batch: batch)
                let seconds = engineWeights[c.name]!.withUnsafeBufferPointer { w in
                    block.run(input: cur, batch: batch, weights: w.baseAddress!,
                              tiles: tileCount(c, batch: batch)!, scratch: tileScratch,
                              output: other, timed: profile != nil)
                }
                // Each phase's seconds averaged over the workers, so the phases
                // still add up to about the block's wall time.
                for phase in TiledConvBlock.Phase.allCases {
                    profile?.add(phase.name, seconds[phase.rawValue] / Double(workers))
                }
                swap(&cur, &other)
                channels = c.outChannels
                if block.pool {
                    height /= 2
                    width /= 2
                }
                i += block.pool ? 3 : 2
            case .conv(let c):
                let m = batch * height * width
                gemmInputObserver?(c.name, UnsafeBufferPointer(start: cur, count: c.inChannels * m))
                step("im2col") {
                    Im2Col.columns(src: cur, channels: c.inChannels, batch: batch, height: height, width: width,
                                   kernel: c.kernel, padding: c.padding, dst: colsBuf)
                }
                try step("gemm") {
                    try engineWeights[c.name]!.withUnsafeBufferPointer { w in
                        try engine.gemm(layer: c.name, weights: w.baseAddress!, k: c.k, n: c.outChannels,
                                        columns: colsBuf, m: m, out: other)
                    }
                }
                swap(&cur, &other)
                channels = c.outChannels
                i += finishConv(c, data: cur, count: m, at: i)
            case .batchNorm(let b):
                applyAffine(cur, channels: channels, count: batch * height * width, bnAffine[b.name]!, relu: false)
            case .relu:
                ReLU.apply(cur, count: channels * batch * height * width)
            case .maxPool:
                step("maxpool") {
                    MaxPool2x2.forward(src: cur, planes: channels * batch, height: height, width: width, dst: other)
                }
                swap(&cur, &other)
                height /= 2
                width /= 2
            case .flatten:
                Flatten.forward(src: cur, channels: channels, batch: batch, height: height, width: width, dst: other)
                swap(&cur, &other)
                channels *= height * width
                height = 1
                width = 1
            case .linear(let l):
                gemmInputObserver?(l.name, UnsafeBufferPointer(start: cur, count: l.inFeatures * batch))
                try step("gemm") {
                    try engineWeights[l.name]!.withUnsafeBufferPointer { w in
                        try engine.gemm(layer: l.name, weights: w.baseAddress!, k: l.inFeatures, n: l.outFeatures,
                                        columns: cur, m: batch, out: other)
                    }
                }
                parameters.gemm[l.name]!.bias.withUnsafeBufferPointer {
                    Linear.finish(outT: other, n: l.outFeatures, batch: batch, bias: $0.baseAddress!, logits: logits)
                }
            }
            i += 1
        }
    }

    /// Array convenience: logits [batch][classes].
    public func forward(images: [Float], batch: Int) throws -> [Float] {
        precondition(images.count == batch * spec.inputChannels * spec.inputSize * spec.inputSize,
                     "expected \(batch) images of \(spec.inputChannels)x\(spec.inputSize)x\(spec.inputSize)")
        var logits = [Float](repeating: 0, count: batch * spec.classes)
        try images.withUnsafeBufferPointer { img in
            try logits.withUnsafeMutableBufferPointer { out in
                try forward(images: img.baseAddress!, batch: batch, logits: out.baseAddress!)
            }
        }
        return logits
    }

    /// After conv `c` (layer `i`): its bias, or bias + BN (+ the ReLU right
    /// after, if any) in one pass. Returns the layers it consumed beyond the conv.
    private func finishConv(_ c: ConvSpec, data: UnsafeMutablePointer<Float>, count: Int, at i: Int) -> Int {
        let layers = spec.layers
        if let affine = convAffine[c.name] {
            var relu = false
            if i + 2 < layers.count, case .relu = layers[i + 2] { relu = true }
            step("bn_relu") { applyAffine(data, channels: c.outChannels, count: count, affine, relu: relu) }
            return relu ? 2 : 1
        }
        parameters.gemm[c.name]!.bias.withUnsafeBufferPointer {
            Conv2D.addBias(data, channels: c.outChannels, count: count, bias: $0.baseAddress!)
        }
        return 0
    }

    @inline(__always) private func step<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        if let profile { return try profile.time(phase, body) }
        return try body()
    }

    private func applyAffine(_ data: UnsafeMutablePointer<Float>, channels: Int, count: Int,
                             _ affine: (scale: [Float], shift: [Float]), relu: Bool) {
        affine.scale.withUnsafeBufferPointer { s in
            affine.shift.withUnsafeBufferPointer { t in
                BatchNorm.applyAffine(data, channels: channels, count: count, scale: s.baseAddress!,
                                      shift: t.baseAddress!, relu: relu)
            }
        }
    }

    /// Index of the largest logit of each image (the first on ties, like torch.argmax).
    public static func argmax(_ logits: UnsafePointer<Float>, batch: Int, classes: Int) -> [Int] {
        (0..<batch).map { b in
            var best = 0
            for j in 1..<classes where logits[b * classes + j] > logits[b * classes + best] { best = j }
            return best
        }
    }
}
