import Foundation
import Testing
import FapsimSupport
@testable import Reduce

/// Every bad input is one FapsimError line that names the option and says what
/// was expected.
struct BadInputTests {
    static let cases: [(LotModelOptions, [String])] = [
        (LotModelOptions(model: "gaussian"), ["--model", "uniform, fixed, clustered", "gaussian"]),
        (LotModelOptions(model: "uniform"), ["--rate-range", "required", "A:B"]),
        (LotModelOptions(model: "uniform", rateRange: "0.2:0.1"), ["--rate-range", "A <= B", "0.2:0.1"]),
        (LotModelOptions(model: "uniform", rateRange: "0.1:1.5"), ["--rate-range", "[0, 1]", "1.5"]),
        (LotModelOptions(model: "uniform", rateRange: "-0.1:0.5"), ["--rate-range", "[0, 1]", "-0.1"]),
        (LotModelOptions(model: "uniform", rateRange: "nan:0.5"), ["--rate-range", "[0, 1]", "nan"]),
        (LotModelOptions(model: "uniform", rateRange: "0.1"), ["--rate-range", "expected A:B", "'0.1'"]),
        (LotModelOptions(model: "uniform", rateRange: "a:b"), ["--rate-range", "expected A:B"]),
        (LotModelOptions(model: "uniform", rateRange: "0.1:0.2", rate: 0.1), ["--rate", "not used by --model uniform"]),
        (LotModelOptions(model: "fixed"), ["--rate", "required by --model fixed", "[0, 1]"]),
        (LotModelOptions(model: "fixed", rate: 1.01), ["--rate", "[0, 1]", "1.01"]),
        (LotModelOptions(model: "fixed", rate: .nan), ["--rate", "[0, 1]", "nan"]),
        (LotModelOptions(model: "fixed", rate: 0.1, alpha: 2), ["--alpha", "not used by --model fixed"]),
        (LotModelOptions(model: "clustered", meanDefects: 3, clusterRadius: 1), ["--alpha", "required", "> 0"]),
        (LotModelOptions(model: "clustered", alpha: 2, meanDefects: 3), ["--cluster-radius", "required"]),
        (LotModelOptions(model: "clustered", alpha: 2, clusterRadius: 1), ["--mean-defects", "required", "--rate"]),
        (LotModelOptions(model: "clustered", rate: 0.1, alpha: 2, meanDefects: 3, clusterRadius: 1), ["--mean-defects", "not both"]),
        (LotModelOptions(model: "clustered", alpha: 0, meanDefects: 3, clusterRadius: 1), ["--alpha", "> 0", "got 0"]),
        (LotModelOptions(model: "clustered", alpha: -1, meanDefects: 3, clusterRadius: 1), ["--alpha", "> 0", "got -1"]),
        (LotModelOptions(model: "clustered", alpha: .nan, meanDefects: 3, clusterRadius: 1), ["--alpha", "nan"]),
        (LotModelOptions(model: "clustered", alpha: 1, meanDefects: -3, clusterRadius: 1), ["--mean-defects", ">= 0", "-3"]),
        (LotModelOptions(model: "clustered", alpha: 1, meanDefects: 3, clusterRadius: -1), ["--cluster-radius", "-1"]),
        (LotModelOptions(model: "clustered", alpha: 1, meanDefects: 3, clusterRadius: 1000), ["--cluster-radius", "0 to 256"]),
        (LotModelOptions(model: "clustered", rate: 2, alpha: 1, clusterRadius: 1), ["--rate", "[0, 1]", "2"]),
        (LotModelOptions(model: "clustered", rateRange: "0:1", alpha: 1, meanDefects: 1, clusterRadius: 1), ["--rate-range", "not used by --model clustered"]),
    ]

    @Test(arguments: 0..<cases.count)
    func modelOptionErrors(index: Int) {
        let (options, fragments) = Self.cases[index]
        var thrown: Error?
        do { _ = try options.makeModel(rows: 8, cols: 8) } catch { thrown = error }
        let error = thrown as? FapsimError
        #expect(error != nil, "no FapsimError for \(options)")
        let message = error?.message ?? ""
        #expect(!message.contains("\n"))
        for f in fragments { #expect(message.contains(f), "'\(message)' lacks '\(f)'") }
    }

    @Test(arguments: [0, -5])
    func chipCountMustBePositive(chips: Int) throws {
        let dir = try TemporaryDirectory()
        let g = try LotGenerator(model: try FixedRateModel(rate: 0.1), rows: 4, cols: 4, lotSeed: 1)
        let m1 = errorMessage { _ = try g.lot(chips: chips) }
        let m2 = errorMessage { try g.write(chips: chips, to: dir.file("x.h5"), force: false) }
        #expect(m1 == "--chips: expected a number of chips >= 1, got \(chips)")
        #expect(m2 == m1)
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.h5")))
    }

    @Test func badConfigFileIsNamed() throws {
        let dir = try TemporaryDirectory()
        let missing = dir.file("nope.yaml")
        let m = errorMessage {
            _ = try LotGeneration.run(configPath: missing, chips: 2, seed: 1, out: dir.file("l.h5"),
                                      options: LotModelOptions(model: "fixed", rate: 0.1), force: false, quiet: true)
        }
        #expect(m?.contains(missing) == true)
        #expect(!FileManager.default.fileExists(atPath: dir.file("l.h5")))
    }

    @Test func goodOptionsMakeTheRightModels() throws {
        let u = try LotModelOptions(model: "uniform", rateRange: " 0.01 : 0.1").makeModel(rows: 8, cols: 8)
        #expect((u as? UniformRateModel) == (try UniformRateModel(rateMin: 0.01, rateMax: 0.1)))
        let f = try LotModelOptions(model: "fixed", rate: 0).makeModel(rows: 8, cols: 8)
        #expect((f as? FixedRateModel)?.rate == 0)
        let c = try LotModelOptions(model: "clustered", rate: 0.1, alpha: 2, clusterRadius: 0).makeModel(rows: 8, cols: 8)
        #expect((c as? ClusteredDefectModel)?.meanDefects == 6.4)  // 0.1 x 64 PEs / 1 PE per defect
        let equalEnds = try LotModelOptions(model: "uniform", rateRange: "0.2:0.2").makeModel(rows: 8, cols: 8)
        #expect(equalEnds.parameters == ["rate_min": 0.2, "rate_max": 0.2])
    }
}
