import Foundation
import Testing
@testable import Network

@Suite struct CIFARTests {
    static let names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    /// A directory with batches.meta.txt and a test batch of `records` records
    /// (label i % 10, pixel bytes from the record index), optionally damaged.
    func makeDirectory(records: Int = 20, truncateBy: Int = 0, badLabelAt: Int? = nil,
                       withTestBatch: Bool = true) throws -> String {
        let dir = try TestData.temporaryDirectory()
        try (Self.names.joined(separator: "\n") + "\n").write(toFile: dir + "/batches.meta.txt", atomically: true, encoding: .utf8)
        if withTestBatch {
            var bytes = [UInt8](repeating: 0, count: records * CIFAR10Set.recordBytes)
            for r in 0..<records {
                bytes[r * CIFAR10Set.recordBytes] = UInt8(r % 10)
                for p in 1..<CIFAR10Set.recordBytes { bytes[r * CIFAR10Set.recordBytes + p] = UInt8((r + p) % 256) }
            }
            if let bad = badLabelAt { bytes[bad * CIFAR10Set.recordBytes] = 10 }
            bytes.removeLast(truncateBy)
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/test_batch.bin"))
        }
        return dir
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return ""
    }

    @Test func loadsRecordsLabelsAndClassNames() throws {
        let dir = try makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let set = try CIFAR10Set.load(directory: dir, split: .test, limit: 15, recordsPerFile: 20)
        #expect(set.count == 15)
        #expect(set.labels[13] == 3)
        #expect(set.classNames == Self.names)
        #expect(set.pixels[3 * 3072 + 0] == UInt8((3 + 1) % 256))
    }

    @Test func missingFileIsNamed() throws {
        let dir = try makeDirectory(withTestBatch: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let msg = message { _ = try CIFAR10Set.load(directory: dir, split: .test) }
        #expect(msg.contains("test_batch.bin") && msg.contains("missing"), "\(msg)")
        let noDir = message { _ = try CIFAR10Set.load(directory: dir + "/nope", split: .test) }
        #expect(noDir.contains("nope") && noDir.contains("--data"), "\(noDir)")
    }

    @Test func truncatedFileIsRefused() throws {
        let dir = try makeDirectory(records: 20, truncateBy: 100)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let msg = message { _ = try CIFAR10Set.load(directory: dir, split: .test, recordsPerFile: 20) }
        #expect(msg.contains("test_batch.bin") && msg.contains("truncated"), "\(msg)")
        // A whole number of records, but fewer than a CIFAR-10 batch holds.
        let short = message { _ = try CIFAR10Set.load(directory: dir, split: .test) }
        #expect(short.contains("expected 30730000 bytes"), "\(short)")
    }

    @Test func badLabelIsRefusedWithItsRecord() throws {
        let dir = try makeDirectory(records: 20, badLabelAt: 7)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let msg = message { _ = try CIFAR10Set.load(directory: dir, split: .test, recordsPerFile: 20) }
        #expect(msg.contains("test_batch.bin") && msg.contains("record 7") && msg.contains("label 10"), "\(msg)")
    }

    @Test func normalizationFollowsSpec() {
        let set = CIFAR10Set(pixels: (0..<3072).map { UInt8($0 % 256) }, labels: [0], classNames: Self.names)
        let x = set.normalized(0..<1)
        // pixel 0 of R is 0, pixel 1024 (first of G) is 0, pixel 2048 + 255 (B) is 255.
        #expect(abs(x[0] - (0 - 0.4914) / 0.2470) < 1e-6)
        #expect(abs(x[1024] - (0 - 0.4822) / 0.2435) < 1e-6)
        #expect(abs(x[2048 + 255] - (1 - 0.4465) / 0.2616) < 1e-6)
        #expect(abs(x[100] - (100.0 / 255 - 0.4914) / 0.2470) < 1e-6)
    }
}
