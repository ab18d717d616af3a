import Testing
import Foundation
@testable import HDF5Kit

/// Values that exercise each type's extremes, so a wrong memory type or a
/// silent conversion shows up as a changed value.
private func sample<T: H5Scalar>(_: T.Type, count: Int) -> [T] {
    (0..<count).map { i -> T in
        switch T.h5Type {
        case .uint8: return UInt8(truncatingIfNeeded: i * 37 + 255) as! T
        case .int8: return Int8(truncatingIfNeeded: i * 37 - 128) as! T
        case .int32: return Int32(truncatingIfNeeded: i &* 1_000_003 &- Int(Int32.max)) as! T
        case .int64: return (Int64(i) &* 0x1234_5678_9ABC &- Int64.max) as! T
        case .uint64: return (UInt64.max &- UInt64(i) &* 0x1_0000_0001) as! T
        case .float: return (Float(i) * 0.1 - 3.25e-7 * Float(i * i)) as! T
        case .double: return (Double(i) * 1e-300 + Double(i) / 3) as! T
        }
    }
}

private let shapes: [[Int]] = [[], [0], [7], [3, 4], [2, 3, 4], [2, 1, 3, 2], [1, 2, 1, 2, 3]]

private func roundTrip<T: H5Scalar & Equatable>(_: T.Type, in dir: TemporaryDirectory) throws {
    let path = dir.file("\(T.h5Type.rawValue).h5")
    do {
        let f = try H5File.create(path)
        for (i, shape) in shapes.enumerated() {
            try f.write("d\(i)", sample(T.self, count: shape.reduce(1, *)), shape: shape)
        }
        try f.close()
    }
    let f = try H5File.open(path)
    for (i, shape) in shapes.enumerated() {
        let d = try f.openDataset("d\(i)")
        #expect(d.shape == shape)
        #expect(d.elementType == T.h5Type)
        #expect(d.typeName == T.h5Type.rawValue)
        #expect(try d.read(T.self) == sample(T.self, count: shape.reduce(1, *)))
        try d.expect(T.h5Type, rank: shape.count, shape: shape.map { $0 })
    }
}

@Suite struct DatasetRoundTripTests {
    @Test func everyTypeAndRankRoundTrips() throws {
        let dir = try TemporaryDirectory()
        try roundTrip(UInt8.self, in: dir)
        try roundTrip(Int8.self, in: dir)
        try roundTrip(Int32.self, in: dir)
        try roundTrip(Int64.self, in: dir)
        try roundTrip(UInt64.self, in: dir)
        try roundTrip(Float.self, in: dir)
        try roundTrip(Double.self, in: dir)
    }

    @Test func scalarDatasetReadsAsOneValue() throws {
        let dir = try TemporaryDirectory()
        let f = try H5File.create(dir.file("s.h5"))
        let d = try f.writeScalar("n", Int64(5865))
        #expect(d.shape == [])
        #expect(try d.readScalar(Int64.self) == 5865)
    }

    @Test func compressedChunkedDatasetRoundTripsAndIsSmaller() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("c.h5")
        let shape = [8, 64, 64]
        var data = [UInt8](repeating: 0, count: shape.reduce(1, *))
        for i in stride(from: 0, to: data.count, by: 97) { data[i] = 1 }
        do {
            let f = try H5File.create(path)
            try f.write("maps", data, shape: shape, options: .compressed(chunk: [1, 64, 64], level: 6))
            try f.write("plain", data, shape: shape)
            try f.close()
        }
        let f = try H5File.open(path)
        let maps = try f.openDataset("maps")
        #expect(maps.chunkShape == [1, 64, 64])
        #expect(maps.filters == ["shuffle", "deflate"])
        #expect(try maps.read(UInt8.self) == data)
        #expect(try f.openDataset("plain").chunkShape == nil)
        let size = maps.storageBytes
        #expect(size > 0 && size < data.count / 4, "gzip should shrink a sparse 0/1 map, stored \(size) bytes")
    }

    @Test func sliceReadsAndWritesTouchOnlyTheBlock() throws {
        let dir = try TemporaryDirectory()
        let f = try H5File.create(dir.file("slice.h5"))
        let d = try f.createDataset("lot", of: Float.self, shape: [5, 3, 4], options: .compressed(chunk: [1, 3, 4]))
        for chip in 0..<5 {
            try d.write((0..<12).map { Float(chip * 100 + $0) }, start: [chip, 0, 0], count: [1, 3, 4])
        }
        #expect(try d.read(Float.self, start: [3, 0, 0], count: [1, 3, 4]) == (0..<12).map { Float(300 + $0) })
        // An inner block: chips 1-2, row 2, columns 1-3.
        #expect(try d.read(Float.self, start: [1, 2, 1], count: [2, 1, 3]) == [109, 110, 111, 209, 210, 211])
        try d.write([-1, -2], start: [4, 0, 2], count: [1, 1, 2])
        let all = try d.read(Float.self)
        #expect(all[4 * 12 + 2] == -1 && all[4 * 12 + 3] == -2 && all[4 * 12 + 1] == 401)
        #expect(all.count == 60)
    }

    @Test func stringDatasetsRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let f = try H5File.create(dir.file("s.h5"))
        let words = ["conv1", "", "features.0.weight", "ünïcödé µs", String(repeating: "x", count: 300)]
        let d = try f.write("names", strings: words)
        #expect(d.isString)
        #expect(d.typeName == "String")
        #expect(try d.readStrings() == words)
        #expect(try f.write("none", strings: []).readStrings() == [])
    }

    @Test func convertingReadAcceptsOtherWidths() throws {
        let dir = try TemporaryDirectory()
        let f = try H5File.create(dir.file("conv.h5"))
        try f.write("d", [1.5, -2.25], shape: [2])
        try f.write("i", [Int32(7), -8])
        #expect(try f.openDataset("d").readConverting(Float.self) == [1.5, -2.25])
        #expect(try f.openDataset("i").readConverting(Int64.self) == [7, -8])
        #expect(throws: (any Error).self) { try f.openDataset("i").readConverting(Float.self) }
    }

    @Test func groupsMembersAndExistence() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("g.h5")
        do {
            let f = try H5File.create(path)
            let g = try f.createGroup("tables")
            let inner = try g.createGroup("per_chip")
            // Written out of name order: members() must keep creation order.
            for name in ["zeta", "alpha", "mid", "10", "9"] { try inner.write(name, [Int64(1)]) }
            try f.write("top", [UInt8(1)])
            try f.close()
        }
        let f = try H5File.open(path)
        #expect(try f.members() == ["tables", "top"])
        #expect(try f.openGroup("tables/per_chip").members() == ["zeta", "alpha", "mid", "10", "9"])
        #expect(f.exists("tables/per_chip/mid"))
        #expect(f.exists("/tables/per_chip"))
        #expect(!f.exists("tables/nothere/mid"))
        #expect(!f.exists("nothere"))
        #expect(f.kind(of: "tables") == .group)
        #expect(f.kind(of: "top") == .dataset)
        #expect(f.kind(of: "missing") == nil)
        let g = try f.openGroup("tables")
        #expect(g.objectPath == "/tables")
        #expect(try g.openGroup("per_chip").openDataset("mid").objectPath == "/tables/per_chip/mid")
    }
}
