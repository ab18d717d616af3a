import FapsimSupport

/// A training run's per-epoch history as columns, one row per recorded epoch
/// (0 = before training: for FAT, FAP alone; its loss, train accuracy and rate
/// are NaN). The layouts that hold it: a checkpoint's `/history` group, the
/// `epochs` table of `train` / `fat` results and the `curve` table of a
/// resilience unit.
public struct TrainingHistory: Equatable, Sendable {
    public var epoch: [Int64]
    public var trainLoss: [Double]
    public var trainAccuracy: [Double]
    public var testAccuracy: [Double]
    public var learningRate: [Double]
    public var seconds: [Double]

    public init(epoch: [Int64], trainLoss: [Double], trainAccuracy: [Double], testAccuracy: [Double],
                learningRate: [Double], seconds: [Double]) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testAccuracy = testAccuracy
        self.learningRate = learningRate
        self.seconds = seconds
    }

    public var count: Int { epoch.count }

    /// Column names in the order every layout stores them.
    public static let columnNames = ["epoch", "test_accuracy", "train_loss", "train_accuracy", "learning_rate", "seconds"]

    /// Equal lengths and epochs 0, 1, 2, ... in order; `object` names where
    /// the columns are in the file for the error.
    public func validate(source: String, object: String) throws {
        for (name, n) in [("train_loss", trainLoss.count), ("train_accuracy", trainAccuracy.count),
                          ("test_accuracy", testAccuracy.count), ("learning_rate", learningRate.count), ("seconds", seconds.count)]
            where n != epoch.count {
            throw FapsimError("\(source): \(object)/\(name): expected \(epoch.count) values (one per epoch), got \(n)")
        }
        guard epoch.enumerated().allSatisfy({ $0.element == Int64($0.offset) }) else {
            throw FapsimError("\(source): \(object)/epoch: expected epochs 0, 1, 2, ... in order, got \(epoch)")
        }
    }

    /// The `epochs` table of `train` and `fat` results files.
    public func epochsTable() -> ResultsTable {
        ResultsTable(name: "epochs", columns: [
            .int64("epoch", units: "epochs", epoch),
            .double("test_accuracy", units: "1", testAccuracy, description: "top-1 on the test images; epoch 0 = before training (FAP alone for fat)"),
            .double("train_loss", units: "1", trainLoss, description: "mean cross-entropy over the epoch's steps (NaN for epoch 0)"),
            .double("train_accuracy", units: "1", trainAccuracy, description: "top-1 on the augmented training batches, before each step"),
            .double("learning_rate", units: "1", learningRate, description: "rate of the epoch's last step"),
            .double("seconds", units: "s", seconds),
        ])
    }

    /// The `curve` table of a resilience unit file (the same columns, no descriptions).
    public func curveTable() -> ResultsTable {
        ResultsTable(name: "curve", columns: [
            .int64("epoch", units: "epochs", epoch),
            .double("test_accuracy", units: "1", testAccuracy),
            .double("train_loss", units: "1", trainLoss),
            .double("train_accuracy", units: "1", trainAccuracy),
            .double("learning_rate", units: "1", learningRate),
            .double("seconds", units: "s", seconds),
        ])
    }

    /// Reads the columns of an `epochs` or `curve` table, checked.
    public static func read(_ table: ResultsTable, source: String) throws -> TrainingHistory {
        let r = ResultsReader(path: source)
        let h = TrainingHistory(epoch: try r.ints(table, "epoch"), trainLoss: try r.doubles(table, "train_loss"),
                                trainAccuracy: try r.doubles(table, "train_accuracy"),
                                testAccuracy: try r.doubles(table, "test_accuracy"),
                                learningRate: try r.doubles(table, "learning_rate"), seconds: try r.doubles(table, "seconds"))
        try h.validate(source: source, object: "/" + table.name)
        return h
    }
}

