import Foundation
import Testing
import FapsimStore
import FapsimSupport
@testable import Reduce

/// A malformed resilience file fails with one line naming the file and what is wrong.
struct ResilienceFileErrorTests {
    /// Writes the fixture's results file after `edit`, then reads it as a resilience file.
    func readError(_ edit: (inout ResultsFile) -> Void) throws -> String? {
        let dir = try TemporaryDirectory()
        let path = dir.file("bad.h5")
        var f = try ResilienceFixture.table().resultsFile()
        edit(&f)
        try f.write(path: path, force: false)
        let message = errorMessage { _ = try ResilienceTable.read(path: path) }
        #expect(message?.contains(path) == true, "\(message ?? "no error") does not name the file")
        return message
    }

    func column(_ f: inout ResultsFile, _ table: String, _ name: String, _ change: (inout ResultsColumn.Values) -> Void) {
        let t = f.tables.firstIndex { $0.name == table }!
        let c = f.tables[t].columns.firstIndex { $0.name == name }!
        change(&f.tables[t].columns[c].values)
    }

    @Test func wrongContent() throws {
        #expect(try readError { $0.content = "campaign" }?.contains("expected \"resilience\"") == true)
    }

    @Test func missingAttribute() throws {
        #expect(try readError { $0.attributes["weights_checksum"] = nil }?.contains("missing attribute weights_checksum") == true)
    }

    @Test func emptyRateList() throws {
        #expect(try readError { $0.attributes["rates"] = .doubles([]) }?.contains("empty") == true)
    }

    @Test func missingTable() throws {
        #expect(try readError { $0.tables.removeAll { $0.name == "accuracy" } }?.contains("/accuracy: missing table") == true)
    }

    @Test func summaryThatDisagreesWithTheCurves() throws {
        let message = try readError { f in
            column(&f, "epochs_needed", "max_epochs") { v in if case .int64(var a) = v { a[1] = 2; v = .int64(a) } }
        }
        #expect(message?.contains("disagrees with the accuracy table") == true)
    }

    @Test func duplicateAccuracyRow() throws {
        let message = try readError { f in
            column(&f, "accuracy", "epoch") { v in if case .int64(var a) = v { a[1] = 0; v = .int64(a) } }
        }
        #expect(message?.contains("appears twice") == true)
    }

    @Test func accuracyOutOfRange() throws {
        let message = try readError { f in
            column(&f, "accuracy", "accuracy") { v in if case .double(var a) = v { a[3] = 85; v = .double(a) } }
        }
        #expect(message?.contains("[0, 1]") == true)
    }
}
