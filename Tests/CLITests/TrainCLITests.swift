import Foundation
import Testing
import FapsimStore
import FapsimTestSupport
import HDF5Kit
import Network

/// `fapsim train` and `fapsim fat` end to end on a width-1/16 VGG11 and a few
/// hundred CIFAR-10 images: checkpoint, stop and resume bit-identical, the FAT
/// results file, and bad input.
@Suite(.serialized) struct TrainCLITests {
    static let cifar = SharedData.cifarDirectory

    static let tiny = ["--width", "0.0625", "--train-subset", "96", "--test-subset", "64", "--batch", "32", "--quiet"]

    func train(_ out: String, _ extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        try runFapsim(["train", "--data", Self.cifar, "--epochs", "2", "--out", out] + Self.tiny + extra)
    }

    func checksum(_ path: String) throws -> String { try WeightsFile.read(path: path).checksum }

    /// The progress lines and the summary name the split the accuracy is
    /// measured on: "validation" with --validation, "test" without.
    @Test(.requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
    func progressNamesTheSplitItMeasures() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-train-split")
        let args = ["train", "--data", Self.cifar, "--epochs", "1", "--width", "0.0625", "--train-subset", "64",
                    "--test-subset", "32", "--batch", "32"]
        let v = try runFapsim(args + ["--validation", "40", "--out", dir.file("v.h5")])
        #expect(v.status == 0, "\(v.stderr)")
        #expect(v.stderr.contains("epoch 0: validation ") && v.stderr.contains(", validation "), "\(v.stderr)")
        #expect(!v.stderr.contains(", test ") && v.stdout.contains("validation accuracy"), "\(v.stdout)")
        let t = try runFapsim(args + ["--out", dir.file("t.h5")])
        #expect(t.status == 0, "\(t.stderr)")
        #expect(t.stderr.contains("epoch 0: test ") && t.stdout.contains("test accuracy"), "\(t.stderr)")
    }

