import Foundation
import Testing
import FapsimStore
@testable import Network

@Suite struct PretrainedAccuracyTests {
    /// docs/conventions.md §4: fault-free functional accuracy on all 10,000 test images
    /// equals the `test_accuracy` the model file records (PyTorch's figure) to
    /// within 0.1 point; the two differ only by float summation order.
    @Test(.requiresSharedData(.pretrainedModel, .cifarTestBatch))
    func fullTestSetAccuracyMatchesRecordedFigure() throws {
        let file = try WeightsFile.read(path: TestData.modelPath)
        let recorded = try #require(file.provenance.testAccuracy, "model file has no test_accuracy attribute")
        let params = try VGG11Parameters.load(file, path: TestData.modelPath)
        let test = try TestData.testSet()
        #expect(test.count == 10_000)
        let network = VGG11Network(parameters: params, engine: FunctionalEngine())
        let result = try Evaluator.evaluate(network: network, data: test, batch: 200)
        #expect(result.images == 10_000)
        #expect(abs(result.accuracy - recorded) <= 0.001, "accuracy \(result.accuracy), file records \(recorded)")
        #expect(result.perClassTotal == [Int](repeating: 1000, count: 10))
    }
}
