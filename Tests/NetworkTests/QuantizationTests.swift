import Foundation
import Testing
import FapsimSupport
import FapsimStore
import SystolicArray
@testable import Network

/// Post-training int8 quantization and the quantized network on its two int8
/// engines: the fast functional path and the register-level array.
@Suite struct QuantizationTests {
    /// Synthetic CIFAR-shaped images (random pixels), enough to calibrate and run
    /// a small network without the shared data.
    static func syntheticSet(_ count: Int, seed: UInt64) -> CIFAR10Set {
        var rng = SeededRNG(seed: seed)
        let pixels = (0..<(count * CIFAR10Set.imageBytes)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let labels = (0..<count).map { _ in UInt8(rng.nextInt(below: 10)) }
        return CIFAR10Set(pixels: pixels, labels: labels, classNames: (0..<10).map { "class\($0)" })
    }

    static func logits(_ model: QuantizedVGG11, _ engine: any Int8GEMMEngine, _ data: CIFAR10Set, images: Int) throws -> [Float] {
        let network = QuantizedNetwork(model: model, engine: engine)
        var input = [Float](repeating: 0, count: images * CIFAR10Set.imageBytes)
        input.withUnsafeMutableBufferPointer { data.normalize(0..<images, into: $0.baseAddress!) }
        var out = [Float](repeating: 0, count: images * model.spec.classes)
        try input.withUnsafeBufferPointer { i in
            try out.withUnsafeMutableBufferPointer { o in try network.forward(images: i.baseAddress!, batch: images, logits: o.baseAddress!) }
        }
        return out
    }

    /// The functional int8 path equals the register-level int8 array bit for bit,
    /// fault-free, under FAP, and with unmitigated stuck-at faults (which must
    /// change the logits, or the comparison proves nothing about them).
    @Test(arguments: [("fault-free", 0.0, false), ("fap", 0.1, false), ("stuck-at", 0.02, true), ("stuck-at high", 0.05, true)])
    func functionalInt8EqualsTheRegisterLevelArray(label: String, rate: Double, stuck: Bool) throws {
        let spec = try VGG11Spec(width: 0.125)
        let params = VGG11Parameters.random(spec: spec, seed: 5)
        let data = Self.syntheticSet(6, seed: 9)
        let model = try Int8Quantizer.quantize(parameters: params, calibration: data, images: 6)
        let config = HardwareConfig(rows: 16, cols: 16, datapath: .int8)
        let faults = try FaultMap.uniform(rows: 16, cols: 16, rate: rate, seed: 3)
        var chip = ChipDescription(faults: rate > 0 ? faults : nil)
        var faultsStuck: [StuckAtFault] = []
        if stuck {
            faultsStuck = (label.hasSuffix("high") ? StuckBitDistribution.high : .uniform).draw(faults: faults, seed: 4)
            chip = .faultFree
        }
        let fast = try Self.logits(model, try Int8FunctionalEngine(config: config, chip: chip, stuckAt: faultsStuck), data, images: 2)
        let array = try Self.logits(model, try Int8ArrayEngine(config: config, chip: chip, stuckAt: faultsStuck), data, images: 2)
        #expect(fast == array, "\(label)")
        if stuck {
            let clean = try Self.logits(model, try Int8FunctionalEngine(config: config), data, images: 2)
            #expect(clean != fast, "the stuck-at faults should change the logits")
        }
    }

    /// The quantizer's rules on one layer: per-channel scales from the folded
    /// weights' max, weights rounded and clamped, BN folded.
    @Test func weightsArePerChannelSymmetricWithBNFolded() throws {
        let spec = try VGG11Spec(width: 0.125)
        let params = VGG11Parameters.random(spec: spec, seed: 11)
        let model = try Int8Quantizer.quantize(parameters: params, calibration: Self.syntheticSet(3, seed: 1), images: 3)
        let l = model.layers[0]
        let p = params.gemm[l.name]!
        let affine = BatchNorm.inferenceAffine(params.batchNorm["features.1"]!, precedingBias: p.bias)
        for j in 0..<l.n {
            let folded = (0..<l.k).map { p.weight[$0 * l.n + j] * affine.scale[j] }
            let m = folded.map(abs).max()!
            #expect(abs(l.weightScales[j] - m / 127) <= 1e-6 * m)
            // The largest weight of every channel sits at +-127.
            #expect((0..<l.k).map { abs(Int(l.weights[$0 * l.n + j])) }.max() == 127)
            for kk in 0..<l.k {
                #expect(abs(Float(l.weights[kk * l.n + j]) * l.weightScales[j] - folded[kk]) <= l.weightScales[j] / 2 * 1.0001)
            }
        }
        #expect(throws: FapsimError.self) {
            try Int8Quantizer.quantize(parameters: params, calibration: Self.syntheticSet(3, seed: 1), images: 0)
        }
    }

