import Testing
import Foundation
import HDF5Kit

@Suite struct AttributeTests {
    @Test func typedScalarAndArrayAttributesRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("a.h5")
        do {
            let f = try H5File.create(path)
            let d = try f.write("x", [Float(1)])
            for target: H5Object in [f, d] {
                try target.setAttribute("u8", UInt8(255))
                try target.setAttribute("i8", Int8(-128))
                try target.setAttribute("i32", Int32.min)
                try target.setAttribute("i64", Int64.max)
                try target.setAttribute("u64", UInt64.max)
                try target.setAttribute("f32", Float(0.1))
                try target.setAttribute("f64", Double.pi)
                try target.setAttribute("u8s", [UInt8](0...9))
                try target.setAttribute("f64s", [1.5, -2.5, 1e-300])
                try target.setAttribute("i64s", [Int64]())
                try target.setAttribute("name", "vgg11 ✓")
                try target.setAttribute("columns", ["chip", "accuracy", ""])
            }
            try f.close()
        }
        let f = try H5File.open(path)
        let d = try f.openDataset("x")
        for target: H5Object in [f, d] {
            #expect(try target.attribute("u8", as: UInt8.self) == 255)
            #expect(try target.attribute("i8", as: Int8.self) == -128)
            #expect(try target.attribute("i32", as: Int32.self) == Int32.min)
            #expect(try target.attribute("i64", as: Int64.self) == Int64.max)
            #expect(try target.attribute("u64", as: UInt64.self) == UInt64.max)
            #expect(try target.attribute("f32", as: Float.self) == 0.1)
            #expect(try target.attribute("f64", as: Double.self) == Double.pi)
            #expect(try target.arrayAttribute("u8s", as: UInt8.self) == [UInt8](0...9))
            #expect(try target.arrayAttribute("f64s", as: Double.self) == [1.5, -2.5, 1e-300])
            #expect(try target.arrayAttribute("i64s", as: Int64.self) == [])
            #expect(try target.stringAttribute("name") == "vgg11 ✓")
            #expect(try target.stringArrayAttribute("columns") == ["chip", "accuracy", ""])
            #expect(try target.attribute("columns") == .strings(["chip", "accuracy", ""]))
            #expect(try target.attribute("i32") == .int(Int64(Int32.min)))
            #expect(try target.attribute("f32") == .double(Double(Float(0.1))))
            #expect(try target.attribute("f64s") == .doubles([1.5, -2.5, 1e-300]))
            #expect(try target.attributeNames().sorted() ==
                    ["columns", "f32", "f64", "f64s", "i32", "i64", "i64s", "i8", "name", "u64", "u8", "u8s"])
        }
    }

    @Test func settingAnAttributeAgainReplacesIt() throws {
        let dir = try TemporaryDirectory()
        let f = try H5File.create(dir.file("r.h5"))
        try f.setAttribute("v", Int64(1))
        try f.setAttribute("v", "now a string")
        #expect(try f.stringAttribute("v") == "now a string")
        try f.setAttribute("v", .doubles([1, 2]))
        #expect(try f.attribute("v") == .doubles([1, 2]))
        try f.deleteAttribute("v")
        #expect(!f.hasAttribute("v"))
    }

    @Test func wrongAttributeTypeOrMissingAttributeNamesFileAndObject() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("w.h5")
        let f = try H5File.create(path)
        let g = try f.createGroup("grp")
        try g.setAttribute("rows", 3.5)
        let wrong = #expect(throws: (any Error).self) { try g.attribute("rows", as: Int64.self) }
        #expect("\(wrong!)" == "\(path): /grp: attribute rows: expected scalar Int64, got scalar Double")
        let missing = #expect(throws: (any Error).self) { try g.stringAttribute("generator") }
        #expect("\(missing!)" == "\(path): /grp: missing attribute generator")
        let notString = #expect(throws: (any Error).self) { try g.stringAttribute("rows") }
        #expect("\(notString!)" == "\(path): /grp: attribute rows: expected a string, got scalar Double")
    }
}
