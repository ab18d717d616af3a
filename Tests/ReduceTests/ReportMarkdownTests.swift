import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Reduce

struct ReportMarkdownTests {
    /// Image links `![...](NAME)` in a Markdown text.
    func imageLinks(_ md: String) -> [String] {
        md.components(separatedBy: "](").dropFirst().compactMap { $0.split(separator: ")").first.map(String.init) }
            .filter { $0.hasSuffix(".svg") }
    }

    @Test func reportReferencesEveryFigureAndWritesThem() throws {
        let dir = try TemporaryDirectory()
        let out = dir.file("report")
        try ReduceReport.write(resilience: try ResilienceFixture.table(), campaign: try CampaignFixture.results(), to: out, force: false)
        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        let svgs = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".svg") }.sorted()
        #expect(svgs == ["fig2a-accuracy-vs-epochs.svg", "fig2b-epochs-needed.svg", "fig3a-max.svg", "fig3b-mean.svg",
                         "fig3c-fixed-1.svg", "fig3f-summary.svg"])
        #expect(imageLinks(md).sorted() == svgs)
        for name in svgs {
            let svg = try String(contentsOfFile: out + "/" + name, encoding: .utf8)
            #expect(SVGScan.parse(svg).ok, "\(name) is not well-formed XML")
        }
        for caption in ["Fig. 2a", "Fig. 2b", "Fig. 3a", "Fig. 3b", "Fig. 3c", "Fig. 3f"] { #expect(md.contains(caption)) }
        // The tables: epochs needed (rate 0.3, target 80%: 2 / - / -) and the per-policy summary.
        #expect(md.contains("| 30% | 2 / - / - (reached 2/3) |"))
        #expect(md.contains("| 20% | 1 / 2.00 / 3 (reached 3/3) |"))
        #expect(md.contains("| mean | 4 | 3 | - | - | 9 |"))
        #expect(md.contains("0123456789abcdef"))
        // No temporary files left behind; refuses to overwrite without force.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).allSatisfy { !$0.hasPrefix(".") })
        #expect(errorMessage { try ReduceReport.write(resilience: try ResilienceFixture.table(), to: out, force: false) }?.contains("--force") == true)
    }

    @Test func reportWithoutCampaignHasOnlyStep1Figures() throws {
        let files = ReduceReport.render(resilience: try ResilienceFixture.table())
        #expect(files.map(\.name) == ["fig2a-accuracy-vs-epochs.svg", "fig2b-epochs-needed.svg", "report.html", "report.md"])
        let md = files.last!.text
        #expect(imageLinks(md) == ["fig2a-accuracy-vs-epochs.svg", "fig2b-epochs-needed.svg"])
        #expect(md.contains("No campaign results"))
    }
}
