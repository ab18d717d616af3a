import Foundation
import Testing
import HDF5Kit
import FapsimSupport
@testable import FapsimStore

/// The training file kinds the store owns: checkpoints and the `train` /
/// `fat` results. Each round-trips, reads files laid out as earlier versions
/// wrote them, and refuses broken structure with a one-line error.
@Suite struct TrainingKindsTests {
    static let history = TrainingHistory(epoch: [0, 1, 2], trainLoss: [.nan, 2.1, 1.7], trainAccuracy: [.nan, 0.2, 0.35],
                                         testAccuracy: [0.1, 0.25, 0.4], learningRate: [.nan, 0.01, 0.01], seconds: [0.5, 3, 3.1])

    static func checkpoint() -> CheckpointFile {
        let w = sampleWeights()
        return CheckpointFile(identity: ["command": "fat", "lr": "0.01", "momentum": "0.9"], width: 0.0625, stepsTaken: 14,
                              tensors: w.tensors, batchesTracked: w.batchesTracked,
                              momentum: [(name: w.tensors[0].name, values: w.tensors[0].data.map { -$0 })], history: history)
    }

    /// NaN != NaN: compare the columns bit for bit.
    static func sameBits(_ a: TrainingHistory, _ b: TrainingHistory) -> Bool {
        func bits(_ x: [Double]) -> [UInt64] { x.map(\.bitPattern) }
        return a.epoch == b.epoch && bits(a.trainLoss) == bits(b.trainLoss) && bits(a.trainAccuracy) == bits(b.trainAccuracy)
            && bits(a.testAccuracy) == bits(b.testAccuracy) && bits(a.learningRate) == bits(b.learningRate)
            && bits(a.seconds) == bits(b.seconds)
    }

