import Foundation
import FapsimStore
import FapsimSupport

/// A training run's whole state after a finished epoch, in the trainer's
/// terms: parameters, momentum buffers per optimizer slot, steps and history.
/// The file layout is the store's (`CheckpointFile`, schema `fapsim.checkpoint`).
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

    /// The state as the store's checkpoint layout (`CheckpointFile`).
    public var file: CheckpointFile {
        let w = parameters.weightsFile()
        return CheckpointFile(identity: identity, width: parameters.spec.width, stepsTaken: steps, tensors: w.tensors,
                              batchesTracked: w.batchesTracked,
                              momentum: zip(slotNames, momentum).filter { !$0.1.isEmpty }.map { (name: $0.0, values: $0.1) },
                              history: history.columns)
    }

    /// Writes atomically (`CheckpointFile.write`).
    public func write(path: String) throws {
        try file.write(path: path)
    }

    /// Reads a checkpoint for a network of `spec` with optimizer slots `slotNames`.
    public static func read(path: String, spec: VGG11Spec, slotNames: [String]) throws -> TrainingCheckpoint {
        let file = try CheckpointFile.read(path: path)
        guard abs(file.width - spec.width) < 1e-12 else {
            throw FapsimError("\(path): /: attribute width: checkpoint is for VGG11 width \(file.width), this run is width \(spec.width)")
        }
        let byName = Dictionary(file.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let parameters = try VGG11Parameters.load(spec: spec, file: path + " /tensors",
                                                  lookup: { byName[$0].map { ($0.shape, $0.data) } },
                                                  batchesTracked: { file.batchesTracked[$0] })
        let sizes = Dictionary(uniqueKeysWithValues: parameters.stateDict().map { ($0.name, $0.data.count) })
        let stored = Dictionary(file.momentum.map { ($0.name, $0.values) }, uniquingKeysWith: { a, _ in a })
        // Stored in the GEMM layout already (the optimizer's); nothing to transpose.
        let momentum = try slotNames.map { name -> [Float] in
            guard let values = stored[name] else { return [] }
            guard values.count == sizes[name] else {
                throw FapsimError("\(path): /momentum/\(name): expected \(sizes[name] ?? 0) floats (the parameter's size), got \(values.count)")
            }
            return values
        }
        return TrainingCheckpoint(identity: file.identity, parameters: parameters, slotNames: slotNames, momentum: momentum,
                                  steps: file.stepsTaken, history: [EpochRecord](file.history))
    }
}

extension Array where Element == EpochRecord {
    /// The history as the store's columns.
    public var columns: TrainingHistory {
        TrainingHistory(epoch: map { Int64($0.epoch) }, trainLoss: map(\.trainLoss), trainAccuracy: map(\.trainAccuracy),
                        testAccuracy: map(\.testAccuracy), learningRate: map(\.learningRate), seconds: map(\.seconds))
    }

    /// The records of stored columns (checked by the store: equal lengths, epochs in order).
    public init(_ h: TrainingHistory) {
        self = h.epoch.indices.map { i in
            EpochRecord(epoch: Int(h.epoch[i]), trainLoss: h.trainLoss[i], trainAccuracy: h.trainAccuracy[i],
                        testAccuracy: h.testAccuracy[i], learningRate: h.learningRate[i], seconds: h.seconds[i])
        }
    }
}
