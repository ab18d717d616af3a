import Foundation
import Testing
import FapsimSupport
@testable import Network

/// The held-out validation split: the last N training images, checked against
/// the training subset.
@Suite struct HeldOutSplitsTests {
    func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as FapsimError { return e.message } catch { return "\(error)" }
    }

    @Test func validationIsTheEndOfTheTrainingSplit() throws {
        let s = try HeldOutSplits(trainSubset: nil, validation: 5000, testSubset: nil)
        #expect(s.validationRange == 45_000..<50_000)
        #expect(s.trainImages == 45_000)
        #expect(s.curveSplit == "validation")
        #expect(s.identity == ["validation": "5000", "validation_first": "45000", "curve_split": "validation"])
        let t = try HeldOutSplits(trainSubset: 1000, validation: 49_000, testSubset: 10)
        #expect(t.trainImages == 1000 && t.validationRange == 1000..<50_000)
        // No split: today's behaviour and identity.
        let none = try HeldOutSplits(trainSubset: 300, validation: nil, testSubset: nil)
        #expect(none.validationRange == nil && none.identity.isEmpty && none.curveSplit == "test" && none.trainImages == 300)
    }

    @Test func badSplitsNameTheFlag() {
        #expect(message { _ = try HeldOutSplits(trainSubset: nil, validation: 50_000, testSubset: nil) }
            == "--validation: expected fewer than the 50000 training images (some must be left to train on), got 50000")
        #expect(message { _ = try HeldOutSplits(trainSubset: nil, validation: -1, testSubset: nil) }
            == "--validation: expected a positive number of held-out training images, got -1")
        #expect(message { _ = try HeldOutSplits(trainSubset: 45_001, validation: 5000, testSubset: nil) }
            == "--validation: the last 5000 training images (from index 45000) overlap --train-subset 45001 (the first 45001); expected --train-subset + --validation <= 50000")
        #expect(message { _ = try HeldOutSplits(trainSubset: 45_000, validation: 5000, testSubset: nil) } == nil)
        #expect(message { _ = try HeldOutSplits(trainSubset: 0, validation: nil, testSubset: nil) }
            == "--train-subset: expected a positive number of training images, got 0")
    }

    @Test(.requiresSharedData(.cifarTrainingBatches))
    func rangeLoadEqualsTheSameImagesOfAFullLoad() throws {
        let dir = SharedData.cifarDirectory
        // Across the boundary of batch files 1 and 2, and the validation tail.
        let all = try CIFAR10Set.load(directory: dir, split: .train, limit: 20_010)
        let mid = try CIFAR10Set.load(directory: dir, split: .train, range: 19_990..<20_010)
        #expect(mid.labels == Array(all.labels[19_990..<20_010]))
        #expect(mid.pixels == Array(all.pixels[(19_990 * 3072)..<(20_010 * 3072)]))
        let tail = try #require(try HeldOutSplits(trainSubset: 100, validation: 7, testSubset: nil).loadValidation(directory: dir))
        #expect(tail.count == 7)
        let last = try CIFAR10Set.load(directory: dir, split: .train, range: 49_993..<50_000)
        #expect(tail.labels == last.labels && tail.pixels == last.pixels)
    }
}
