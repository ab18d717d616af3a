import Foundation
import HDF5Kit
import FapsimSupport

/// A training run's whole state after a finished epoch (schema
/// `fapsim.checkpoint`), written atomically so a kill at any moment leaves the
/// previous epoch's checkpoint intact. The store owns the layout; Network
/// converts to and from its trainer state (`TrainingCheckpoint`).
///
/// Layout:
/// - root attributes `run_<key>` (strings): the run's identity (settings,
///   input checksums, chip), compared key by key on resume; `steps_taken`,
///   `epochs_done` (int64), `width` (float64);
/// - `/tensors`: the state_dict (as in a weights file);
/// - `/momentum/<state_dict key>`: SGD momentum buffers, float32 1-D (absent =
///   not started);
/// - `/history/<column>`: epoch, train_loss, train_accuracy, test_accuracy,
///   learning_rate, seconds, one row per recorded epoch (0 included).
public struct CheckpointFile: Equatable, Sendable {
    public static let identityPrefix = "run_"

    public var identity: [String: String]
    /// VGG11 width multiplier of the network.
    public var width: Double
    public var stepsTaken: Int
    /// The state_dict, in its order, and the BN counters.
    public var tensors: [NamedTensor]
    public var batchesTracked: [String: Int64]
    /// Momentum buffers by state_dict key, in slot order; slots not started are left out.
    public var momentum: [(name: String, values: [Float])]
    public var history: TrainingHistory

    public init(identity: [String: String], width: Double, stepsTaken: Int, tensors: [NamedTensor],
                batchesTracked: [String: Int64], momentum: [(name: String, values: [Float])], history: TrainingHistory) {
        self.identity = identity
        self.width = width
        self.stepsTaken = stepsTaken
        self.tensors = tensors
        self.batchesTracked = batchesTracked
        self.momentum = momentum
        self.history = history
    }

    public var epochsDone: Int { max(0, history.count - 1) }

    public static func == (a: CheckpointFile, b: CheckpointFile) -> Bool {
        a.identity == b.identity && a.width == b.width && a.stepsTaken == b.stepsTaken && a.tensors == b.tensors
            && a.batchesTracked == b.batchesTracked && a.history == b.history
            && a.momentum.map(\.name) == b.momentum.map(\.name) && a.momentum.map(\.values) == b.momentum.map(\.values)
    }

    /// Writes atomically, replacing an older checkpoint of the run.
    public func write(path: String) throws {
        try history.validate(source: path, object: "/history")
        let stateDict = WeightsFile(architecture: "vgg11", width: width, tensors: tensors, batchesTracked: batchesTracked)
        try AtomicWrite.write(to: path, force: true) { tmp in
            let file = try H5File.create(tmp, overwrite: true)
            try Schema.stamp(file, as: .checkpoint)
            for (k, v) in identity.sorted(by: { $0.key < $1.key }) { try file.setAttribute(Self.identityPrefix + k, v) }
            try file.setAttribute("steps_taken", Int64(stepsTaken))
            try file.setAttribute("epochs_done", Int64(epochsDone))
            try file.setAttribute("width", width)
            try stateDict.writeStateDict(into: try file.createGroup("tensors"))
            let mom = try file.createGroup("momentum")
            for (name, buf) in momentum where !buf.isEmpty { try mom.write(name, buf) }
            let h = try file.createGroup("history")
            try h.write("epoch", history.epoch)
            try h.write("train_loss", history.trainLoss)
            try h.write("train_accuracy", history.trainAccuracy)
            try h.write("test_accuracy", history.testAccuracy)
            try h.write("learning_rate", history.learningRate)
            try h.write("seconds", history.seconds)
            try file.close()
        }
    }

    /// Reads a checkpoint, checking its structure: the schema, the
    /// attributes, float32 tensors, 1-D float32 momentum buffers and history
    /// columns of equal length with epochs 0, 1, 2, ... in order.
    public static func read(path: String) throws -> CheckpointFile {
        let file = try H5File.open(path)
        try Schema.require(file, is: .checkpoint)
        var identity: [String: String] = [:]
        for name in try file.attributeNames() where name.hasPrefix(identityPrefix) {
            identity[String(name.dropFirst(identityPrefix.count))] = try file.stringAttribute(name)
        }
        let width = try file.attribute("width", as: Double.self)
        let (tensors, counters) = try WeightsFile.readStateDict(try file.openGroup("tensors"), strict: true)
        let momGroup = try file.openGroup("momentum")
        var momentum: [(name: String, values: [Float])] = []
        for name in try momGroup.members() {
            momentum.append((name, try momGroup.openDataset(name, expecting: .float, rank: 1).read(Float.self)))
        }
        let h = try file.openGroup("history")
        let epochs = try h.openDataset("epoch", expecting: .int64, rank: 1).read(Int64.self)
        func column(_ name: String) throws -> [Double] {
            try h.openDataset(name, expecting: .double, rank: 1, shape: [epochs.count]).read(Double.self)
        }
        let history = TrainingHistory(epoch: epochs, trainLoss: try column("train_loss"),
                                      trainAccuracy: try column("train_accuracy"), testAccuracy: try column("test_accuracy"),
                                      learningRate: try column("learning_rate"), seconds: try column("seconds"))
        guard epochs.enumerated().allSatisfy({ $0.element == Int64($0.offset) }) else {
            throw h.failure("epoch: expected epochs 0, 1, 2, ... in order, got \(epochs)")
        }
        let steps = try file.attribute("steps_taken", as: Int64.self)
        return CheckpointFile(identity: identity, width: width, stepsTaken: Int(steps), tensors: tensors,
                              batchesTracked: counters, momentum: momentum, history: history)
    }
}
