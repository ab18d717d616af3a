import Foundation
import Testing
import FapsimStore
import FapsimTestSupport

/// `fapsim campaign run` end to end through the built binary, on the tiny
/// width-1/16 weights of ReduceFixture and an 8x8 array: the campaign's files
/// equal the documented commands run by hand, a rerun redoes nothing, and a
/// changed or damaged campaign file is refused with one line.
@Suite(.serialized)
struct CampaignCLITests {
    typealias F = ReduceFixture

    static func yaml(out: String, weights: String, chips: Int = 4) -> String {
        """
        out: \(out)
        config: \(F.config)
        data: \(F.cifar)
        weights: {file: \(weights)}
        lot: {chips: \(chips), seed: 3, model: uniform, rate_range: [0.02, 0.35]}
        resilience: {rates: [0.05, 0.3], repeats: 1, epochs: 2}
        fat: {train_subset: 256, test_subset: 200, batch: 64, lr: 0.02, momentum: 0.8, augment: false}
        targets: {below_baseline: [0.1, 0.04], campaign_index: 2}
        reduce: {policies: [max, mean], fixed: [1]}
        seed: 5

        """
    }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test(.requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
    func campaignEqualsTheStepsByHandAndResumes() throws {
        let f = try F.get()
        let dir = try TemporaryDirectory(prefix: "fapsim-campaign")
        let out = dir.file("c")
        let spec = dir.file("c.yaml")
        try Self.yaml(out: out, weights: f.weights).write(toFile: spec, atomically: true, encoding: .utf8)
        let r = try runFapsim(["campaign", "run", spec])
        #expect(r.status == 0, "\(r.stderr)")
        // stdout is the result only; the steps' summaries and commands went to stderr.
        #expect(r.stdout == out + "/report/report.md\n")
        #expect(r.stderr.contains("campaign: [4/7"), "\(r.stderr)")
        #expect(r.stderr.contains("fapsim resilience --weights"))
        for name in ["lot.h5", "baseline.json", "resilience.h5", "budget.h5", "campaign.h5", "report/report.md", "campaign-spec.txt"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + name), "\(name)")
        }

        // The same steps by hand, with the targets the campaign derived.
        let baselineJSON = try #require(bytes(out + "/baseline.json"))
        let baseline = try #require(try JSONSerialization.jsonObject(with: baselineJSON) as? [String: Any])
        let b = try #require(baseline["accuracy"] as? Double)
        // b - d to 9 decimals, ascending; the campaign's constraint is 0.04 below each split's baseline.
        let targets = [0.1, 0.04].map { ((b - $0) * 1e9).rounded() / 1e9 }.sorted().map { "\($0)" }
        let hand = dir.file("hand")
        try FileManager.default.createDirectory(atPath: hand, withIntermediateDirectories: true)
        let fat = ["--train-subset", "256", "--test-subset", "200", "--lr", "0.02", "--batch", "64", "--data", F.cifar]
        var steps: [[String]] = [
            ["lot", "generate", "--config", F.config, "--chips", "4", "--seed", "3", "--model", "uniform",
             "--rate-range", "0.02:0.35", "--out", hand + "/lot.h5"],
            ["resilience", "--weights", f.weights, "--config", F.config, "--rates", "0.05,0.3", "--repeats", "1", "--epochs", "2",
             "--targets", targets.joined(separator: ","), "--seed", "5", "--out", hand + "/resilience.h5",
             "--momentum", "0.8", "--no-augment"] + fat,
        ]
        steps.append(["reduce", "--weights", f.weights, "--lot", hand + "/lot.h5", "--resilience", hand + "/resilience.h5",
                      "--below-baseline", "0.04", "--policies", "max,mean", "--fixed", "1", "--seed", "5", "--out", hand + "/campaign.h5"] + fat)
        for s in steps {
            let h = try runFapsim(s + ["--quiet"])
            #expect(h.status == 0, "\(s[0]): \(h.stderr)")
        }
        // (reduce by hand inherits momentum and augmentation from the resilience file.)
        // Byte-identical lots (no HDF5 timestamps), and equal results files
        // apart from the paths they record.
        #expect(bytes(out + "/lot.h5") == bytes(hand + "/lot.h5"))
        for name in ["resilience.h5", "campaign.h5"] {
            var x = try ResultsFile.read(path: out + "/" + name), y = try ResultsFile.read(path: hand + "/" + name)
            for k in ["weights_file", "lot_file", "resilience_file", "config_file", "data_dir", "fapsim_version"] {
                x.attributes[k] = nil
                y.attributes[k] = nil
            }
            try x.write(path: dir.file("x-" + name), force: false)
            try y.write(path: dir.file("y-" + name), force: false)
            #expect(try sameBits(dir.file("x-" + name), dir.file("y-" + name)), "\(name)")
        }

        // A rerun redoes nothing and rewrites none of the results.
        let before = ["resilience.h5", "campaign.h5", "lot.h5"].map { bytes(out + "/" + $0) }
        let again = try runFapsim(["campaign", "run", spec])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("campaign.h5 exists (finished earlier)"))
        #expect(!again.stderr.contains("fapsim resilience --weights"))
        #expect(["resilience.h5", "campaign.h5", "lot.h5"].map { bytes(out + "/" + $0) } == before)

        // A changed campaign in the same folder is refused, naming the field; --force starts over.
        try Self.yaml(out: out, weights: f.weights, chips: 5).write(toFile: spec, atomically: true, encoding: .utf8)
        let changed = try runFapsim(["campaign", "run", spec, "--quiet"])
        #expect(changed.status != 0)
        #expect(changed.stderr.hasPrefix("Error: \(spec): lot.chips: differs from the campaign already in \(out)"), "\(changed.stderr)")
        #expect(changed.stderr.split(separator: "\n").count == 1)
        #expect(bytes(out + "/campaign.h5") == before[1])
        let forced = try runFapsim(["campaign", "run", spec, "--quiet", "--force", "--json"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stderr.isEmpty, "--quiet: \(forced.stderr)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(forced.stdout.utf8)) as? [String: Any])
        #expect(j["report"] as? String == out + "/report/report.md")
        #expect(try ChipLotReader(path: out + "/lot.h5").info.chipCount == 5)
    }

    @Test func badCampaignFilesAreOneLine() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-campaign-bad")
        let spec = dir.file("bad.yaml")
        try Self.yaml(out: dir.file("o"), weights: "w.h5").replacingOccurrences(of: "repeats: 1", with: "repeat: 1")
            .write(toFile: spec, atomically: true, encoding: .utf8)
        let r = try runFapsim(["campaign", "run", spec])
        #expect(r.status != 0)
        #expect(r.stderr == "Error: \(spec): resilience.repeat: unknown field; expected one of rates, repeats, epochs, amounts\n")
        let missing = try runFapsim(["campaign", "run", dir.file("none.yaml")])
        #expect(missing.status != 0)
        #expect(missing.stderr == "Error: \(dir.file("none.yaml")): cannot read campaign file (missing or unreadable)\n")
        // A step's own error names the step's input.
        try Self.yaml(out: dir.file("o"), weights: dir.file("absent.h5")).write(toFile: spec, atomically: true, encoding: .utf8)
        let w = try runFapsim(["campaign", "run", spec, "--quiet"])
        #expect(w.status != 0)
        #expect(w.stderr.hasPrefix("Error: \(spec): weights.file: expected an existing weights file"), "\(w.stderr)")
        #expect(w.stderr.split(separator: "\n").count == 1)
    }
}
