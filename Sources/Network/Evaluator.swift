import Dispatch
import FapsimSupport

/// Top-1 and per-class accuracy of a network on a labelled set.
public struct EvaluationResult: Sendable {
    public var images: Int
    public var correct: Int
    public var perClassCorrect: [Int]
    public var perClassTotal: [Int]
    public var classNames: [String]
    /// Predicted class per image, in data order.
    public var predictions: [Int]

    public var accuracy: Double { images == 0 ? 0 : Double(correct) / Double(images) }

    /// Class name -> accuracy (classes without images are left out).
    public var perClassAccuracy: [String: Double] {
        var out: [String: Double] = [:]
        for (i, name) in classNames.enumerated() where perClassTotal[i] > 0 {
            out[name] = Double(perClassCorrect[i]) / Double(perClassTotal[i])
        }
        return out
    }
}

/// A network that turns a batch of normalized NCHW images into logits: the float
/// `VGG11Network` and the int8 `QuantizedNetwork`.
public protocol ImageClassifier: AnyObject {
    var spec: VGG11Spec { get }
    func forward(images: UnsafePointer<Float>, batch: Int, logits: UnsafeMutablePointer<Float>) throws
}

extension VGG11Network: ImageClassifier {}

public enum Evaluator {
    /// Runs the first `limit` images (all by default) in batches of `batch`.
    /// `progress` is advanced by the images done after each batch.
    public static func evaluate(network: any ImageClassifier, data: CIFAR10Set, limit: Int? = nil, batch: Int = 128,
                                progress: ProgressLine? = nil) throws -> EvaluationResult {
        try evaluate(networks: [network], data: data, limit: limit, batch: batch, progress: progress)
    }

    /// The same evaluation with one worker thread per network: worker w runs
    /// batches w, w + W, w + 2W, ... on `networks[w]` (each network has its own
    /// engine and buffers, none is shared). A batch holds the same images
    /// whatever the worker count and every network computes alone, so the
    /// predictions, and an array engine's per-batch cycle records, are those of
    /// one worker, bit for bit. `afterBatch(worker, batchIndex)` is called on the
    /// worker's thread right after that batch (e.g. to collect an engine's records
    /// per batch); batch 0 always runs on worker 0.
    public static func evaluate(networks: [any ImageClassifier], data: CIFAR10Set, limit: Int? = nil, batch: Int = 128,
                                progress: ProgressLine? = nil,
                                afterBatch: (@Sendable (_ worker: Int, _ batchIndex: Int) -> Void)? = nil) throws -> EvaluationResult {
        precondition(batch > 0 && !networks.isEmpty)
        let total = min(limit ?? data.count, data.count)
        let classes = networks[0].spec.classes
        let b = min(batch, max(total, 1))
        let batches = (total + b - 1) / b
        let workers = min(networks.count, max(1, batches))
        var predictions = [Int](repeating: 0, count: total)
        var errors = [(batch: Int, error: any Error)?](repeating: nil, count: workers)
        predictions.withUnsafeMutableBufferPointer { preds in
            errors.withUnsafeMutableBufferPointer { errs in
                nonisolated(unsafe) let predsBase = preds.baseAddress, errsBase = errs.baseAddress!
                // Worker w alone touches networks[w].
                nonisolated(unsafe) let networks = networks
                let work: @Sendable (Int) -> Void = { w in
                    let network = networks[w]
                    var input = [Float](repeating: 0, count: b * CIFAR10Set.imageBytes)
                    var logits = [Float](repeating: 0, count: b * classes)
                    var index = w
                    while index < batches {
                        let start = index * b, n = min(b, total - start)
                        do {
                            try input.withUnsafeMutableBufferPointer { inp in
                                data.normalize(start..<(start + n), into: inp.baseAddress!)
                                try logits.withUnsafeMutableBufferPointer { out in
                                    try network.forward(images: inp.baseAddress!, batch: n, logits: out.baseAddress!)
                                    for (j, p) in VGG11Network.argmax(out.baseAddress!, batch: n, classes: classes).enumerated() {
                                        predsBase![start + j] = p
                                    }
                                }
                            }
                        } catch {
                            errsBase[w] = (index, error)
                            return
                        }
                        afterBatch?(w, index)
                        progress?.advance(by: n)
                        index += workers
                    }
                }
                if workers == 1 {
                    work(0)
                } else {
                    // Each worker's forward passes use `Parallel` too; concurrentPerform
                    // keeps the total thread count at the machine's.
                    DispatchQueue.concurrentPerform(iterations: workers, execute: work)
                }
            }
        }
        // The error of the earliest failing batch, as one worker would have thrown.
        if let first = errors.compactMap({ $0 }).min(by: { $0.batch < $1.batch }) { throw first.error }
        var result = EvaluationResult(images: total, correct: 0, perClassCorrect: .init(repeating: 0, count: classes),
                                      perClassTotal: .init(repeating: 0, count: classes),
                                      classNames: data.classNames, predictions: predictions)
        for (i, p) in predictions.enumerated() {
            let label = Int(data.labels[i])
            result.perClassTotal[label] += 1
            if p == label {
                result.correct += 1
                result.perClassCorrect[label] += 1
            }
        }
        return result
    }
}
