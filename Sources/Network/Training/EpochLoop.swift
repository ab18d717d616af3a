import Foundation
import FapsimSupport

/// Where a run keeps its state between epochs, and under which identity.
public struct EpochCheckpoints: Sendable {
    /// The checkpoint file, replaced atomically after every epoch.
    public var path: String
    /// The caller's part of the run identity (inputs, chip, unit); the
    /// settings' part is added by the run (`TrainingSettings.identity`).
    public var identity: [String: String]
    /// Continue from an existing checkpoint at `path` (it must be of this
    /// run); false: start from epoch 0 and replace it.
    public var resume: Bool

    public init(path: String, identity: [String: String], resume: Bool) {
        self.path = path
        self.identity = identity
        self.resume = resume
    }
}

/// What the epoch loop tells its caller, for notes and progress.
public enum EpochLoopEvent {
    /// Continued from the checkpoint at `path` after `epochsDone` epochs.
    case resumed(path: String, epochsDone: Int)
    /// `resume` was asked but there is no checkpoint at `path` yet.
    case noCheckpoint(path: String)
    /// Epoch 0 (the accuracy before training) was measured now.
    case started(EpochRecord)
    /// An epoch was trained, evaluated and checkpointed.
    case epoch(EpochRecord)
    /// `stopAfterEpochs` ended the run early; the checkpoint is kept.
    case stopped(epochsDone: Int)
}

extension TrainingRun {
    /// The epoch loop of every training command (`train`, `fat`, the units of
    /// `resilience` and `reduce`): resume from the checkpoint when asked,
    /// record epoch 0, then train epoch by epoch with a checkpoint after each
    /// one (epoch 0 included), so a kill loses at most the epoch in progress
    /// and a resumed run ends bit for bit where an uninterrupted one would.
    ///
    /// - Parameters:
    ///   - checkpoints: where the state goes after every epoch (nil: nowhere).
    ///   - stopAfterEpochs: return once this many epochs are done, keeping the
    ///     checkpoint (a batch-queue time limit).
    ///   - progress: the progress line of the epoch about to be trained (its
    ///     number is the argument); called once per epoch.
    ///   - events: notes for the caller.
    /// - Returns: false when `stopAfterEpochs` ended the run early.
    @discardableResult
    public func execute(checkpoints: EpochCheckpoints?, stopAfterEpochs: Int? = nil,
                        progress: (Int) -> ProgressLine? = { _ in nil },
                        events: (EpochLoopEvent) -> Void = { _ in }) throws -> Bool {
        if let c = checkpoints, c.resume {
            if let cp = try resumeIfPresent(checkpoint: c.path, identity: c.identity) {
                events(.resumed(path: c.path, epochsDone: cp.epochsDone))
            } else {
                events(.noCheckpoint(path: c.path))
            }
        }
        if history.isEmpty {
            try start()
            events(.started(history[0]))
            if let c = checkpoints { try checkpoint(identity: c.identity).write(path: c.path) }
        }
        while !finished {
            if let stop = stopAfterEpochs, epochsDone >= stop {
                events(.stopped(epochsDone: epochsDone))
                return false
            }
            let record = try runEpoch(progress: progress(history.count))
            if let c = checkpoints { try checkpoint(identity: c.identity).write(path: c.path) }
            events(.epoch(record))
        }
        return true
    }
}
