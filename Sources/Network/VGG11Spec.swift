import FapsimSupport

/// The network description both engines execute (docs/conventions.md §3): VGG11 with
/// BatchNorm for 32x32 CIFAR-10 images, scaled by a width multiplier.
///
/// Layer names are the PyTorch `state_dict` prefixes of `torchvision`-style
/// `features`/`classifier` modules, so a PyTorch checkpoint maps onto the
/// layers by name and nothing else (ReLU and pooling keep their module index
/// as name so per-layer traces line up with PyTorch's printout).
public struct VGG11Spec: Sendable, Equatable {
    /// The architecture name fapsim records in weights files (FapsimStore's
    /// convention: the network family; the width is a separate field).
    public static let architecture = "vgg11"

    /// The paper's VGG11 feature configuration: channel counts, "M" = max-pool.
    public static let baseConfig: [Int?] = [64, nil, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil]

    public let width: Double
    public let inputChannels: Int
    public let inputSize: Int
    public let classes: Int
    public let layers: [LayerSpec]

    public init(width: Double = 1.0, inputChannels: Int = 3, inputSize: Int = 32, classes: Int = 10) throws {
        guard width.isFinite, width > 0, width <= 16 else {
            throw FapsimError("width: expected a positive multiplier (1.0 = the paper's VGG11), got \(width)")
        }
        self.width = width
        self.inputChannels = inputChannels
        self.inputSize = inputSize
        self.classes = classes
        var layers: [LayerSpec] = []
        var index = 0
        var channels = inputChannels
        var size = inputSize
        for entry in Self.baseConfig {
            if let base = entry {
                let out = Self.scaled(base, width)
                layers.append(.conv(ConvSpec(name: "features.\(index)", inChannels: channels, outChannels: out,
                                             height: size, width: size)))
                layers.append(.batchNorm(BatchNormSpec(name: "features.\(index + 1)", channels: out)))
                layers.append(.relu(name: "features.\(index + 2)"))
                index += 3
                channels = out
            } else {
                guard size % 2 == 0 else {
                    throw FapsimError("input size \(inputSize): expected a multiple of 32 so every 2x2 max-pool divides evenly")
                }
                layers.append(.maxPool(name: "features.\(index)", channels: channels, height: size, width: size))
                index += 1
                size /= 2
            }
        }
        layers.append(.flatten(channels: channels, height: size, width: size))
        layers.append(.linear(LinearSpec(name: "classifier", inFeatures: channels * size * size, outFeatures: classes)))
        self.layers = layers
    }

    /// Channel count of a base layer at this width: round to nearest, at least 1.
    public static func scaled(_ base: Int, _ width: Double) -> Int {
        max(1, Int((Double(base) * width).rounded()))
    }

    /// The layers that run as GEMMs (on the array, with the array engine), in order.
    public var gemmLayers: [GEMMLayer] {
        layers.compactMap { layer in
            switch layer {
            case .conv(let c): return .conv(c)
            case .linear(let l): return .linear(l)
            default: return nil
            }
        }
    }

    public var batchNormLayers: [BatchNormSpec] {
        layers.compactMap { if case .batchNorm(let b) = $0 { return b } else { return nil } }
    }

    /// Multiply-accumulates of one image through all GEMM layers.
    public var macsPerImage: Int {
        gemmLayers.reduce(0) { $0 + $1.shape(batch: 1).macs }
    }
}

/// One step of the network. BN, ReLU, pooling and flatten run outside the array.
public enum LayerSpec: Sendable, Equatable {
    case conv(ConvSpec)
    case batchNorm(BatchNormSpec)
    case relu(name: String)
    case maxPool(name: String, channels: Int, height: Int, width: Int)
    case flatten(channels: Int, height: Int, width: Int)
    case linear(LinearSpec)

    public var name: String {
        switch self {
        case .conv(let c): return c.name
        case .batchNorm(let b): return b.name
        case .relu(let n): return n
        case .maxPool(let n, _, _, _): return n
        case .flatten: return "flatten"
        case .linear(let l): return l.name
        }
    }
}

/// A 3x3, stride-1, padding-1 convolution with bias on an H x W input.
public struct ConvSpec: Sendable, Equatable {
    public let name: String
    public let inChannels: Int
    public let outChannels: Int
    public let height: Int
    public let width: Int
    public let kernel = 3
    public let padding = 1

    public init(name: String, inChannels: Int, outChannels: Int, height: Int, width: Int) {
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.height = height
        self.width = width
    }

    /// GEMM reduction length K = Cin * KH * KW (k = (c * KH + kh) * KW + kw, docs/conventions.md §2).
    public var k: Int { inChannels * kernel * kernel }
    /// PyTorch's weight shape [Cout, Cin, KH, KW].
    public var weightShape: [Int] { [outChannels, inChannels, kernel, kernel] }
}

/// BatchNorm2d in inference mode (running statistics).
public struct BatchNormSpec: Sendable, Equatable {
    public let name: String
    public let channels: Int
    public init(name: String, channels: Int) {
        self.name = name
        self.channels = channels
    }
}

/// A fully connected layer (out, in) with bias.
public struct LinearSpec: Sendable, Equatable {
    public let name: String
    public let inFeatures: Int
    public let outFeatures: Int
    public init(name: String, inFeatures: Int, outFeatures: Int) {
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }
    public var weightShape: [Int] { [outFeatures, inFeatures] }
}

/// A layer that runs as Out[M x N] = A[M x K] x W[K x N].
public enum GEMMLayer: Sendable, Equatable {
    case conv(ConvSpec)
    case linear(LinearSpec)

    public var name: String {
        switch self {
        case .conv(let c): return c.name
        case .linear(let l): return l.name
        }
    }

    /// K and N of the weight matrix.
    public var k: Int {
        switch self {
        case .conv(let c): return c.k
        case .linear(let l): return l.inFeatures
        }
    }

    public var n: Int {
        switch self {
        case .conv(let c): return c.outChannels
        case .linear(let l): return l.outFeatures
        }
    }

    /// PyTorch's shape of this layer's weight tensor.
    public var weightShape: [Int] {
        switch self {
        case .conv(let c): return c.weightShape
        case .linear(let l): return l.weightShape
        }
    }

    /// The GEMM for a batch: M = output pixels x batch for a conv (stride 1,
    /// padding 1 keeps H x W), M = batch for the linear layer.
    public func shape(batch: Int) -> GEMMShape {
        switch self {
        case .conv(let c): return GEMMShape(m: c.height * c.width * batch, k: c.k, n: c.outChannels)
        case .linear(let l): return GEMMShape(m: batch, k: l.inFeatures, n: l.outFeatures)
        }
    }
}

public struct GEMMShape: Sendable, Equatable {
    public let m: Int
    public let k: Int
    public let n: Int
    public init(m: Int, k: Int, n: Int) {
        self.m = m
        self.k = k
        self.n = n
    }
    public var macs: Int { m * k * n }
}
