import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Reduce

/// Parses an SVG with Foundation's XML parser and collects what the tests check.
final class SVGScan: NSObject, XMLParserDelegate {
    var root: String?
    var series: [String] = []
    var seriesKinds: [String: String] = [:]
    var texts: [String] = []
    var elementCount = 0
    private var text = ""

    static func parse(_ svg: String) -> (ok: Bool, scan: SVGScan, error: String) {
        let scan = SVGScan()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = scan
        let ok = parser.parse()
        return (ok, scan, parser.parserError.map { "\($0)" } ?? "")
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if root == nil { root = name }
        elementCount += 1
        text = ""
        if let s = attributes["data-series"] {
            series.append(s)
            seriesKinds[s] = attributes["class"]
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" { texts.append(text) }
        text = ""
    }
}

struct ReportSVGTests {
    @Test func fig2aHasOneLineAndBandPerRateAndTargetLines() throws {
        let (ok, scan, error) = SVGScan.parse(ReduceFigures.accuracyVsEpochs(try ResilienceFixture.table()).render())
        #expect(ok, "\(error)")
        #expect(scan.root == "svg")
        for rate in ["10%", "20%", "30%", "40%"] {
            #expect(scan.seriesKinds["rate " + rate] == "series line")
            #expect(scan.seriesKinds["rate \(rate) min-max"] == "series band")
        }
        #expect(scan.seriesKinds["target 80%"] == "series hline" && scan.seriesKinds["target 90%"] == "series hline")
        // Epoch ticks 0...4 and the axis labels.
        for t in ["0", "1", "2", "3", "4", "FAT epochs (0 = FAP only)", "Test accuracy (%)"] { #expect(scan.texts.contains(t)) }
        // Each target has its own dash pattern, in the plot and in its legend swatch,
        // so the legend tells the targets apart.
        let svg = ReduceFigures.accuracyVsEpochs(try ResilienceFixture.table()).render()
        for (target, dash) in [("80%", SVGText.dash(0)), ("90%", SVGText.dash(1))] {
            let group = try #require(svg.components(separatedBy: "data-series=\"target \(target)\"").dropFirst().first)
            #expect(group.prefix(300).contains("stroke-dasharray=\"\(dash)\""), "target \(target)")
            let entry = try #require(svg.components(separatedBy: ">target \(target)</text>").first?.suffix(400))
            #expect(entry.contains("stroke-dasharray=\"\(dash)\""), "legend swatch of target \(target)")
        }
        #expect(SVGText.dash(0) != SVGText.dash(1))
        // Legend lists the rates, not the bands.
        #expect(scan.texts.contains("rate 10%") && !scan.texts.contains("rate 10% min-max"))
    }

    @Test func fig2bMarksUnreachedRates() throws {
        let (ok, scan, error) = SVGScan.parse(ReduceFigures.epochsNeeded(try ResilienceFixture.table()).render())
        #expect(ok, "\(error)")
        #expect(scan.seriesKinds["target 80%"] == "series errorbars")
        #expect(scan.seriesKinds["target 80% unreached"] == "series scatter")
        #expect(scan.seriesKinds["target 90% unreached"] == "series scatter")
        #expect(scan.texts.contains("> 4"))
    }

    @Test func fig3PerPolicyAndSummary() throws {
        let r = try CampaignFixture.results()
        let (ok, scan, error) = SVGScan.parse(ReduceFigures.perChip(r, policy: "mean").render())
        #expect(ok, "\(error)")
        #expect(Set(scan.series) == ["meets constraint", "misses constraint", "constraint 80%"])
        let panels = SVGScan.parse(SVGText.panels(ReduceFigures.summary(r)))
        #expect(panels.ok, "\(panels.error)")
        #expect(panels.scan.series == ["chips meeting 80%", "total epochs"])
        for label in ["max", "mean", "fixed-1", "12", "9", "4"] { #expect(panels.scan.texts.contains(label), "missing \(label)") }
    }

    @Test func textIsEscaped() {
        var c = SVGChart(title: "a < b & \"c\"", xLabel: "x", yLabel: "y", xDomain: 0...1, yDomain: 0...1)
        c.marks = [.line(name: "<&>", color: "#000", points: [SVGPoint(0, 0), SVGPoint(1, .nan)], dashed: true, markers: true)]
        let (ok, scan, error) = SVGScan.parse(c.render())
        #expect(ok, "\(error)")
        #expect(scan.texts.contains("a < b & \"c\"") && scan.series == ["<&>"])
    }

    @Test func degenerateDomainsStillRender() throws {
        // One rate, zero epochs, one repeat: a single point per axis.
        var t = try ResilienceFixture.table()
        t.rates = [0.1]; t.epochs = 0; t.repeats = 1; t.accuracy = [[[0.9]]]
        for svg in [ReduceFigures.accuracyVsEpochs(t).render(), ReduceFigures.epochsNeeded(t).render()] {
            let (ok, _, error) = SVGScan.parse(svg)
            #expect(ok, "\(error)")
            #expect(!svg.contains("nan") && !svg.contains("inf"))
        }
    }

    @Test func niceTicks() {
        #expect(SVGText.niceTicks(0...1).map(\.1) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(SVGText.niceTicks(60...90).map(\.1) == ["60", "70", "80", "90"])
        #expect(SVGText.niceTicks(0...0.4).map(\.1) == ["0.0", "0.1", "0.2", "0.3", "0.4"])
    }
}
