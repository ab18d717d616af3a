import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import FapsimTestSupport
@testable import Reduce

/// Parses report.html as XML (ReportHTML keeps it well-formed) and collects
/// the structure the tests check.
final class HTMLScan: NSObject, XMLParserDelegate {
    var elements: [String] = []
    /// Open elements, to know what a figure holds.
    private var stack: [String] = []
    var ids: [String] = []
    /// Each <figure>: its data-figure name, id, the count of SVG elements in it (the <svg> included) and its caption.
    var figures: [(name: String, id: String, svgElements: Int, caption: String)] = []
    var clipReferences: [String] = []
    var headerCells: [String] = []
    var title = ""
    var text = ""
    private var inFigure = false
    private var svgDepthCount = 0
    private var caption = ""
    private var current = ""

    static func parse(_ html: String) -> (ok: Bool, scan: HTMLScan, error: String) {
        let scan = HTMLScan()
        let parser = XMLParser(data: Data(html.utf8))
        parser.delegate = scan
        let ok = parser.parse()
        return (ok, scan, parser.parserError.map { "\($0)" } ?? "")
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(name)
        stack.append(name)
        current = ""
        if let id = attributes["id"] { ids.append(id) }
        if let clip = attributes["clip-path"] { clipReferences.append(clip) }
        if name == "figure" {
            inFigure = true
            svgDepthCount = 0
            caption = ""
            figures.append((attributes["data-figure"] ?? "", attributes["id"] ?? "", 0, ""))
        } else if inFigure && stack.contains("svg") {
            svgDepthCount += 1
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        current += string
        text += string
        if stack.contains("figcaption") { caption += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "title" { title = current }
        if name == "th" { headerCells.append(current) }
        if name == "figure" {
            inFigure = false
            figures[figures.count - 1].svgElements = svgDepthCount
            figures[figures.count - 1].caption = caption
        }
        stack.removeLast()
        current = ""
    }
}

struct ReportHTMLTests {
    func fullReport() throws -> [(name: String, text: String)] {
        ReduceReport.render(resilience: try ResilienceFixture.table(), campaign: try CampaignFixture.results(), baseline: 0.9)
    }

    @Test func pageIsWellFormedWithEveryFigureInline() throws {
        let files = try fullReport()
        #expect(files.map(\.name).suffix(2) == ["report.html", "report.md"])
        let html = try #require(files.first { $0.name == "report.html" }).text
        let (ok, scan, error) = HTMLScan.parse(html)
        #expect(ok, "report.html is not well-formed: \(error)")
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html"))
        #expect(scan.elements.first == "html")
        for once in ["head", "body", "title", "style", "main"] { #expect(scan.elements.filter { $0 == once }.count == 1, "\(once)") }
        #expect(scan.title == "Reduce report")
        // One <figure> per SVG file, in report.md's order, each holding that SVG's drawing and its caption.
        let svgs = files.filter { $0.name.hasSuffix(".svg") }
        #expect(scan.figures.map(\.name) == svgs.map(\.name))
        for (f, svg) in zip(scan.figures, svgs) {
            #expect(f.id == ReportHTML.figureID(svg.name))
            let inFile = SVGScan.parse(svg.text).scan.elementCount
            // The figure holds every element of the SVG file, its root included.
            #expect(f.svgElements == inFile, "\(svg.name): \(f.svgElements) elements inline, \(inFile) in the file")
            #expect(f.caption.hasPrefix("Fig. "), "\(svg.name) caption: \(f.caption)")
        }
        // The captions moved into the figures, not left as paragraphs too.
        #expect(html.components(separatedBy: "Fig. 2a: test accuracy after FAP alone").count == 2)
        // Ids unique in the page, and every clip path points at one of them.
        #expect(Set(scan.ids).count == scan.ids.count, "duplicate ids: \(scan.ids.filter { id in scan.ids.filter { $0 == id }.count > 1 })")
        #expect(!scan.clipReferences.isEmpty)
        for ref in scan.clipReferences {
            let id = ref.replacingOccurrences(of: "url(#", with: "").replacingOccurrences(of: ")", with: "")
            #expect(scan.ids.contains(id), "\(ref) points at no element")
        }
        // Tables are HTML tables: the inputs, epochs-needed and campaign summary headers.
        #expect(scan.elements.filter { $0 == "table" }.count == 3)
        for h in ["Input", "Value", "Fault rate", "target 80%", "Policy", "Mean final accuracy"] { #expect(scan.headerCells.contains(h), "\(h)") }
        #expect(html.contains("<td>30%</td><td>2 / - / - (reached 2/3)</td>"))
        #expect(html.contains("<code>0123456789abcdef</code>"))
    }

    @Test func pageNeedsNothingBesideIt() throws {
        let html = try #require(try fullReport().first { $0.name == "report.html" }).text
        for outside in ["<script", "<link", "<img", "<iframe", "src=", "@import", "url(http", "href=\"http"] {
            #expect(!html.contains(outside), "report.html contains \(outside)")
        }
        // No Markdown left over where the page should have markup.
        #expect(!html.contains("![") && !html.contains("|---|") && !html.contains("<?xml"))
    }

    @Test func textFromInputFilesIsEscaped() throws {
        var p = ResilienceFixture.provenance
        p.configName = "<b onclick=\"x()\">big</b> & 'co'"
        p.weightsFile = "w</td><script>alert(1)</script>.h5"
        let base = try ResilienceFixture.table()
        let t = try ResilienceTable(rates: base.rates, repeats: base.repeats, epochs: base.epochs, accuracy: base.accuracy,
                                    targets: base.targets, provenance: p)
        let html = try #require(ReduceReport.render(resilience: t).first { $0.name == "report.html" }).text
        let (ok, scan, error) = HTMLScan.parse(html)
        #expect(ok, "\(error)")
        #expect(!scan.elements.contains("script") && !scan.elements.contains("b"))
        #expect(html.contains("&lt;b onclick=&quot;x()&quot;&gt;big&lt;/b&gt; &amp; &apos;co&apos;"))
        #expect(scan.text.contains("w</td><script>alert(1)</script>.h5"))
    }

    @Test func inlineMarkdown() {
        #expect(ReportHTML.inline("a *b* **c** `d<e*f` g") == "a <em>b</em> <strong>c</strong> <code>d&lt;e*f</code> g")
        // Marks without their partner, or a lone "*" between spaces, are text.
        #expect(ReportHTML.inline("2 * 3 and `open") == "2 * 3 and `open")
        #expect(ReportHTML.inline("**Better: pe** then <b> & more") == "<strong>Better: pe</strong> then &lt;b&gt; &amp; more")
    }

    @Test func figureLinkWithoutItsSVGIsMarkedMissing() {
        let html = ReportHTML.render(markdown: "# R\n\n![Fig. 9](fig9.svg)\n\n*Fig. 9: gone.*\n", figures: [:])
        let (ok, scan, _) = HTMLScan.parse(html)
        #expect(ok)
        #expect(scan.figures.map(\.name) == ["fig9.svg"] && scan.figures[0].svgElements == 0)
        #expect(html.contains("class=\"missing\"") && html.contains("Figure fig9.svg is missing."))
    }

    @Test func writtenBesideReportMdAndNotOverwrittenWithoutForce() throws {
        let dir = try TemporaryDirectory()
        let out = dir.file("report")
        try ReduceReport.write(resilience: try ResilienceFixture.table(), to: out, force: false)
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(html == ReduceReport.render(resilience: try ResilienceFixture.table()).first { $0.name == "report.html" }?.text)
        // A directory holding only a report.html is still a report: refused without --force.
        try FileManager.default.removeItem(atPath: out + "/report.md")
        let refused = errorMessage { try ReduceReport.write(resilience: try ResilienceFixture.table(), to: out, force: false) }
        #expect(refused?.contains("report.html: already exists; pass --force") == true)
        try ReduceReport.write(resilience: try ResilienceFixture.table(), to: out, force: true)
        #expect(FileManager.default.fileExists(atPath: out + "/report.md"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).allSatisfy { !$0.hasPrefix(".") })
    }
}
