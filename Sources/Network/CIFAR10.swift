import Foundation
import FapsimSupport

/// CIFAR-10 in its standard binary layout (docs/conventions.md §4): each record is one
/// label byte then 3072 bytes (R, G, B planes of 32x32, row-major).
public struct CIFAR10Set: Sendable {
    public static let recordBytes = 3073
    public static let imageBytes = 3072
    public static let recordsPerFile = 10_000
    public static let trainFiles = (1...5).map { "data_batch_\($0).bin" }
    public static let testFile = "test_batch.bin"

    /// Raw pixels, image i at [i * 3072, (i + 1) * 3072).
    public var pixels: [UInt8]
    public var labels: [UInt8]
    public var classNames: [String]

    public init(pixels: [UInt8], labels: [UInt8], classNames: [String]) {
        precondition(pixels.count == labels.count * Self.imageBytes)
        self.pixels = pixels
        self.labels = labels
        self.classNames = classNames
    }

    public var count: Int { labels.count }

    public enum Split: String, Sendable {
        case train, test
        public var files: [String] { self == .train ? CIFAR10Set.trainFiles : [CIFAR10Set.testFile] }
    }

    // Where the directory comes from (--data, $FAPSIM_CIFAR_DIR, ../shared, the
    // fetch cache): resolveDirectory in CIFAR10Fetch.swift.

