import FapsimSupport

/// Weight and bias of one GEMM layer in the GEMM layout (W[K][N], see GEMMWeights).
public struct GEMMParameters: Sendable, Equatable {
    public var weight: [Float]
    public var bias: [Float]
    public let k: Int
    public let n: Int

    public init(weight: [Float], bias: [Float], k: Int, n: Int) {
        precondition(weight.count == k * n && bias.count == n)
        self.weight = weight
        self.bias = bias
        self.k = k
        self.n = n
    }
}

/// Every learnable parameter and BN statistic of a VGG11Spec, keyed by layer name.
public struct VGG11Parameters: Sendable, Equatable {
    public let spec: VGG11Spec
    public var gemm: [String: GEMMParameters]
    public var batchNorm: [String: BatchNormParameters]

    public init(spec: VGG11Spec, gemm: [String: GEMMParameters], batchNorm: [String: BatchNormParameters]) {
        self.spec = spec
        self.gemm = gemm
        self.batchNorm = batchNorm
    }

    /// Seeded random initialisation: He-normal (fan-in) conv weights and
    /// N(0, 1/in) linear weights, zero biases, identity BN. Fan-in scaling keeps
    /// activations of order one through the ReLU stack, so untrained networks give
    /// well-spread logits for benchmarks and engine-equivalence tests.
    public static func random(spec: VGG11Spec, seed: UInt64) -> VGG11Parameters {
        var gemm: [String: GEMMParameters] = [:]
        for (i, layer) in spec.gemmLayers.enumerated() {
            var rng = SeededRNG.derived(seed: seed, UInt64(i))
            let k = layer.k, n = layer.n
            let std: Double
            switch layer {
            case .conv: std = (2.0 / Double(k)).squareRoot()
            case .linear: std = (1.0 / Double(k)).squareRoot()
            }
            let w = (0..<(k * n)).map { _ in Float(rng.nextGaussian() * std) }
            gemm[layer.name] = GEMMParameters(weight: w, bias: .init(repeating: 0, count: n), k: k, n: n)
        }
        var bn: [String: BatchNormParameters] = [:]
        for b in spec.batchNormLayers { bn[b.name] = .identity(channels: b.channels) }
        return VGG11Parameters(spec: spec, gemm: gemm, batchNorm: bn)
    }

    /// The PyTorch state_dict of these parameters: (name, shape, data) in the
    /// order PyTorch lists them, weights back in PyTorch's [N, ...] layout.
    public func stateDict() -> [(name: String, shape: [Int], data: [Float])] {
        var out: [(name: String, shape: [Int], data: [Float])] = []
        for layer in spec.layers {
            switch layer {
            case .conv(let c):
                let p = gemm[c.name]!
                out.append((c.name + ".weight", c.weightShape, GEMMWeights.toPyTorch(p.weight, k: p.k, n: p.n)))
                out.append((c.name + ".bias", [c.outChannels], p.bias))
            case .linear(let l):
                let p = gemm[l.name]!
                out.append((l.name + ".weight", l.weightShape, GEMMWeights.toPyTorch(p.weight, k: p.k, n: p.n)))
                out.append((l.name + ".bias", [l.outFeatures], p.bias))
            case .batchNorm(let b):
                let p = batchNorm[b.name]!
                out.append((b.name + ".weight", [b.channels], p.gamma))
                out.append((b.name + ".bias", [b.channels], p.beta))
                out.append((b.name + ".running_mean", [b.channels], p.runningMean))
                out.append((b.name + ".running_var", [b.channels], p.runningVar))
            default:
                break
            }
        }
        return out
    }
}

extension VGG11Parameters {
    /// Loads from named tensors in PyTorch's state_dict layout, checking every
    /// tensor's presence and shape against `spec`. `file` only labels errors.
    /// `lookup` returns a tensor's shape and data by state_dict name.
    public static func load(spec: VGG11Spec, file: String,
                            lookup: (String) -> (shape: [Int], data: [Float])?,
                            batchesTracked: (String) -> Int64? = { _ in nil }) throws -> VGG11Parameters {
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let t = lookup(name) else {
                throw FapsimError("\(file): \(name): missing tensor; expected shape \(fmt(shape)) for VGG11 width \(spec.width)")
            }
            guard t.shape == shape else {
                throw FapsimError("\(file): \(name): expected shape \(fmt(shape)) for VGG11 width \(spec.width), got \(fmt(t.shape))")
            }
            guard t.data.count == shape.reduce(1, *) else {
                throw FapsimError("\(file): \(name): shape \(fmt(shape)) needs \(shape.reduce(1, *)) values, got \(t.data.count)")
            }
            return t.data
        }
        var gemm: [String: GEMMParameters] = [:]
        for layer in spec.gemmLayers {
            let w = try tensor(layer.name + ".weight", layer.weightShape)
            let b = try tensor(layer.name + ".bias", [layer.n])
            gemm[layer.name] = GEMMParameters(weight: GEMMWeights.fromPyTorch(w, n: layer.n, k: layer.k), bias: b,
                                              k: layer.k, n: layer.n)
        }
        var bn: [String: BatchNormParameters] = [:]
        for b in spec.batchNormLayers {
            let c = [b.channels]
            let v = try tensor(b.name + ".running_var", c)
            if let bad = v.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
                throw FapsimError("\(file): \(b.name).running_var: expected finite non-negative variances, got \(v[bad]) at index \(bad)")
            }
            bn[b.name] = BatchNormParameters(gamma: try tensor(b.name + ".weight", c), beta: try tensor(b.name + ".bias", c),
                                             runningMean: try tensor(b.name + ".running_mean", c), runningVar: v,
                                             batchesTracked: batchesTracked(b.name + ".num_batches_tracked") ?? 0)
        }
        return VGG11Parameters(spec: spec, gemm: gemm, batchNorm: bn)
    }

    static func fmt(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}
