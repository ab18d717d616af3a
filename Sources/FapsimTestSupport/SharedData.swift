import Foundation
import Testing

/// The CIFAR-10 copy and the pre-trained VGG11 that live beside the repository
/// (../shared), and the one rule every test needing them follows: skip with the
/// reason when they are missing, unless FAPSIM_REQUIRE_DATA=1 (CI sets it), in
/// which case the test fails, so a CI machine without the data cannot pass by
/// skipping.
///
/// Locations, environment first:
/// - FAPSIM_SHARED: the shared folder (default ../shared next to the package root);
/// - FAPSIM_CIFAR_DIR: the CIFAR-10 binary folder (default SHARED/datasets/cifar-10-batches-bin),
///   the variable `fapsim` itself reads;
/// - FAPSIM_MODEL: the pre-trained model (default SHARED/models/vgg11_cifar10.h5).
public enum SharedData {
    /// What a test needs; each is one file whose presence stands for it.
    public enum Item: Sendable, CaseIterable {
        /// CIFAR-10's test_batch.bin.
        case cifarTestBatch
        /// CIFAR-10's data_batch_1.bin ... data_batch_5.bin.
        case cifarTrainingBatches
        /// The pre-trained VGG11 in the PyTorch state_dict layout.
        case pretrainedModel
    }

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static func setting(_ name: String) -> String? {
        guard let v = environment[name], !v.isEmpty else { return nil }
        return v
    }

    public static var directory: String {
        setting("FAPSIM_SHARED")
            ?? URL(fileURLWithPath: TestPaths.packageRoot).deletingLastPathComponent().appendingPathComponent("shared").path
    }

    public static var cifarDirectory: String {
        setting("FAPSIM_CIFAR_DIR") ?? directory + "/datasets/cifar-10-batches-bin"
    }

    public static var modelPath: String {
        setting("FAPSIM_MODEL") ?? directory + "/models/vgg11_cifar10.h5"
    }

    /// True when FAPSIM_REQUIRE_DATA=1: missing data fails the tests that need it.
    public static var required: Bool { environment["FAPSIM_REQUIRE_DATA"] == "1" }

    /// The files that stand for `item`.
    public static func files(_ item: Item) -> [String] {
        switch item {
        case .cifarTestBatch: return [cifarDirectory + "/test_batch.bin"]
        case .cifarTrainingBatches: return (1...5).map { cifarDirectory + "/data_batch_\($0).bin" }
        case .pretrainedModel: return [modelPath]
        }
    }

    /// The files of `items` that are not there.
    public static func missing(_ items: [Item]) -> [String] {
        items.flatMap(files).filter { !FileManager.default.fileExists(atPath: $0) }
    }

    public static func available(_ items: Item...) -> Bool { missing(items).isEmpty }

    /// Why a test needing `items` does not run here.
    static func reason(_ items: [Item]) -> String {
        let names = items.map { item -> String in
            switch item {
            case .cifarTestBatch: return "the CIFAR-10 test batch (\(cifarDirectory), FAPSIM_CIFAR_DIR)"
            case .cifarTrainingBatches: return "the CIFAR-10 training batches (\(cifarDirectory), FAPSIM_CIFAR_DIR)"
            case .pretrainedModel: return "the pre-trained model (\(modelPath), FAPSIM_MODEL)"
            }
        }
        return "needs " + names.joined(separator: " and ") + "; FAPSIM_SHARED moves ../shared"
    }

    /// The error that fails a data-gated test when FAPSIM_REQUIRE_DATA=1 and data is missing.
    public struct Missing: Error, CustomStringConvertible {
        public let files: [String]
        public let reason: String
        public var description: String {
            let more = files.count > 1 ? " and \(files.count - 1) more" : ""
            return "FAPSIM_REQUIRE_DATA=1 but \(files[0])\(more) is missing: this test \(reason)"
        }
    }

    /// Whether a test needing `items` runs: true when they are all there; false
    /// (a skip) when some are missing; throws `Missing` (a failure) when some are
    /// missing and FAPSIM_REQUIRE_DATA=1.
    public static func check(_ items: [Item]) throws -> Bool {
        let gone = missing(items)
        if gone.isEmpty { return true }
        if required { throw Missing(files: gone, reason: reason(items)) }
        return false
    }
}

extension Trait where Self == ConditionTrait {
    /// `@Test(.requiresSharedData(.pretrainedModel))` or the same on a `@Suite`:
    /// skips with the reason when the data is missing, fails instead when
    /// FAPSIM_REQUIRE_DATA=1 (a condition that throws records an issue and the
    /// test does not run).
    public static func requiresSharedData(_ items: SharedData.Item..., sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        .enabled(Comment(rawValue: SharedData.reason(items)), sourceLocation: sourceLocation) {
            try SharedData.check(items)
        }
    }
}
