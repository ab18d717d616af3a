import FapsimSupport

/// The order and augmentation of one training epoch, drawn from (seed, epoch)
/// alone, so epoch e of a resumed run sees exactly the batches epoch e of an
/// uninterrupted run saw.
///
/// Augmentation is torchvision's `RandomCrop(32, padding=4)` followed by
/// `RandomHorizontalFlip()`: the image is padded with 4 black pixels (value 0,
/// i.e. normalized to -mean/std, as torchvision pads the PIL image before
/// `ToTensor`/`Normalize`), a 32x32 window at a uniform offset in 0...8 is cut
/// out, then mirrored with probability 1/2.
public struct EpochPlan: Sendable, Equatable {
    /// Image indices in visiting order (a seeded Fisher-Yates shuffle).
    public let order: [Int]
    /// Per visited image: crop offsets (top, left) in 0...2*padding, and the flip.
    public let cropTop: [UInt8]
    public let cropLeft: [UInt8]
    public let flip: [Bool]
    public let augmented: Bool

    public static let padding = 4

    public init(images: Int, seed: UInt64, epoch: Int, shuffle: Bool = true, augment: Bool = true) {
        var rng = SeededRNG.derived(seed: seed, 0x7472_6169_6E, UInt64(epoch))  // "train"
        var order = Array(0..<images)
        if shuffle && images > 1 {
            for i in stride(from: images - 1, to: 0, by: -1) {
                order.swapAt(i, rng.nextInt(below: i + 1))
            }
        }
        self.order = order
        augmented = augment
        let span = 2 * Self.padding + 1
        if augment {
            var top = [UInt8](), left = [UInt8](), flip = [Bool]()
            top.reserveCapacity(images); left.reserveCapacity(images); flip.reserveCapacity(images)
            for _ in 0..<images {
                top.append(UInt8(rng.nextInt(below: span)))
                left.append(UInt8(rng.nextInt(below: span)))
                flip.append(rng.nextInt(below: 2) == 1)
            }
            cropTop = top; cropLeft = left; self.flip = flip
        } else {
            let p = UInt8(Self.padding)
            cropTop = .init(repeating: p, count: images)
            cropLeft = .init(repeating: p, count: images)
            flip = .init(repeating: false, count: images)
        }
    }

    /// An explicit plan (tests, replaying a recorded order).
    init(order: [Int], cropTop: [UInt8], cropLeft: [UInt8], flip: [Bool]) {
        precondition(order.count == cropTop.count && order.count == cropLeft.count && order.count == flip.count)
        self.order = order
        self.cropTop = cropTop
        self.cropLeft = cropLeft
        self.flip = flip
        augmented = true
    }

    /// Batches of at most `batch` positions into `order`; the last may be short
    /// (PyTorch's DataLoader with drop_last=False).
    public func batches(of batch: Int) -> [Range<Int>] {
        stride(from: 0, to: order.count, by: batch).map { $0..<min($0 + batch, order.count) }
    }

    /// Fills `dst` with the normalized, augmented NCHW images of visiting
    /// positions `range`, and returns their labels.
    public func fill(_ range: Range<Int>, from data: CIFAR10Set, into dst: UnsafeMutablePointer<Float>) -> [Int] {
        let plane = 32 * 32
        let pad = Self.padding
        var labels: [Int] = []
        labels.reserveCapacity(range.count)
        data.pixels.withUnsafeBufferPointer { px in
            for (slot, pos) in range.enumerated() {
                let image = order[pos]
                labels.append(Int(data.labels[image]))
                let dy = Int(cropTop[pos]) - pad, dx = Int(cropLeft[pos]) - pad
                let mirror = flip[pos]
                for c in 0..<3 {
                    let table = CIFARNormalization.tables[c]
                    let black = table[0]
                    let src = px.baseAddress! + image * CIFAR10Set.imageBytes + c * plane
                    let out = dst + (slot * 3 + c) * plane
                    for y in 0..<32 {
                        let sy = y + dy
                        let row = out + y * 32
                        guard sy >= 0 && sy < 32 else {
                            row.update(repeating: black, count: 32)
                            continue
                        }
                        for x in 0..<32 {
                            // Crop first, then mirror the crop (torchvision's order).
                            let cx = mirror ? 31 - x : x
                            let sx = cx + dx
                            row[x] = (sx >= 0 && sx < 32) ? table[Int(src[sy * 32 + sx])] : black
                        }
                    }
                }
            }
        }
        return labels
    }
}
