import Foundation

/// Softmax cross-entropy averaged over the batch (PyTorch's
/// `F.cross_entropy(logits, labels)` with reduction 'mean').
public enum SoftmaxCrossEntropy {
    /// Returns the mean loss and writes dLoss/dLogits = (softmax - onehot) / B
    /// into `gradient` ([B][N], may be `logits`). The max logit is subtracted
    /// before exponentiating so large logits cannot overflow; the loss is summed
    /// in Double.
    @discardableResult
    public static func lossAndGradient(logits: UnsafePointer<Float>, labels: [Int], classes n: Int,
                                       gradient: UnsafeMutablePointer<Float>) -> Double {
        let batch = labels.count
        precondition(batch > 0)
        let invB = 1 / Float(batch)
        var total = 0.0
        for b in 0..<batch {
            let label = labels[b]
            precondition(label >= 0 && label < n, "label \(label) out of range 0..<\(n)")
            let row = logits + b * n, g = gradient + b * n
            var mx = row[0]
            for j in 1..<n { mx = max(mx, row[j]) }
            let zLabel = row[label]   // read before `gradient` (possibly `logits`) is written
            var sum: Float = 0
            for j in 0..<n { let e = expf(row[j] - mx); g[j] = e; sum += e }
            total += Double(logf(sum)) - Double(zLabel - mx)
            let scale = invB / sum
            for j in 0..<n { g[j] *= scale }
            g[label] -= invB
        }
        return total / Double(batch)
    }

    /// Array convenience: (mean loss, gradient [B][N]).
    public static func lossAndGradient(logits: [Float], labels: [Int], classes: Int) -> (loss: Double, gradient: [Float]) {
        precondition(logits.count == labels.count * classes)
        var g = [Float](repeating: 0, count: logits.count)
        let loss = logits.withUnsafeBufferPointer { l in
            g.withUnsafeMutableBufferPointer { gp in
                lossAndGradient(logits: l.baseAddress!, labels: labels, classes: classes, gradient: gp.baseAddress!)
            }
        }
        return (loss, g)
    }

    /// How many rows' arg-max equals the label (first maximum wins ties).
    public static func correct(logits: UnsafePointer<Float>, labels: [Int], classes n: Int) -> Int {
        var hits = 0
        for (b, label) in labels.enumerated() {
            let row = logits + b * n
            var best = 0
            for j in 1..<n where row[j] > row[best] { best = j }
            if best == label { hits += 1 }
        }
        return hits
    }
}
