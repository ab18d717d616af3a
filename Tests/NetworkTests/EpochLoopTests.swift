import Foundation
import Testing
import FapsimSupport
@testable import Network

/// The one epoch loop (`TrainingRun.execute`) and the one set of training
/// hyper-parameters (`FATSettings`) every training command goes through.
@Suite struct EpochLoopTests {
    typealias T = TrainingVGG11Tests

    /// The identity keys and texts of FAT's defaults are those earlier work
    /// directories and checkpoints carry: changing them would refuse to resume
    /// every run started before.
    @Test func defaultIdentityIsTheLegacyOne() throws {
        #expect(FATSettings.fatDefaults.identity == [
            "lr": "0.01", "schedule": "constant", "batch": "128", "momentum": "0.9", "weight_decay": "0.0005",
            "nesterov": "false", "augment": "true", "conv_algorithm": "winograd",
        ])
        let s = try FATSettings(momentum: 0.8, weightDecay: 0, nesterov: true, augment: false, convolution: .gemm)
        #expect(s.identity["momentum"] == "0.8" && s.identity["weight_decay"] == "0.0")
        #expect(s.identity["nesterov"] == "true" && s.identity["augment"] == "false" && s.identity["conv_algorithm"] == "gemm")
        let t = try s.training(epochs: 3, seed: 7)
        #expect(t.fat == s)
        #expect(t.identity == s.identity.merging(["epochs": "3", "seed": "7"]) { a, _ in a })
        #expect(t.hyperparameters == .init(momentum: 0.8, weightDecay: 0, nesterov: true, convolution: .gemm))
    }

    /// One bad value each, over FAT's defaults, and the option its error must name.
    struct BadSetting: Sendable, CustomTestStringConvertible {
        var lr = 0.01, schedule = "constant", batch = 128
        var momentum: Float = 0.9, weightDecay: Float = 5e-4
        var option: String
        var testDescription: String { option }
    }

    @Test(arguments: [
        BadSetting(lr: 0, option: "--lr"), BadSetting(lr: .nan, option: "--lr"),
        BadSetting(schedule: "linear", option: "--schedule"), BadSetting(batch: 1, option: "--batch"),
        BadSetting(momentum: 1, option: "--momentum"), BadSetting(momentum: -0.1, option: "--momentum"),
        BadSetting(weightDecay: -1e-4, option: "--weight-decay"), BadSetting(weightDecay: .infinity, option: "--weight-decay"),
    ])
    func badSettingsNameTheirOption(_ c: BadSetting) {
        let err = #expect(throws: FapsimError.self) {
            _ = try FATSettings(lr: c.lr, scheduleName: c.schedule, batch: c.batch, momentum: c.momentum, weightDecay: c.weightDecay)
        }
        #expect(err?.message.hasPrefix(c.option) == true, "\(err?.message ?? "no error")")
    }

    /// Stopped after one epoch, then resumed from the checkpoint in a fresh
    /// run: the same history, weights and momentum, bit for bit, as the loop
    /// run through at once; the events say what happened.
    @Test func stopAndResumeIsBitIdentical() throws {
        let spec = T.spec()
        let train = T.syntheticSet(40, seed: 71), test = T.syntheticSet(16, seed: 72)
        let start = VGG11Parameters.random(spec: spec, seed: 73)
        let f = T.faults(rate: 0.1)
        let settings = try FATSettings(lr: 0.02, batch: 16, momentum: 0.8, weightDecay: 1e-4, augment: false).training(epochs: 3, seed: 4)
        func run() throws -> TrainingRun {
            try TrainingRun(trainer: VGG11Trainer(parameters: start, faults: f, hyperparameters: settings.hyperparameters),
                            settings: settings, train: train, test: test)
        }
        let whole = try run()
        #expect(try whole.execute(checkpoints: nil))
        #expect(whole.history.count == 4)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fapsim-epochloop-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ckpt = EpochCheckpoints(path: dir + "/ckpt.h5", identity: ["case": "loop"], resume: true)
        var events: [String] = []
        func log(_ e: EpochLoopEvent) {
            switch e {
            case .resumed(_, let n): events.append("resumed \(n)")
            case .noCheckpoint: events.append("none")
            case .started: events.append("start")
            case .epoch(let r): events.append("epoch \(r.epoch)")
            case .stopped(let n): events.append("stopped \(n)")
            }
        }
        let first = try run()
        #expect(try first.execute(checkpoints: ckpt, stopAfterEpochs: 1, events: log) == false)
        #expect(events == ["none", "start", "epoch 1", "stopped 1"])
        events = []
        let second = try run()
        var progressCalls: [Int] = []
        #expect(try second.execute(checkpoints: ckpt, progress: { progressCalls.append($0); return nil }, events: log))
        #expect(events == ["resumed 1", "epoch 2", "epoch 3"])
        #expect(progressCalls == [2, 3])
        #expect(second.trainer.parameters == whole.trainer.parameters)
        #expect(second.trainer.momentumBuffers == whole.trainer.momentumBuffers)
        #expect(zip(second.history, whole.history).allSatisfy { $0.sameResult(as: $1) })

        // The final state is checkpointed too, with the settings in its identity.
        let cp = try TrainingCheckpoint.read(path: ckpt.path, spec: spec, slotNames: second.trainer.slotNames)
        #expect(cp.epochsDone == 3)
        #expect(cp.identity["momentum"] == "0.8" && cp.identity["augment"] == "false" && cp.identity["case"] == "loop")

        // Another momentum refuses the checkpoint, naming the field.
        let otherSettings = try FATSettings(lr: 0.02, batch: 16, momentum: 0.9, weightDecay: 1e-4, augment: false).training(epochs: 3, seed: 4)
        let other = try TrainingRun(trainer: VGG11Trainer(parameters: start, faults: f, hyperparameters: otherSettings.hyperparameters),
                                    settings: otherSettings, train: train, test: test)
        let err = #expect(throws: FapsimError.self) { try other.execute(checkpoints: ckpt) }
        #expect(err?.message.contains("run_momentum") == true)
    }
}
