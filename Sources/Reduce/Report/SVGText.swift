import Foundation

/// SVG document framing, XML escaping, tick choice and a colour palette.
public enum SVGText {
    /// Escapes text for element content and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }

    public static func document(width: Double, height: Double, body: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(f(width))" height="\(f(height))" \
        viewBox="0 0 \(f(width)) \(f(height))" font-family="Helvetica, Arial, sans-serif">
        \(body)</svg>

        """
    }

    /// Charts side by side in one document (the report's two-panel figures).
    public static func panels(_ charts: [SVGChart]) -> String {
        var x = 0.0, body = ""
        for (i, c) in charts.enumerated() {
            // Clip-path ids must be unique in a document.
            let inner = c.body().replacingOccurrences(of: SVGPlotArea.clipPrefix, with: SVGPlotArea.clipPrefix + "p\(i)-")
            body += "<g class=\"panel\" transform=\"translate(\(f(x)),0)\">\n\(inner)</g>\n"
            x += c.width
        }
        return document(width: x, height: charts.map(\.height).max() ?? 0, body: body)
    }

    /// Tableau 10: distinguishable, colour-blind-aware, prints in grey.
    public static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                 "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

    public static func color(_ i: Int) -> String { palette[i % palette.count] }

    /// Dash patterns (SVG stroke-dasharray) for rules of one colour that must stay
    /// apart in a legend, such as several accuracy targets: dashes, dots, dash-dot, long dashes.
    static let dashes = ["6 4", "2 3", "8 3 2 3", "12 4"]

    public static func dash(_ i: Int) -> String { dashes[i % dashes.count] }

    /// About `count` ticks at 1, 2 or 5 times a power of ten, inside `domain`.
    public static func niceTicks(_ domain: ClosedRange<Double>, count: Int = 6) -> [(Double, String)] {
        let span = domain.upperBound - domain.lowerBound
        guard span > 0, span.isFinite else { return [(domain.lowerBound, label(domain.lowerBound, step: 1))] }
        let raw = span / Double(max(1, count - 1))
        let power = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        var ticks: [(Double, String)] = []
        var v = (domain.lowerBound / step).rounded(.up) * step
        while v <= domain.upperBound + step * 1e-9 {
            ticks.append((v, label(v, step: step)))
            v += step
        }
        return ticks
    }

    /// Just enough decimals to tell ticks `step` apart.
    static func label(_ v: Double, step: Double) -> String {
        let decimals = max(0, Int((-log10(step)).rounded(.up)))
        let s = String(format: "%.\(decimals)f", abs(v) < step * 1e-9 ? 0 : v)
        return s
    }
}
