import Foundation
import Testing
import FapsimSupport
import SystolicArray
@testable import Network

/// Evaluation workers (`Evaluator.evaluate(networks:)`, and its array form over
/// several `ArrayEngine`s) and the Winograd inference option: workers change
/// who computes a batch, never its bits; Winograd changes the roundings only.
/// Synthetic images, so no shared data is needed.
@Suite struct ParallelEvaluationTests {
    /// `count` random 32x32 RGB images with labels, seeded.
    static func synthetic(_ count: Int, seed: UInt64) -> CIFAR10Set {
        var rng = SeededRNG(seed: seed)
        let pixels = (0..<(count * CIFAR10Set.imageBytes)).map { _ in UInt8(rng.nextInt(below: 256)) }
        let labels = (0..<count).map { _ in UInt8(rng.nextInt(below: 10)) }
        return CIFAR10Set(pixels: pixels, labels: labels, classNames: (0..<10).map { "class\($0)" })
    }

    /// Batches spread over 1, 2 and 3 array workers: the same predictions and the
    /// same per-GEMM cycle records, in batch order, as one engine alone (7 images
    /// in batches of 2: the last batch is short, and 3 workers get uneven shares).
    @Test(arguments: [2, 3])
    func arrayWorkersAreBitIdenticalToOne(_ workers: Int) throws {
        let params = VGG11Parameters.random(spec: try VGG11Spec(width: 0.25), seed: 5)
        let config = HardwareConfig(name: "t8x8", rows: 8, cols: 8)
        let faults = try FaultMap.uniform(rows: 8, cols: 8, rate: 0.2, seed: 3)
        let data = Self.synthetic(7, seed: 9)
        let alone = try ArrayEngine(config: config, faults: faults, threads: 1)
        let (one, oneRuns) = try Evaluator.evaluate(parameters: params, engines: [alone], data: data, batch: 2)
        let first = try ArrayEngine(config: config, faults: faults, threads: 1)
        let engines = try [first] + (1..<workers).map { _ in try first.copy() }
        let (many, manyRuns) = try Evaluator.evaluate(parameters: params, engines: engines, data: data, batch: 2)
        #expect(many.predictions == one.predictions)
        #expect(many.correct == one.correct && many.perClassCorrect == one.perClassCorrect)
        #expect(manyRuns == oneRuns)
        // 4 batches x 9 GEMM layers, the last batch with M of one image.
        #expect(oneRuns.count == 4 * 9)
        #expect(oneRuns.last?.m == 1 && oneRuns.first?.m == 2 * 32 * 32)
        // Each engine handed over its records; none is left behind.
        #expect(engines.allSatisfy { $0.runs.isEmpty })
    }

    /// The same on the functional engine: networks sharing nothing, batches
    /// interleaved, identical predictions to one network.
    @Test func functionalWorkersMatchOneNetwork() throws {
        let params = VGG11Parameters.random(spec: try VGG11Spec(width: 0.25), seed: 6)
        let faults = try FaultMap.uniform(rows: 16, cols: 16, rate: 0.1, seed: 4)
        let data = Self.synthetic(9, seed: 10)
        func network() -> VGG11Network { VGG11Network(parameters: params, engine: FunctionalEngine(faults: faults)) }
        let one = try Evaluator.evaluate(network: network(), data: data, batch: 2)
        let three = try Evaluator.evaluate(networks: [network(), network(), network()], data: data, batch: 2)
        #expect(three.predictions == one.predictions)
        #expect(three.images == 9 && one.images == 9)
    }

    /// Winograd inference computes the network of the FAP-masked weights: logits
    /// within a relative bound of the im2col reference's (F(2x2, 3x3) only
    /// reorders the sums and adds the transforms' roundings; WinogradTests bounds
    /// one layer) and the same predictions where the reference's top two logits
    /// are not within that bound of each other.
    @Test(arguments: [0.0, 0.2])
    func winogradInferenceMatchesIm2col(_ rate: Double) throws {
        let params = VGG11Parameters.random(spec: try VGG11Spec(width: 0.25), seed: 7)
        let faults = rate == 0 ? nil : try FaultMap.uniform(rows: 16, cols: 16, rate: rate, seed: 5)
        let data = Self.synthetic(6, seed: 11)
        let images = data.normalized(0..<6)
        let reference = try VGG11Network(parameters: params, engine: FunctionalEngine(faults: faults)).forward(images: images, batch: 6)
        let winograd = try VGG11Network(parameters: params, engine: FunctionalEngine(faults: faults), convolution: .winograd)
            .forward(images: images, batch: 6)
        let scale = reference.map(abs).max()!
        #expect(scale > 0)
        let worst = zip(reference, winograd).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-3 * scale, "max |Δlogit| \(worst) of scale \(scale)")
        // Winograd really ran: the roundings differ somewhere.
        #expect(reference != winograd)
        for b in 0..<6 {
            let r = Array(reference[(b * 10)..<(b * 10 + 10)]), w = Array(winograd[(b * 10)..<(b * 10 + 10)])
            let sorted = r.sorted(by: >)
            if sorted[0] - sorted[1] > 2e-3 * scale {
                #expect(r.firstIndex(of: sorted[0]) == w.firstIndex(of: w.max()!), "image \(b)")
            }
        }
    }
}
