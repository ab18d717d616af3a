import Foundation

/// `report.html`: the same report as `report.md`, as one self-contained page a
/// browser opens with nothing beside it. The page is built from report.md's
/// Markdown, so the two never say different things; every `![...](NAME.svg)`
/// becomes that figure's SVG inline, with the caption line under it as the
/// figure's caption. No scripts, no external style sheets, fonts or images.
///
/// Only the Markdown the report writers produce is understood: `#`/`##`
/// headings, pipe tables (header row, `|---|` rule, body rows), image lines,
/// paragraphs, and inline `code`, **bold** and *italic*. Everything else is
/// text. All text is HTML-escaped, so names from input files (weights paths,
/// config and policy names) cannot inject markup.
///
/// The page is also well-formed XML (every element closed, no HTML-only
/// entities), so it can be checked with an XML parser.
public enum ReportHTML {
    public static let fileName = "report.html"

    /// Renders the page. `figures`: SVG documents by file name, as linked from
    /// `markdown`; an image line whose name is not in `figures` becomes a
    /// figure marked missing, visibly, rather than a broken image.
    public static func render(markdown: String, figures: [String: String]) -> String {
        let lines = markdown.components(separatedBy: "\n")
        var body = ""
        var title = "Reduce report"
        var paragraph: [String] = []
        var i = 0

        func flushParagraph() {
            guard !paragraph.isEmpty else { return }
            body += "<p>" + inline(paragraph.joined(separator: " ")) + "</p>\n"
            paragraph = []
        }

        while i < lines.count {
            let line = lines[i].trimmingCharacters(in: .whitespaces)
            if line.isEmpty {
                flushParagraph()
                i += 1
            } else if let (level, text) = heading(line) {
                flushParagraph()
                if level == 1 { title = text }
                body += "<h\(level) id=\"\(escape(anchor(text)))\">\(inline(text))</h\(level)>\n"
                i += 1
            } else if line.hasPrefix("|") {
                flushParagraph()
                var rows: [String] = []
                while i < lines.count, lines[i].trimmingCharacters(in: .whitespaces).hasPrefix("|") {
                    rows.append(lines[i].trimmingCharacters(in: .whitespaces))
                    i += 1
                }
                body += table(rows)
            } else if let (alt, name) = image(line) {
                flushParagraph()
                i += 1
                // The caption is the next paragraph when it is one italic line ("*Fig. ...*").
                var j = i
                while j < lines.count, lines[j].trimmingCharacters(in: .whitespaces).isEmpty { j += 1 }
                var caption: String?
                if j < lines.count, let c = italicLine(lines[j].trimmingCharacters(in: .whitespaces)) {
                    caption = c
                    i = j + 1
                }
                body += figure(alt: alt, name: name, svg: figures[name], caption: caption)
            } else {
                paragraph.append(line)
                i += 1
            }
        }
        flushParagraph()
        return """
        <!DOCTYPE html>
        <html lang="en" xmlns="http://www.w3.org/1999/xhtml">
        <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>\(escape(title))</title>
        <style>
        \(style)</style>
        </head>
        <body>
        <main>
        \(body)</main>
        </body>
        </html>

        """
    }

    /// Kept short and system-font only: no web fonts to fetch.
    static let style = """
    body { font-family: Helvetica, Arial, sans-serif; color: #222; background: #fff; margin: 0; }
    main { max-width: 1100px; margin: 0 auto; padding: 1.5em 2em 3em; line-height: 1.45; }
    h1 { font-size: 1.8em; margin-top: 0.2em; }
    h2 { font-size: 1.35em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
    table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
    th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
    th { background: #f2f2f2; }
    tbody tr:nth-child(even) { background: #fafafa; }
    code { font-family: Menlo, Consolas, monospace; font-size: 0.92em; background: #f4f4f4; padding: 0 0.2em; }
    figure { margin: 1.5em 0; }
    figure svg { display: block; max-width: 100%; height: auto; }
    figcaption { font-size: 0.92em; color: #444; margin-top: 0.4em; max-width: 900px; }
    figure.missing { border: 1px dashed #c00; padding: 1em; color: #c00; }

    """

    /// Escapes text for element content and attribute values. `&apos;` is XML
    /// and HTML5 alike, so the page stays parseable as both.
    public static func escape(_ s: String) -> String { SVGText.escape(s) }