    /// Loads a split, checking each file's size and labels. `limit` stops after
    /// that many records (the files read are still checked in full).
    /// `recordsPerFile` is the count every batch file must hold (10,000 for CIFAR-10).
    public static func load(directory: String, split: Split, limit: Int? = nil,
                            recordsPerFile: Int = CIFAR10Set.recordsPerFile) throws -> CIFAR10Set {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw FapsimError("\(directory): CIFAR-10 data directory not found (pass --data DIR, set FAPSIM_CIFAR_DIR to the folder holding \(testFile), or run `fapsim data fetch`)")
        }
        let classNames = try loadClassNames(directory: directory)
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        let want = limit ?? Int.max
        for name in split.files where labels.count < want {
            let path = (directory as NSString).appendingPathComponent(name)
            let data = try readChecked(path: path, recordsPerFile: recordsPerFile, classes: classNames.count)
            let take = min(recordsPerFile, want - labels.count)
            pixels.reserveCapacity(pixels.count + take * imageBytes)
            data.withUnsafeBytes { raw in
                let p = raw.bindMemory(to: UInt8.self)
                for r in 0..<take {
                    let base = r * recordBytes
                    labels.append(p[base])
                    pixels.append(contentsOf: UnsafeBufferPointer(rebasing: p[(base + 1)..<(base + recordBytes)]))
                }
            }
        }
        return CIFAR10Set(pixels: pixels, labels: labels, classNames: classNames)
    }

    /// The training images there are (5 batch files of 10,000).
    public static let trainImagesTotal = trainFiles.count * recordsPerFile

    /// Loads the images `range` of a split (indices into the split's
    /// concatenated batch files): the held-out validation slice is the end of
    /// the training split (`HeldOutSplits`). Files wholly before the range
    /// are not read.
    public static func load(directory: String, split: Split, range: Range<Int>,
                            recordsPerFile: Int = CIFAR10Set.recordsPerFile) throws -> CIFAR10Set {
        let total = split.files.count * recordsPerFile
        precondition(range.lowerBound >= 0 && range.upperBound <= total, "image range \(range) outside the \(split) split")
        guard range.lowerBound > 0 else { return try load(directory: directory, split: split, limit: range.count, recordsPerFile: recordsPerFile) }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw FapsimError("\(directory): CIFAR-10 data directory not found (pass --data DIR, set FAPSIM_CIFAR_DIR to the folder holding \(testFile), or run `fapsim data fetch`)")
        }
        let classNames = try loadClassNames(directory: directory)
        var pixels: [UInt8] = [], labels: [UInt8] = []
        pixels.reserveCapacity(range.count * imageBytes)
        for (f, name) in split.files.enumerated() {
            let fileRange = (f * recordsPerFile)..<((f + 1) * recordsPerFile)
            let take = fileRange.clamped(to: range)
            guard !take.isEmpty else { continue }
            let data = try readChecked(path: (directory as NSString).appendingPathComponent(name),
                                       recordsPerFile: recordsPerFile, classes: classNames.count)
            data.withUnsafeBytes { raw in
                let p = raw.bindMemory(to: UInt8.self)
                for r in (take.lowerBound - fileRange.lowerBound)..<(take.upperBound - fileRange.lowerBound) {
                    let base = r * recordBytes
                    labels.append(p[base])
                    pixels.append(contentsOf: UnsafeBufferPointer(rebasing: p[(base + 1)..<(base + recordBytes)]))
                }
            }
        }
        return CIFAR10Set(pixels: pixels, labels: labels, classNames: classNames)
    }

    /// Reads one batch file and validates its size and every label.
    static func readChecked(path: String, recordsPerFile: Int, classes: Int) throws -> Data {
        guard FileManager.default.fileExists(atPath: path) else {
            throw FapsimError("\(path): missing CIFAR-10 batch file (expected \(recordsPerFile) records of \(recordBytes) bytes)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FapsimError("\(path): cannot read CIFAR-10 batch file")
        }
        let expected = recordsPerFile * recordBytes
        if data.count != expected {
            let why = data.count % recordBytes == 0
                ? "\(data.count / recordBytes) records"
                : "not a whole number of \(recordBytes)-byte records (truncated?)"
            throw FapsimError("\(path): expected \(expected) bytes (\(recordsPerFile) records of \(recordBytes) bytes), got \(data.count) bytes, \(why)")
        }
        try data.withUnsafeBytes { raw in
            let p = raw.bindMemory(to: UInt8.self)
            for r in 0..<recordsPerFile where Int(p[r * recordBytes]) >= classes {
                throw FapsimError("\(path): record \(r): label \(p[r * recordBytes]) out of range; expected 0-\(classes - 1)")
            }
        }
        return data
    }

    /// Class names, one per line, from batches.meta.txt.
    public static func loadClassNames(directory: String) throws -> [String] {
        let path = (directory as NSString).appendingPathComponent("batches.meta.txt")
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw FapsimError("\(path): missing or unreadable CIFAR-10 class-name file (expected 10 names, one per line)")
        }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count == 10 else {
            throw FapsimError("\(path): expected 10 class names, one per line, got \(names.count)")
        }
        return names
    }

    /// Normalized NCHW floats of images `range` into `dst` (docs/conventions.md §3).
    public func normalize(_ range: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        pixels.withUnsafeBufferPointer { p in
            CIFARNormalization.apply(pixels: p.baseAddress! + range.lowerBound * Self.imageBytes,
                                     images: range.count, dst: dst)
        }
    }

    public func normalized(_ range: Range<Int>) -> [Float] {
        var out = [Float](repeating: 0, count: range.count * Self.imageBytes)
        out.withUnsafeMutableBufferPointer { normalize(range, into: $0.baseAddress!) }
        return out
    }
}

/// x = (pixel / 255 - mean[c]) / std[c], in float32 like torchvision's
/// ToTensor + Normalize, with the CIFAR-10 statistics of docs/conventions.md §3.
public enum CIFARNormalization {
    public static let mean: [Float] = [0.4914, 0.4822, 0.4465]
    public static let std: [Float] = [0.2470, 0.2435, 0.2616]

    /// One table per channel: all 256 pixel values, computed once, so
    /// normalization is a lookup.
    static let tables: [[Float]] = (0..<3).map { c in
        (0..<256).map { v in (Float(v) / 255 - mean[c]) / std[c] }
    }

    public static func apply(pixels: UnsafePointer<UInt8>, images: Int, dst: UnsafeMutablePointer<Float>) {
        let plane = 1024
        for c in 0..<3 {
            tables[c].withUnsafeBufferPointer { t in
                for i in 0..<images {
                    let s = pixels + i * 3072 + c * plane
                    let d = dst + i * 3072 + c * plane
                    for p in 0..<plane { d[p] = t[Int(s[p])] }
                }
            }
        }
    }
}
