import Foundation
@_exported import FapsimTestSupport
@testable import Network

/// Locations of the shared data and model (FapsimTestSupport's SharedData:
/// environment first, then ../shared next to the package root). Tests that need
/// them carry `.requiresSharedData(...)`.
enum TestData {
    static var cifarDirectory: String { SharedData.cifarDirectory }
    static var modelPath: String { SharedData.modelPath }

    /// The test split, loaded once for all tests that need it.
    nonisolated(unsafe) static var testSetCache: CIFAR10Set?
    static let lock = NSLock()
    static func testSet() throws -> CIFAR10Set {
        lock.lock(); defer { lock.unlock() }
        if let s = testSetCache { return s }
        let s = try CIFAR10Set.load(directory: cifarDirectory, split: .test)
        testSetCache = s
        return s
    }

    /// A fresh temporary directory removed by the caller.
    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "fapsim-net-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SeededRNGForTests(seed: seed)
        return (0..<count).map { _ in rng.nextFloat() * 2 - 1 }
    }
}

/// Small LCG so test inputs do not depend on other modules' generators.
struct SeededRNGForTests {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func nextFloat() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(state >> 40) / Float(1 << 24)
    }
}
