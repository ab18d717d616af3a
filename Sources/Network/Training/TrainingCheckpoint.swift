import Foundation
import HDF5Kit
import FapsimStore
import FapsimSupport

/// A training run's whole state after a finished epoch, written atomically so
/// a kill at any moment leaves the previous epoch's checkpoint intact.
///
/// Layout (`schema` = `fapsim.checkpoint`):
/// - root attributes `run_<key>` (strings): the run's identity (settings,
///   input checksums, chip), compared key by key on resume; `steps_taken`,
///   `epochs_done` (int64), `width` (float64);
/// - `/tensors`: the state_dict (as in a weights file);
/// - `/momentum/<state_dict key>`: SGD momentum buffers (absent = not started);
/// - `/history/<column>`: epoch, train_loss, train_accuracy, test_accuracy,
///   learning_rate, seconds, one row per recorded epoch (0 included).
public struct TrainingCheckpoint: Sendable, Equatable {
    public var identity: [String: String]
    public var parameters: VGG11Parameters
    public var slotNames: [String]
    public var momentum: [[Float]]
    public var steps: Int
    public var history: [EpochRecord]

    public init(identity: [String: String], parameters: VGG11Parameters, slotNames: [String], momentum: [[Float]],
                steps: Int, history: [EpochRecord]) {
        self.identity = identity
        self.parameters = parameters
        self.slotNames = slotNames
        self.momentum = momentum
        self.steps = steps
        self.history = history
    }

    public var epochsDone: Int { max(0, history.count - 1) }

    public func write(path: String) throws {
        try AtomicWrite.write(to: path, force: true) { tmp in
            let file = try H5File.create(tmp, overwrite: true)
            try Schema.stamp(file, as: .checkpoint)
            for (k, v) in identity.sorted(by: { $0.key < $1.key }) { try file.setAttribute("run_" + k, v) }
            try file.setAttribute("steps_taken", Int64(steps))
            try file.setAttribute("epochs_done", Int64(epochsDone))
            try file.setAttribute("width", parameters.spec.width)
            try parameters.weightsFile().writeStateDict(into: try file.createGroup("tensors"))
            let mom = try file.createGroup("momentum")
            for (name, buf) in zip(slotNames, momentum) where !buf.isEmpty { try mom.write(name, buf) }
            let h = try file.createGroup("history")
            try h.write("epoch", history.map { Int64($0.epoch) })
            try h.write("train_loss", history.map(\.trainLoss))
            try h.write("train_accuracy", history.map(\.trainAccuracy))
            try h.write("test_accuracy", history.map(\.testAccuracy))
            try h.write("learning_rate", history.map(\.learningRate))
            try h.write("seconds", history.map(\.seconds))
            try file.close()
        }
    }

    /// Reads a checkpoint for a network of `spec` with optimizer slots `slotNames`.
    public static func read(path: String, spec: VGG11Spec, slotNames: [String]) throws -> TrainingCheckpoint {
        let file = try H5File.open(path)
        try Schema.require(file, is: .checkpoint)
        var identity: [String: String] = [:]
        for name in try file.attributeNames() where name.hasPrefix("run_") {
            identity[String(name.dropFirst(4))] = try file.stringAttribute(name)
        }
        let width = try file.attribute("width", as: Double.self)
        guard abs(width - spec.width) < 1e-12 else {
            throw file.failure("attribute width: checkpoint is for VGG11 width \(width), this run is width \(spec.width)")
        }
        let (tensors, counters) = try WeightsFile.readStateDict(try file.openGroup("tensors"), strict: true)
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let parameters = try VGG11Parameters.load(spec: spec, file: path + " /tensors",
                                                  lookup: { byName[$0].map { ($0.shape, $0.data) } },
                                                  batchesTracked: { counters[$0] })
        let momGroup = try file.openGroup("momentum")
        let sizes = Dictionary(uniqueKeysWithValues: parameters.stateDict().map { ($0.name, $0.data.count) })
        var momentum: [[Float]] = []
        for name in slotNames {
            guard momGroup.exists(name) else { momentum.append([]); continue }
            let d = try momGroup.openDataset(name, expecting: .float, rank: 1, shape: [sizes[name]])
            var values = try d.read(Float.self)
            // Stored in the GEMM layout already (the optimizer's); nothing to transpose.
            if values.count != sizes[name] { values = [] }
            momentum.append(values)
        }
        let h = try file.openGroup("history")
        let epochs = try h.openDataset("epoch", expecting: .int64, rank: 1).read(Int64.self)
        func column(_ name: String) throws -> [Double] {
            try h.openDataset(name, expecting: .double, rank: 1, shape: [epochs.count]).read(Double.self)
        }
        let loss = try column("train_loss"), tacc = try column("train_accuracy"), acc = try column("test_accuracy")
        let lr = try column("learning_rate"), secs = try column("seconds")
        var history: [EpochRecord] = []
        for i in epochs.indices {
            guard epochs[i] == Int64(i) else { throw file.failure("history/epoch: expected epochs 0, 1, 2, ... in order, got \(epochs)") }
            history.append(EpochRecord(epoch: i, trainLoss: loss[i], trainAccuracy: tacc[i], testAccuracy: acc[i],
                                       learningRate: lr[i], seconds: secs[i]))
        }
        let steps = try file.attribute("steps_taken", as: Int64.self)
        return TrainingCheckpoint(identity: identity, parameters: parameters, slotNames: slotNames, momentum: momentum,
                                  steps: Int(steps), history: history)
    }
}
