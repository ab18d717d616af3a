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
        let total = min(limit ?? data.count, data.count)
        let classes = network.spec.classes
        precondition(batch > 0)
        var result = EvaluationResult(images: 0, correct: 0, perClassCorrect: .init(repeating: 0, count: classes),
                                      perClassTotal: .init(repeating: 0, count: classes),
                                      classNames: data.classNames, predictions: [])
        result.predictions.reserveCapacity(total)
        let b = min(batch, max(total, 1))
        var input = [Float](repeating: 0, count: b * CIFAR10Set.imageBytes)
        var logits = [Float](repeating: 0, count: b * classes)
        var start = 0
        while start < total {
            let n = min(b, total - start)
            try input.withUnsafeMutableBufferPointer { inp in
                data.normalize(start..<(start + n), into: inp.baseAddress!)
                try logits.withUnsafeMutableBufferPointer { out in
                    try network.forward(images: inp.baseAddress!, batch: n, logits: out.baseAddress!)
                    let preds = VGG11Network.argmax(out.baseAddress!, batch: n, classes: classes)
                    for (j, p) in preds.enumerated() {
                        let label = Int(data.labels[start + j])
                        result.perClassTotal[label] += 1
                        if p == label {
                            result.correct += 1
                            result.perClassCorrect[label] += 1
                        }
                    }
                    result.predictions.append(contentsOf: preds)
                }
            }
            result.images += n
            start += n
            progress?.advance(by: n)
        }
        return result
    }
}