    /// A write and read of the `fapsim.quantized` kind gives the same network, and
    /// the float weights reader refuses it by kind.
    @Test func quantizedFileRoundTripsAndIsRefusedAsFloatWeights() throws {
        let spec = try VGG11Spec(width: 0.125)
        let model = try Int8Quantizer.quantize(parameters: VGG11Parameters.random(spec: spec, seed: 2),
                                               calibration: Self.syntheticSet(2, seed: 2), images: 2)
        let dir = try TemporaryDirectory()
        let path = dir.file("q.h5")
        try model.file.write(path: path, force: false)
        #expect(try QuantizedVGG11.load(path: path) == model)
        let report = try FapsimInspect.inspect(path: path)
        #expect(report.kind == "quantized" && report.lines.count >= 1 + model.layers.count)
        #expect(throws: FapsimError.self) { try model.file.write(path: path, force: false) }
        let message = errorMessage { _ = try WeightsFile.read(path: path) } ?? ""
        #expect(message.contains("fapsim.quantized") && message.contains("--quantized"), "\(message)")
        #expect(!message.contains("\n"))
        let floatPath = dir.file("w.h5")
        try VGG11Parameters.random(spec: spec, seed: 2).weightsFile().write(path: floatPath, force: false)
        let other = errorMessage { _ = try QuantizedVGG11.load(path: floatPath) } ?? ""
        #expect(other.contains("fapsim.weights") && other.contains("expected int8 quantized weights"), "\(other)")
    }

    /// On the pre-trained VGG11: the int8 network loses at most a point on 500
    /// test images, and a sample through the register-level 256x256 array with
    /// unmitigated stuck-at faults equals the functional int8 path bit for bit.
    @Test(.requiresSharedData(.pretrainedModel, .cifarTestBatch, .cifarTrainingBatches))
    func pretrainedModelQuantizesWithinAPointAndTheArrayAgrees() throws {
        let params = try VGG11Parameters.load(path: TestData.modelPath)
        let train = try CIFAR10Set.load(directory: TestData.cifarDirectory, split: .train, limit: 1000)
        let model = try Int8Quantizer.quantize(parameters: params, calibration: train, images: 1000)
        let test = try TestData.testSet()
        let config = HardwareConfig(rows: 256, cols: 256, datapath: .int8)
        let float = try Evaluator.evaluate(network: VGG11Network(parameters: params, engine: FunctionalEngine()), data: test, limit: 500)
        let int8 = try Evaluator.evaluate(network: QuantizedNetwork(model: model, engine: try Int8FunctionalEngine(config: config)),
                                          data: test, limit: 500)
        #expect(abs(float.accuracy - int8.accuracy) <= 0.01, "float \(float.accuracy), int8 \(int8.accuracy)")
        let faults = try FaultMap.uniform(rows: 256, cols: 256, rate: 0.0001, seed: 1)
        let stuck = StuckBitDistribution.uniform.draw(faults: faults, seed: 1)
        let fast = try Self.logits(model, try Int8FunctionalEngine(config: config, stuckAt: stuck), test, images: 1)
        let array = try Self.logits(model, try Int8ArrayEngine(config: config, stuckAt: stuck), test, images: 1)
        #expect(fast == array)
    }
}