    /// "## Step 1: resilience" -> (2, "Step 1: resilience"); only levels 1-3.
    static func heading(_ line: String) -> (Int, String)? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...3).contains(hashes), line.dropFirst(hashes).first == " " else { return nil }
        return (hashes, line.dropFirst(hashes + 1).trimmingCharacters(in: .whitespaces))
    }

    /// A heading's id: lower case, letters and digits, the rest as dashes.
    static func anchor(_ text: String) -> String {
        var s = ""
        for c in text.lowercased() {
            if c.isASCII && (c.isLetter || c.isNumber) { s.append(c) } else if !s.hasSuffix("-") { s.append("-") }
        }
        return String(s.trimmingCharacters(in: CharacterSet(charactersIn: "-")))
    }

    /// "![alt](name)" alone on a line.
    static func image(_ line: String) -> (alt: String, name: String)? {
        guard line.hasPrefix("!["), line.hasSuffix(")"), let mid = line.range(of: "](") else { return nil }
        let alt = String(line[line.index(line.startIndex, offsetBy: 2)..<mid.lowerBound])
        let name = String(line[mid.upperBound..<line.index(before: line.endIndex)])
        guard !name.isEmpty, !name.contains(" ") else { return nil }
        return (alt, name)
    }

    /// "*text*" (but not "**text**") -> "text".
    static func italicLine(_ line: String) -> String? {
        guard line.count >= 2, line.hasPrefix("*"), line.hasSuffix("*"), !line.hasPrefix("**") else { return nil }
        return String(line.dropFirst().dropLast())
    }

    /// A figure's element id, from its file name: "figure-fig2a-accuracy-vs-epochs".
    public static func figureID(_ name: String) -> String {
        "figure-" + anchor((name as NSString).deletingPathExtension)
    }

    static func figure(alt: String, name: String, svg: String?, caption: String?) -> String {
        let id = figureID(name)
        var s: String
        if let svg {
            s = "<figure id=\"\(escape(id))\" data-figure=\"\(escape(name))\">\n" + inlineSVG(svg, id: id, label: alt) + "\n"
        } else {
            // A report with a figure it cannot inline says so visibly instead of showing a broken image.
            s = "<figure id=\"\(escape(id))\" class=\"missing\" data-figure=\"\(escape(name))\">\n"
                + "<p>Figure \(escape(name)) is missing.</p>\n"
        }
        if let caption { s += "<figcaption>\(inline(caption))</figcaption>\n" }
        return s + "</figure>\n"
    }

    /// An SVG document as an element of the page: the XML declaration dropped,
    /// its ids made unique in the page (every figure numbers its clip paths
    /// from 0, and a clip-path reference resolves to the first element with
    /// that id in the whole page), and an accessible name.
    static func inlineSVG(_ svg: String, id: String, label: String) -> String {
        var s = svg.trimmingCharacters(in: .whitespacesAndNewlines)
        if s.hasPrefix("<?xml"), let end = s.range(of: "?>") {
            s = String(s[end.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        s = s.replacingOccurrences(of: SVGPlotArea.clipPrefix, with: SVGPlotArea.clipPrefix + id + "-")
        if s.hasPrefix("<svg ") {
            s = "<svg role=\"img\" aria-label=\"\(escape(label))\" " + s.dropFirst("<svg ".count)
        }
        return s
    }

    /// A pipe table: first row the header, a `|---|` rule, then the body.
    static func table(_ rows: [String]) -> String {
        func cells(_ row: String) -> [String] {
            var r = row
            if r.hasPrefix("|") { r.removeFirst() }
            if r.hasSuffix("|") { r.removeLast() }
            return r.components(separatedBy: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        func isRule(_ row: String) -> Bool {
            cells(row).allSatisfy { c in !c.isEmpty && c.allSatisfy { $0 == "-" || $0 == ":" } }
        }
        var s = "<table>\n"
        var rest = rows[...]
        if rows.count >= 2, isRule(rows[1]) {
            s += "<thead><tr>" + cells(rows[0]).map { "<th>\(inline($0))</th>" }.joined() + "</tr></thead>\n"
            rest = rows.dropFirst(2)
        }
        s += "<tbody>\n"
        for row in rest where !isRule(row) {
            s += "<tr>" + cells(row).map { "<td>\(inline($0))</td>" }.joined() + "</tr>\n"
        }
        return s + "</tbody>\n</table>\n"
    }

    /// Inline Markdown: `code` (taken literally), **bold**, *italic*; the rest
    /// escaped. An opening mark without its closing one is plain text.
    static func inline(_ text: String) -> String {
        let c = Array(text)
        var out = ""
        var i = 0
        func find(_ mark: [Character], from: Int) -> Int? {
            var j = from
            while j + mark.count <= c.count {
                if Array(c[j..<(j + mark.count)]) == mark { return j }
                j += 1
            }
            return nil
        }
        while i < c.count {
            if c[i] == "`", let end = find(["`"], from: i + 1) {
                out += "<code>" + escape(String(c[(i + 1)..<end])) + "</code>"
                i = end + 1
            } else if c[i] == "*", i + 1 < c.count, c[i + 1] == "*", let end = find(["*", "*"], from: i + 2), end > i + 2 {
                out += "<strong>" + inline(String(c[(i + 2)..<end])) + "</strong>"
                i = end + 2
            } else if c[i] == "*", i + 1 < c.count, c[i + 1] != " ", let end = find(["*"], from: i + 1), end > i + 1 {
                out += "<em>" + inline(String(c[(i + 1)..<end])) + "</em>"
                i = end + 1
            } else {
                out += escape(String(c[i]))
                i += 1
            }
        }
        return out
    }
}