    @Test func checkpointRoundTrips() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-ckpt")
        let c = Self.checkpoint()
        try c.write(path: dir.file("c.h5"))
        let back = try CheckpointFile.read(path: dir.file("c.h5"))
        #expect(back.identity == c.identity && back.width == c.width && back.stepsTaken == 14 && back.epochsDone == 2)
        #expect(back.tensors == c.tensors && back.batchesTracked == c.batchesTracked)
        #expect(back.momentum.map(\.name) == c.momentum.map(\.name) && back.momentum.map(\.values) == c.momentum.map(\.values))
        #expect(Self.sameBits(back.history, c.history))
        // Written again over itself (every epoch does), atomically.
        try c.write(path: dir.file("c.h5"))
        #expect(try CheckpointFile.read(path: dir.file("c.h5")).stepsTaken == 14)
    }

    /// A checkpoint laid out by hand exactly as fapsim wrote them before the
    /// store owned the kind (Network wrote HDF5 itself) still reads.
    @Test func checkpointOfTheEarlierWriterReads() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-ckpt")
        let path = dir.file("old.h5"), c = Self.checkpoint()
        let file = try H5File.create(path, overwrite: false)
        try Schema.stamp(file, as: .checkpoint)
        for (k, v) in c.identity { try file.setAttribute("run_" + k, v) }
        try file.setAttribute("steps_taken", Int64(14))
        try file.setAttribute("epochs_done", Int64(2))
        try file.setAttribute("width", 0.0625)
        try WeightsFile(architecture: "vgg11", width: 0.0625, tensors: c.tensors, batchesTracked: c.batchesTracked)
            .writeStateDict(into: try file.createGroup("tensors"))
        let mom = try file.createGroup("momentum")
        try mom.write(c.momentum[0].name, c.momentum[0].values)
        let h = try file.createGroup("history")
        try h.write("epoch", Self.history.epoch)
        for (name, v) in [("train_loss", Self.history.trainLoss), ("train_accuracy", Self.history.trainAccuracy),
                          ("test_accuracy", Self.history.testAccuracy), ("learning_rate", Self.history.learningRate),
                          ("seconds", Self.history.seconds)] {
            try h.write(name, v)
        }
        try file.close()
        let back = try CheckpointFile.read(path: path)
        #expect(back.identity == c.identity && back.width == c.width && back.stepsTaken == c.stepsTaken)
        #expect(back.tensors == c.tensors && back.batchesTracked == c.batchesTracked)
        #expect(back.momentum.map(\.name) == c.momentum.map(\.name) && back.momentum.map(\.values) == c.momentum.map(\.values))
        // (== on the whole value would fail on the history's NaN: compare bits.)
        #expect(Self.sameBits(back.history, c.history))
    }

    @Test func brokenCheckpointsAreOneLineErrors() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-ckpt")
        var c = Self.checkpoint()
        c.history.epoch = [0, 2, 1]
        let unordered = errorMessage { try c.write(path: dir.file("bad.h5")) }
        #expect(unordered == "\(dir.file("bad.h5")): /history/epoch: expected epochs 0, 1, 2, ... in order, got [0, 2, 1]")
        c = Self.checkpoint()
        c.history.seconds = [1]
        #expect(errorMessage { try c.write(path: dir.file("bad.h5")) }?.contains("/history/seconds: expected 3 values") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.file("bad.h5")))
        // Another kind of file is not a checkpoint.
        try sampleWeights().write(path: dir.file("w.h5"), force: false)
        let wrong = try #require(errorMessage { _ = try CheckpointFile.read(path: dir.file("w.h5")) })
        #expect(wrong.contains("fapsim.checkpoint") && !wrong.contains("\n"), "\(wrong)")
    }

    @Test func trainingResultsRoundTripAndReadTheEarlierLayout() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-train-results")
        let r = TrainingResults(content: TrainingResults.fatContent, attributes: ["fap_accuracy": .double(0.1), "lr": .string("0.01")],
                                history: Self.history)
        try r.write(path: dir.file("fat.h5"), force: false)
        let back = try TrainingResults.read(path: dir.file("fat.h5"))
        #expect(back.content == "fat" && back.attributes["fap_accuracy"] == .double(0.1))
        #expect(Self.sameBits(back.history, Self.history))
        #expect(errorMessage { try r.write(path: dir.file("fat.h5"), force: false) }?.contains("--force") == true)

        // The `epochs` table as fapsim train --history wrote it before: the same columns, units and descriptions.
        let old = ResultsFile(content: "train", attributes: ["command": .string("train")], tables: [ResultsTable(name: "epochs", columns: [
            .int64("epoch", units: "epochs", Self.history.epoch),
            .double("test_accuracy", units: "1", Self.history.testAccuracy, description: "top-1 on the test images; epoch 0 = before training (FAP alone for fat)"),
            .double("train_loss", units: "1", Self.history.trainLoss, description: "mean cross-entropy over the epoch's steps (NaN for epoch 0)"),
            .double("train_accuracy", units: "1", Self.history.trainAccuracy, description: "top-1 on the augmented training batches, before each step"),
            .double("learning_rate", units: "1", Self.history.learningRate, description: "rate of the epoch's last step"),
            .double("seconds", units: "s", Self.history.seconds),
        ])])
        #expect(old.tables[0] == Self.history.epochsTable(), "the layout is unchanged")
        try old.write(path: dir.file("train.h5"), force: false)
        #expect(Self.sameBits(try TrainingResults.read(path: dir.file("train.h5")).history, Self.history))

        // A table with a missing column, or another content, says which.
        var broken = old
        broken.tables[0].columns.removeLast()
        try broken.write(path: dir.file("broken.h5"), force: false)
        #expect(errorMessage { _ = try TrainingResults.read(path: dir.file("broken.h5")) } == "\(dir.file("broken.h5")): /epochs/seconds: missing column")
        try ResultsFile(content: "resilience").write(path: dir.file("res.h5"), force: false)
        #expect(errorMessage { _ = try TrainingResults.read(path: dir.file("res.h5")) }?.contains("expected \"train\" or \"fat\"") == true)
    }
}