    @Test(.requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
    func stopAndResumeGivesTheUninterruptedWeights() throws {
        let dir = try TemporaryDirectory()
        let whole = try train(dir.file("whole.h5"))
        #expect(whole.status == 0, "\(whole.stderr)")

        let out = dir.file("split.h5"), ckpt = dir.file("split.h5.checkpoint.h5")
        let first = try train(out, ["--stop-after-epochs", "1"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(FileManager.default.fileExists(atPath: ckpt))

        // Without --resume the checkpoint is not silently discarded.
        let again = try train(out)
        #expect(again.status != 0 && again.stderr.contains("--resume"), "\(again.stderr)")
        // A resume with other settings is refused, naming the field.
        let other = try train(out, ["--resume", "--lr", "0.05"])
        #expect(other.status != 0 && other.stderr.contains("run_lr"), "\(other.stderr)")
        #expect(other.stderr.split(separator: "\n").count == 1)
        // So is one under the other convolution algorithm (the last bits differ).
        let gemm = try train(out, ["--resume", "--conv-algorithm", "gemm"])
        #expect(gemm.status != 0 && gemm.stderr.contains("run_conv_algorithm"), "\(gemm.stderr)")
        let bogus = try train(out, ["--resume", "--conv-algorithm", "fft"])
        #expect(bogus.status != 0 && bogus.stderr.contains("conv-algorithm"), "\(bogus.stderr)")

        let rest = try train(out, ["--resume"])
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ckpt), "checkpoint removed after the final output")
        #expect(try checksum(out) == checksum(dir.file("whole.h5")))
        // The output is never overwritten without --force.
        let exists = try train(out)
        #expect(exists.status != 0 && exists.stderr.contains("--force"))
    }

    /// Training gives the same bits on one worker as on all cores (the trainer's
    /// GEMMs are single-threaded calls, the elementwise passes split by channel),
    /// under both convolution algorithms.
    @Test(.requiresSharedData(.cifarTrainingBatches, .cifarTestBatch), arguments: ["winograd", "gemm"])
    func resultsDoNotDependOnTheCoreCount(_ algorithm: String) throws {
        let dir = try TemporaryDirectory()
        let args = ["train", "--data", Self.cifar, "--epochs", "1"] + Self.tiny + ["--conv-algorithm", algorithm]
        let many = try runFapsim(args + ["--out", dir.file("many.h5")])
        let one = try runFapsim(args + ["--out", dir.file("one.h5")], environment: ["FAPSIM_THREADS": "1"])
        #expect(many.status == 0 && one.status == 0, "\(many.stderr) \(one.stderr)")
        #expect(try checksum(dir.file("many.h5")) == checksum(dir.file("one.h5")))
    }

    /// lr 1e30 makes the loss NaN; lr 1e6 keeps the loss finite (a collapsed
    /// network) while a BN running variance overflows. Both stop with one line
    /// naming what went non-finite, a non-zero exit, no weights file, and the
    /// checkpoint of the last good epoch.
    @Test(.requiresSharedData(.cifarTrainingBatches, .cifarTestBatch),
          arguments: [("1e30", "training diverged: loss is"), ("1e6", "training diverged: features.")])
    func divergingRunStopsAndKeepsTheLastGoodCheckpoint(lr: String, needle: String) throws {
        let dir = try TemporaryDirectory()
        let r = try train(dir.file("nan.h5"), ["--lr", lr, "--schedule", "constant"])
        #expect(r.status != 0)
        #expect(r.stderr.contains(needle) && r.stderr.contains("epoch 1, step") && r.stderr.split(separator: "\n").count == 1,
                "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("nan.h5")))
        let inspect = try runFapsim(["inspect", dir.file("nan.h5.checkpoint.h5"), "--json"])
        #expect(inspect.status == 0 && inspect.stdout.contains("\"epochs_done\" : 0"), "\(inspect.stdout)\(inspect.stderr)")
    }

    /// Zero epochs would save the random initial weights as if trained.
    @Test(.requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
    func trainRefusesZeroEpochs() throws {
        let dir = try TemporaryDirectory()
        let out = dir.file("untrained.h5")
        let r = try runFapsim(["train", "--data", Self.cifar, "--epochs", "0", "--out", out] + Self.tiny)
        #expect(r.status != 0)
        #expect(r.stderr == "Error: --epochs: expected at least 1 epoch (train --epochs 0 would write the untrained initial weights), got 0\n")
        #expect(!FileManager.default.fileExists(atPath: out) && !FileManager.default.fileExists(atPath: out + ".checkpoint.h5"))
    }

    /// Damaged inputs that used to be evaluated without a word: a NaN in a
    /// weight tensor, a fault map holding 2 or 255. Each is one line naming
    /// the file, the object and the element.
    @Test(.requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
    func damagedWeightsAndFaultMapsAreRefusedByName() throws {
        let dir = try TemporaryDirectory()
        let good = dir.file("good.h5"), nan = dir.file("nan.h5"), lot = dir.file("lot.h5")
        let params = VGG11Parameters.random(spec: try VGG11Spec(width: 0.0625), seed: 5)
        try params.weightsFile().write(path: good, force: false)
        var damaged = params.weightsFile()
        // features.0.weight is [4, 3, 3, 3]: flat index 31 is element [1, 0, 1, 1].
        damaged.tensors[0].data[31] = .nan
        try ExternalFiles.writeUnchecked(damaged, to: nan)
        let evaluate = ["evaluate", "--data", Self.cifar, "--limit", "16", "--quiet"]
        let r = try runFapsim(evaluate + ["--weights", nan])
        #expect(r.status != 0)
        #expect(r.stderr == "Error: \(nan): /tensors/features.0.weight: expected finite values, got nan at index 31 (element [1, 0, 1, 1] of shape [4, 3, 3, 3])\n")

        let g = try runFapsim(["lot", "generate", "--config", "hw-configs/small-8x8.yaml", "--chips", "3", "--seed", "4",
                               "--model", "uniform", "--rate-range", "0.1:0.3", "--out", lot, "--quiet"])
        #expect(g.status == 0, "\(g.stderr)")
        for value: UInt8 in [2, 255] {
            try ExternalFiles.poke(lot, dataset: "fault_maps", at: [1, 6, 2], value)
            let e = try runFapsim(evaluate + ["--weights", good, "--config", "hw-configs/small-8x8.yaml", "--lot", lot, "--chip", "1"])
            #expect(e.status != 0)
            #expect(e.stderr == "Error: \(lot): /fault_maps: chip 1, PE (row 6, col 2): expected 0 (healthy) or 1 (faulty), got \(value)\n")
        }
    }

    @Test(.requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
    func fatRecordsEveryEpochWithProvenanceAndRejectsBadInput() throws {
        let dir = try TemporaryDirectory()
        let weights = dir.file("w.h5")
        #expect(try train(weights).status == 0)
        let lot = dir.file("lot.h5")
        let g = try runFapsim(["lot", "generate", "--config", "hw-configs/small-8x8.yaml", "--chips", "3", "--seed", "4",
                               "--model", "uniform", "--rate-range", "0.1:0.3", "--out", lot, "--quiet"])
        #expect(g.status == 0, "\(g.stderr)")
        let base = ["fat", "--weights", weights, "--data", Self.cifar, "--config", "hw-configs/small-8x8.yaml",
                    "--lot", lot, "--epochs", "2", "--train-subset", "64", "--test-subset", "64", "--batch", "32", "--quiet"]
        let out = dir.file("fat.h5")
        let r = try runFapsim(base + ["--chip", "1", "--out", out, "--weights-out", dir.file("fat-w.h5"), "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let history = try #require(json["history"] as? [[String: Any]])
        #expect(history.map { $0["epoch"] as? Int } == [0, 1, 2])

        let file = try ResultsFile.read(path: out)
        #expect(file.content == "fat")
        #expect(file[table: "epochs"]?.rowCount == 3)
        for key in ["weights_checksum", "lot_checksum", "chip", "fault_map_checksum", "seed", "lr", "schedule", "fap_accuracy"] {
            #expect(file.attributes[key] != nil, "missing provenance attribute \(key)")
        }
        let retrained = try WeightsFile.read(path: dir.file("fat-w.h5"))
        #expect(retrained.provenance.chipIndex == 1 && retrained.provenance.fatEpochs == 2)

        func fails(_ args: [String], _ needle: String) throws {
            let e = try runFapsim(args)
            #expect(e.status != 0, "\(args) should fail")
            #expect(e.stderr.contains(needle) && e.stderr.split(separator: "\n").count == 1, "\(args): \(e.stderr)")
        }
        try fails(base + ["--chip", "3", "--out", dir.file("x.h5")], "out of range")
        var on256 = base
        on256[on256.firstIndex(of: "hw-configs/small-8x8.yaml")!] = "hw-configs/tpu-256x256.yaml"
        try fails(on256 + ["--chip", "0", "--out", dir.file("x.h5")], "8")
        try fails(base + ["--chip", "0", "--width", "0.5", "--out", dir.file("x.h5")], "width")
        try fails(base + ["--chip", "0", "--out", out], "--force")

        // --epochs 0 is FAP alone: the accuracy of the pruned network, no retraining.
        var zero = base
        zero[zero.firstIndex(of: "--epochs")! + 1] = "0"
        let fapOnly = try runFapsim(zero + ["--chip", "1", "--out", dir.file("fap.h5"), "--json"])
        #expect(fapOnly.status == 0, "\(fapOnly.stderr)")
        let fapJSON = try #require(try JSONSerialization.jsonObject(with: Data(fapOnly.stdout.utf8)) as? [String: Any])
        #expect((fapJSON["history"] as? [[String: Any]])?.map { $0["epoch"] as? Int } == [0])
        #expect(fapJSON["fap_accuracy"] as? Double == json["fap_accuracy"] as? Double)
    }
}

/// Files as a damaged disk or another tool leaves them, bypassing fapsim's
/// checks on write.
enum ExternalFiles {
    /// Writes `weights` in the fapsim layout without `WeightsFile.write`'s
    /// validation (which refuses non-finite tensors).
    static func writeUnchecked(_ weights: WeightsFile, to path: String) throws {
        let file = try H5File.create(path)
        try Schema.stamp(file, as: .weights)
        try file.setAttribute("architecture", weights.architecture)
        try file.setAttribute("width", weights.width)
        try weights.writeStateDict(into: try file.createGroup("tensors"))
        try file.close()
    }

    /// Overwrites one element of a UInt8 dataset in place.
    static func poke(_ path: String, dataset: String, at index: [Int], _ value: UInt8) throws {
        let file = try H5File.open(path, writable: true)
        try file.openDataset(dataset).write([value], start: index, count: index.map { _ in 1 })
        try file.close()
    }
}
