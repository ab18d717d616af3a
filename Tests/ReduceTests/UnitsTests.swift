import Foundation
import Testing
import FapsimStore
import FapsimSupport
@testable import Reduce

struct UnitsTests {
    @Test func parseAndCompressAreInverse() throws {
        #expect(try UnitIndices.parse("3", field: "--units", count: 8) == [3])
        #expect(try UnitIndices.parse("0-4,7", field: "--units", count: 8) == [0, 1, 2, 3, 4, 7])
        #expect(try UnitIndices.parse("5,1-2,2", field: "--units", count: 8) == [1, 2, 5])
        #expect(UnitIndices.compress([7, 0, 1, 2, 3, 4]) == "0-4,7")
        #expect(UnitIndices.compress([2, 5, 6]) == "2,5-6")
        #expect(UnitIndices.compress([]) == "")
        for text in ["0", "0-7", "1,3,5-6"] {
            #expect(UnitIndices.compress(try UnitIndices.parse(text, field: "--units", count: 8)) == text)
        }
    }

    @Test func badListsNameTheOption() {
        #expect(errorMessage { _ = try UnitIndices.parse("", field: "--units", count: 8) } == "--units: expected a list of indices such as 3 or 0-4,7, got an empty list")
        #expect(errorMessage { _ = try UnitIndices.parse("4-2", field: "--chips", count: 8) }?.hasPrefix("--chips: expected indices or ranges A-B with A <= B") == true)
        #expect(errorMessage { _ = try UnitIndices.parse("a", field: "--units", count: 8) }?.contains("\"a\"") == true)
        #expect(errorMessage { _ = try UnitIndices.parse("-1", field: "--units", count: 8) } != nil)
        #expect(errorMessage { _ = try UnitIndices.parse("6-8", field: "--units", count: 8) } == "--units: expected indices in 0-7 (8 in all), got 8")
    }

    @Test func progressJSONAndMissingUnits() throws {
        let p = UnitProgress(command: "resilience", units: 8, done: [7, 0, 1, 3, 4], out: "res.h5")
        #expect(p.missing == [2, 5, 6])
        let j = p.json
        #expect(j["command"] as? String == "resilience" && j["units"] as? Int == 8 && j["out"] as? String == "res.h5")
        #expect(j["done"] as? [Int] == [0, 1, 3, 4, 7] && j["missing"] as? [Int] == [2, 5, 6])
        #expect(errorMessage { try p.requireComplete() }?.hasPrefix("res.h5: 3 of 8 units missing: 2,5-6") == true)
        #expect(errorMessage { try UnitProgress(command: "reduce", units: 2, done: [0, 1], out: "c.h5").requireComplete() } == nil)
    }
}
