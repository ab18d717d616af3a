import Foundation
import Testing
import FapsimStore
import FapsimTestSupport

/// The FAT hyper-parameter options (`--momentum`, `--weight-decay`,
/// `--nesterov`, `--no-augment`, ...) on `fapsim resilience` and `fapsim
/// reduce`: recorded in the run identity and the final file, inherited by
/// reduce from the resilience file, and a resume under other values refused.
@Suite(.serialized, .requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
struct FATSettingsCLITests {
    typealias F = ReduceFixture

    static let custom = ["--momentum", "0.8", "--weight-decay", "0.0001", "--nesterov", "--no-augment"]

    func args(_ f: F.Files, out: String, settings: [String]) -> [String] {
        ["resilience", "--weights", f.weights, "--data", F.cifar, "--config", F.config, "--rates", "0.1", "--repeats", "1",
         "--epochs", "1", "--train-subset", "128", "--test-subset", "200", "--batch", "64", "--lr", "0.02", "--seed", "5",
         "--targets", f.targets.map { "\($0)" }.joined(separator: ","), "--out", out, "--quiet"] + settings
    }

    func string(_ file: ResultsFile, _ key: String) -> String? {
        if case .string(let s)? = file.attributes[key] { return s }
        return nil
    }

    /// FAT's fixed settings of earlier versions are still what a run without
    /// the options records, under the same identity keys and texts.
    @Test func defaultsKeepTheLegacyIdentity() throws {
        let f = try F.get()
        let unit = try ResultsFile.read(path: f.resilience + ".work/unit-0.h5")
        #expect(string(unit, "run_momentum") == "0.9")
        #expect(string(unit, "run_weight_decay") == "0.0005")
        #expect(string(unit, "run_nesterov") == "false")
        #expect(string(unit, "run_augment") == "true")
        let res = try ResultsFile.read(path: f.resilience)
        #expect(res.attributes["momentum"] == .double(Double(Float(0.9))))
        #expect(res.attributes["augment"] == .int(1) && res.attributes["nesterov"] == .int(0))
    }

    @Test func resilienceAndReduceRecordTheSettings() throws {
        let f = try F.get()
        let out = f.dir.file("custom-res.h5")
        let r = try runFapsim(args(f, out: out, settings: Self.custom))
        #expect(r.status == 0, "\(r.stderr)")
        let unit = try ResultsFile.read(path: out + ".work/unit-0.h5")
        #expect(string(unit, "run_momentum") == "0.8")
        #expect(string(unit, "run_weight_decay") == "0.0001")
        #expect(string(unit, "run_nesterov") == "true")
        #expect(string(unit, "run_augment") == "false")
        let res = try ResultsFile.read(path: out)
        #expect(res.attributes["momentum"] == .double(Double(Float(0.8))))
        #expect(res.attributes["weight_decay"] == .double(Double(Float(0.0001))))
        #expect(res.attributes["nesterov"] == .int(1) && res.attributes["augment"] == .int(0))

        // The same run with FAT's default momentum is another run: its units are refused.
        let other = try runFapsim(args(f, out: out, settings: ["--weight-decay", "0.0001", "--nesterov", "--no-augment"]) + ["--list-units", "--json"])
        #expect(other.status != 0)
        #expect(other.stderr.contains("momentum: this unit file is from a different run (momentum 0.8 there, 0.9 in this run)"), "\(other.stderr)")
        let augmented = try runFapsim(args(f, out: out, settings: ["--momentum", "0.8", "--weight-decay", "0.0001", "--nesterov"]) + ["--list-units"])
        #expect(augmented.status != 0 && augmented.stderr.contains("augment"), "\(augmented.stderr)")

        // reduce takes the resilience file's settings when not given ...
        let campaign = f.dir.file("custom-campaign.h5")
        let reduce = ["reduce", "--weights", f.weights, "--lot", f.lot, "--resilience", out, "--target", "\(f.targets[0])",
                      "--policies", "max", "--data", F.cifar, "--out", campaign, "--quiet", "--seed", "9"]
        let c = try runFapsim(reduce + ["--units", "0"])
        #expect(c.status == 0, "\(c.stderr)")
        let chip = try ResultsFile.read(path: campaign + ".work/chip-0.h5")
        #expect(string(chip, "run_momentum") == "0.8" && string(chip, "run_augment") == "false")
        #expect(string(chip, "run_nesterov") == "true" && string(chip, "run_weight_decay") == "0.0001")
        #expect(string(chip, "run_train_subset") == "128" && string(chip, "run_batch") == "64")
        // ... and an explicit value overrides it, which makes it another run.
        let overridden = try runFapsim(reduce + ["--augment", "--list-units"])
        #expect(overridden.status != 0 && overridden.stderr.contains("augment: this unit file is from a different run (augment false there, true in this run)"), "\(overridden.stderr)")
    }

    @Test func badSettingsAreOneLineErrorsNamingTheOption() throws {
        let f = try F.get()
        let out = f.dir.file("bad-settings.h5")
        for (extra, expected) in [(["--momentum", "1.5"], "--momentum"), (["--weight-decay=-1"], "--weight-decay"),
                                  (["--schedule", "linear"], "--schedule")] {
            let r = try runFapsim(args(f, out: out, settings: extra))
            #expect(r.status != 0)
            #expect(r.stderr.contains(expected), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(!FileManager.default.fileExists(atPath: out + ".work"))
    }
}
