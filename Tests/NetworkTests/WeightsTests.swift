import Foundation
import Testing
import FapsimStore
@testable import Network

@Suite struct WeightsTests {
    func file(width: Double, claimedWidth: Double? = nil, architecture: String = "vgg11",
              drop: String? = nil) throws -> WeightsFile {
        let params = VGG11Parameters.random(spec: try VGG11Spec(width: width), seed: 3)
        let tensors = params.stateDict().filter { $0.name != drop }.map { NamedTensor(name: $0.name, shape: $0.shape, data: $0.data) }
        return WeightsFile(architecture: architecture, width: claimedWidth ?? width, tensors: tensors)
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return ""
    }

    @Test func stateDictRoundTripsThroughAWeightsFile() throws {
        let params = VGG11Parameters.random(spec: try VGG11Spec(width: 0.25), seed: 3)
        let loaded = try VGG11Parameters.load(try file(width: 0.25), path: "w.h5")
        #expect(loaded == params)
        // PyTorch layout on the way in: W[k][n] = weight[n][k].
        let pt = params.stateDict().first { $0.name == "features.4.weight" }!
        let g = loaded.gemm["features.4"]!
        #expect(g.weight[5 * g.n + 7] == pt.data[7 * g.k + 5])
    }

    @Test func weightsOfAnotherWidthAreRefused() throws {
        let msg = message { _ = try VGG11Parameters.load(try file(width: 0.25), path: "w.h5", width: 0.5) }
        #expect(msg == "w.h5: width: weights are for VGG11 width 0.25, expected width 0.5", "\(msg)")
        // A file claiming width 0.5 whose tensors are for 0.25: the first tensor is named with its expected shape.
        let lying = message { _ = try VGG11Parameters.load(try file(width: 0.25, claimedWidth: 0.5), path: "w.h5") }
        #expect(lying == "w.h5: features.0.weight: expected shape [32, 3, 3, 3] for VGG11 width 0.5, got [16, 3, 3, 3]", "\(lying)")
    }

    @Test func missingTensorAndOtherArchitectureAreRefused() throws {
        let missing = message { _ = try VGG11Parameters.load(try file(width: 0.25, drop: "features.12.running_var"), path: "w.h5") }
        #expect(missing.hasPrefix("w.h5: features.12.running_var: missing tensor; expected shape [64]"), "\(missing)")
        let arch = message { _ = try VGG11Parameters.load(try file(width: 0.25, architecture: "resnet18"), path: "w.h5") }
        #expect(arch == "w.h5: architecture: expected vgg11, got resnet18", "\(arch)")
    }

    @Test(.requiresSharedData(.pretrainedModel))
    func pyTorchFileLoadsAndRefusesAnotherWidth() throws {
        let params = try VGG11Parameters.load(path: TestData.modelPath)
        #expect(params.spec.width == 1.0)
        #expect(params.batchNorm["features.1"]!.batchesTracked > 0)
        let msg = message { _ = try VGG11Parameters.load(path: TestData.modelPath, width: 0.5) }
        #expect(msg.contains(TestData.modelPath) && msg.contains("width 1.0") && msg.contains("expected width 0.5"), "\(msg)")
    }
}