/// The results file of `fapsim train --history` (`content` = `train`) and of
/// `fapsim fat` (`content` = `fat`): root attributes recording everything the
/// run depends on, and the `epochs` table (docs/training.md).
/// A run's accuracy after each amount of training images (`fapsim fat
/// --amounts`): the `amounts` table, one row per amount.
public struct AmountsTable: Equatable, Sendable {
    /// The amounts asked for, in training images, strictly increasing.
    public var images: [Int64]
    /// Optimizer steps taken for each (whole batches: docs/training.md).
    public var steps: [Int64]
    /// Images those steps went through (>= the amount, by less than a batch).
    public var imagesTrained: [Int64]
    /// imagesTrained in epochs of the training subset.
    public var epochs: [Double]
    /// Correct of `evaluated` images of the curve set.
    public var correct: [Int64]
    public var evaluated: [Int64]

    public init(images: [Int64], steps: [Int64], imagesTrained: [Int64], epochs: [Double], correct: [Int64], evaluated: [Int64]) {
        self.images = images
        self.steps = steps
        self.imagesTrained = imagesTrained
        self.epochs = epochs
        self.correct = correct
        self.evaluated = evaluated
    }

    public var accuracy: [Double] { zip(correct, evaluated).map { $1 == 0 ? 0 : Double($0) / Double($1) } }

    public func table() -> ResultsTable {
        ResultsTable(name: "amounts", columns: [
            .int64("images", units: "images", images, description: "retraining amount asked for; 0 = before training"),
            .int64("steps", units: "steps", steps, description: "optimizer steps: whole epochs, then ceil(rest / batch)"),
            .int64("images_trained", units: "images", imagesTrained, description: "images the steps went through"),
            .double("epochs", units: "epochs", epochs, description: "images_trained / training images"),
            .int64("correct", units: "images", correct),
            .int64("evaluated", units: "images", evaluated, description: "images of the curve set (curve_split) evaluated"),
            .double("accuracy", units: "1", accuracy, description: "correct / evaluated"),
        ])
    }

    public static func read(_ table: ResultsTable, source: String) throws -> AmountsTable {
        let r = ResultsReader(path: source)
        let t = AmountsTable(images: try r.ints(table, "images"), steps: try r.ints(table, "steps"),
                             imagesTrained: try r.ints(table, "images_trained"), epochs: try r.doubles(table, "epochs"),
                             correct: try r.ints(table, "correct"), evaluated: try r.ints(table, "evaluated"))
        for (name, n) in [("steps", t.steps.count), ("images_trained", t.imagesTrained.count), ("epochs", t.epochs.count),
                          ("correct", t.correct.count), ("evaluated", t.evaluated.count)] where n != t.images.count {
            throw FapsimError("\(source): /amounts/\(name): expected \(t.images.count) values (one per amount), got \(n)")
        }
        return t
    }
}

public struct TrainingResults: Equatable, Sendable {
    public static let trainContent = "train"
    public static let fatContent = "fat"

    public var content: String
    public var attributes: [String: AttributeValue]
    public var history: TrainingHistory
    /// The accuracy after each amount of training images (`fat --amounts`); nil = none.
    public var amounts: AmountsTable?

    public init(content: String, attributes: [String: AttributeValue], history: TrainingHistory, amounts: AmountsTable? = nil) {
        self.content = content
        self.attributes = attributes
        self.history = history
        self.amounts = amounts
    }

    public func resultsFile() -> ResultsFile {
        ResultsFile(content: content, attributes: attributes, tables: [history.epochsTable()] + (amounts.map { [$0.table()] } ?? []))
    }

    /// Writes atomically; refuses to replace `path` unless `force`.
    public func write(path: String, force: Bool) throws {
        try history.validate(source: path, object: "/epochs")
        try resultsFile().write(path: path, force: force)
    }

    /// Reads a `train` or `fat` results file.
    public static func read(path: String) throws -> TrainingResults {
        let f = try ResultsFile.read(path: path)
        guard [trainContent, fatContent].contains(f.content) else {
            throw FapsimError("\(path): /: attribute content: expected \"train\" or \"fat\", got \"\(f.content)\" (not a training results file)")
        }
        let r = ResultsReader(path: path, file: f)
        return TrainingResults(content: f.content, attributes: f.attributes,
                               history: try TrainingHistory.read(try r.table("epochs"), source: path),
                               amounts: try f[table: "amounts"].map { try AmountsTable.read($0, source: path) })
    }
}
