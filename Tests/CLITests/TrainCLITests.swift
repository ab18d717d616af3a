import Foundation
import Testing
import FapsimStore
import FapsimTestSupport

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

    @Test(.requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
    func divergingRunStopsAndKeepsTheLastGoodCheckpoint() throws {
        let dir = try TemporaryDirectory()
        let r = try train(dir.file("nan.h5"), ["--lr", "1e30", "--schedule", "constant"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("diverged") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"))
        let inspect = try runFapsim(["inspect", dir.file("nan.h5.checkpoint.h5"), "--json"])
        #expect(inspect.status == 0 && inspect.stdout.contains("\"epochs_done\" : 0"), "\(inspect.stdout)\(inspect.stderr)")
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
    }
}
