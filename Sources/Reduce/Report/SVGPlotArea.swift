import Foundation

/// Geometry of one chart: maps data to pixels and draws axes, marks and legend.
struct SVGPlotArea {
    static let clipPrefix = "plot-clip-"
    let chart: SVGChart
    let left = 70.0, top = 40.0, bottom = 55.0
    let right: Double

    init(chart: SVGChart, legendWidth: Double) {
        self.chart = chart
        right = 20 + legendWidth
    }

    var clipID: String { Self.clipPrefix + "0" }
    var plotWidth: Double { chart.width - left - right }
    var plotHeight: Double { chart.height - top - bottom }

    func px(_ x: Double) -> Double {
        left + (x - chart.xDomain.lowerBound) / (chart.xDomain.upperBound - chart.xDomain.lowerBound) * plotWidth
    }

    func py(_ y: Double) -> Double {
        top + plotHeight - (y - chart.yDomain.lowerBound) / (chart.yDomain.upperBound - chart.yDomain.lowerBound) * plotHeight
    }

    func axes() -> String {
        let x0 = left, x1 = left + plotWidth, y0 = top + plotHeight, y1 = top
        var s = "<defs><clipPath id=\"\(clipID)\"><rect x=\"\(f(x0))\" y=\"\(f(y1 - 4))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight + 8))\"/></clipPath></defs>\n"
        s += "<g class=\"axes\" stroke=\"#333\" stroke-width=\"1\" font-size=\"11\">\n"
        for (v, label) in chart.xTicks ?? SVGText.niceTicks(chart.xDomain) where chart.xDomain.contains(v) {
            let x = px(v)
            s += "<line x1=\"\(f(x))\" y1=\"\(f(y0))\" x2=\"\(f(x))\" y2=\"\(f(y0 + 5))\"/>"
            s += "<text class=\"tick\" x=\"\(f(x))\" y=\"\(f(y0 + 18))\" text-anchor=\"middle\" stroke=\"none\">\(SVGText.escape(label))</text>\n"
        }
        for (v, label) in chart.yTicks ?? SVGText.niceTicks(chart.yDomain) where chart.yDomain.contains(v) {
            let y = py(v)
            s += "<line x1=\"\(f(x0))\" y1=\"\(f(y))\" x2=\"\(f(x1))\" y2=\"\(f(y))\" stroke=\"#e5e5e5\"/>"
            s += "<line x1=\"\(f(x0 - 5))\" y1=\"\(f(y))\" x2=\"\(f(x0))\" y2=\"\(f(y))\"/>"
            s += "<text class=\"tick\" x=\"\(f(x0 - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\" stroke=\"none\">\(SVGText.escape(label))</text>\n"
        }
        s += "<line x1=\"\(f(x0))\" y1=\"\(f(y0))\" x2=\"\(f(x1))\" y2=\"\(f(y0))\"/>"
        s += "<line x1=\"\(f(x0))\" y1=\"\(f(y0))\" x2=\"\(f(x0))\" y2=\"\(f(y1))\"/>\n"
        s += "<text class=\"xlabel\" x=\"\(f(left + plotWidth / 2))\" y=\"\(f(chart.height - 12))\" text-anchor=\"middle\" stroke=\"none\" font-size=\"13\">\(SVGText.escape(chart.xLabel))</text>\n"
        let cy = top + plotHeight / 2
        s += "<text class=\"ylabel\" x=\"18\" y=\"\(f(cy))\" transform=\"rotate(-90 18 \(f(cy)))\" text-anchor=\"middle\" stroke=\"none\" font-size=\"13\">\(SVGText.escape(chart.yLabel))</text>\n"
        return s + "</g>\n"
    }

    private func open(_ name: String, _ kind: String) -> String {
        "<g class=\"series \(kind)\" data-series=\"\(SVGText.escape(name))\">\n"
    }

    /// Drops points with a non-finite coordinate (unknown values are not drawn).
    private func finite(_ p: SVGPoint) -> Bool { p.x.isFinite && p.y.isFinite }

    func render(_ mark: SVGChart.Mark) -> String {
        switch mark {
        case .line(let name, let color, let points, let dashed, let markers):
            let pts = points.filter(finite)
            var s = open(name, "line")
            let d = pts.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            s += "<polyline points=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            if markers { for p in pts { s += marker(.circle, p, color, radius: 3) } }
            return s + "</g>\n"
        case .band(let name, let color, let x, let low, let high):
            let upper = zip(x, high).map { SVGPoint($0, $1) }.filter(finite)
            let lower = zip(x, low).map { SVGPoint($0, $1) }.filter(finite).reversed()
            let d = (upper + lower).map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            return open(name, "band") + "<polygon points=\"\(d)\" fill=\"\(color)\" fill-opacity=\"0.18\" stroke=\"none\"/>\n</g>\n"
        case .errorBars(let name, let color, let x, let low, let mid, let high):
            var s = open(name, "errorbars")
            for i in x.indices {
                let cx = px(x[i])
                if low[i].isFinite && high[i].isFinite {
                    let (a, b) = (py(low[i]), py(high[i]))
                    s += "<line x1=\"\(f(cx))\" y1=\"\(f(a))\" x2=\"\(f(cx))\" y2=\"\(f(b))\" stroke=\"\(color)\" stroke-width=\"1.5\"/>"
                    s += "<line x1=\"\(f(cx - 5))\" y1=\"\(f(a))\" x2=\"\(f(cx + 5))\" y2=\"\(f(a))\" stroke=\"\(color)\" stroke-width=\"1.5\"/>"
                    s += "<line x1=\"\(f(cx - 5))\" y1=\"\(f(b))\" x2=\"\(f(cx + 5))\" y2=\"\(f(b))\" stroke=\"\(color)\" stroke-width=\"1.5\"/>\n"
                }
                if mid[i].isFinite { s += marker(.square, SVGPoint(x[i], mid[i]), color, radius: 3.5) }
            }
            return s + "</g>\n"
        case .scatter(let name, let color, let points, let shape):
            return open(name, "scatter") + points.filter(finite).map { marker(shape, $0, color, radius: 4) }.joined() + "</g>\n"
        case .bars(let name, let color, let x, let heights, let width):
            var s = open(name, "bars")
            for (xi, h) in zip(x, heights) where xi.isFinite && h.isFinite {
                let x0 = px(xi - width / 2), x1 = px(xi + width / 2), y0 = py(0), y1 = py(h)
                s += "<rect x=\"\(f(x0))\" y=\"\(f(min(y0, y1)))\" width=\"\(f(x1 - x0))\" height=\"\(f(abs(y0 - y1)))\" fill=\"\(color)\"/>"
                s += "<text x=\"\(f((x0 + x1) / 2))\" y=\"\(f(min(y0, y1) - 4))\" text-anchor=\"middle\" font-size=\"11\">\(SVGText.escape(SVGText.label(h, step: h == h.rounded() ? 1 : 0.01)))</text>\n"
            }
            return s + "</g>\n"
        case .hline(let name, let color, let y, let dash):
            let yy = py(y)
            return open(name, "hline") + "<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(yy))\" stroke=\"\(color)\" stroke-width=\"1.5\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>\n</g>\n"
        }
    }

    func marker(_ shape: SVGChart.Marker, _ p: SVGPoint, _ color: String, radius r: Double) -> String {
        markerAt(shape, px(p.x), py(p.y), color, radius: r)
    }

    /// A marker centred on pixel (x, y).
    func markerAt(_ shape: SVGChart.Marker, _ x: Double, _ y: Double, _ color: String, radius r: Double) -> String {
        switch shape {
        case .circle:
            return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" fill=\"\(color)\"/>"
        case .square:
            return "<rect x=\"\(f(x - r))\" y=\"\(f(y - r))\" width=\"\(f(2 * r))\" height=\"\(f(2 * r))\" fill=\"\(color)\"/>"
        case .ring:
            return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r * 1.9))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.3\"/>"
        case .triangle:
            return "<polygon points=\"\(f(x)),\(f(y - r * 1.2)) \(f(x - r)),\(f(y + r * 0.8)) \(f(x + r)),\(f(y + r * 0.8))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"/>"
        }
    }

    /// One row per series at the right of the plot, with a swatch of its kind.
    func legend(_ entries: [(String, String, SVGChart.Mark)]) -> String {
        guard !entries.isEmpty else { return "" }
        let x = left + plotWidth + 14
        var s = "<g class=\"legend\" font-size=\"11\">\n"
        for (i, (name, color, mark)) in entries.enumerated() {
            let y = top + 8 + Double(i) * 18
            s += "<g class=\"legend-entry\">"
            switch mark {
            case .band: s += "<rect x=\"\(f(x))\" y=\"\(f(y - 6))\" width=\"18\" height=\"12\" fill=\"\(color)\" fill-opacity=\"0.25\"/>"
            case .scatter(_, _, _, let shape): s += markerAt(shape, x + 9, y, color, radius: 4)
            case .bars: s += "<rect x=\"\(f(x))\" y=\"\(f(y - 6))\" width=\"18\" height=\"12\" fill=\"\(color)\"/>"
            case .hline, .line:
                // The legend's swatch carries the rule's dash, so dashed targets stay apart there.
                let dash: String?
                switch mark {
                case .hline(_, _, _, let d): dash = d
                case .line(_, _, _, let dashed, _): dash = dashed ? "6 4" : nil
                default: dash = nil
                }
                s += "<line x1=\"\(f(x))\" y1=\"\(f(y))\" x2=\"\(f(x + 18))\" y2=\"\(f(y))\" stroke=\"\(color)\" stroke-width=\"2\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>"
            default: s += "<line x1=\"\(f(x))\" y1=\"\(f(y))\" x2=\"\(f(x + 18))\" y2=\"\(f(y))\" stroke=\"\(color)\" stroke-width=\"2\"/>"
            }
            s += "<text x=\"\(f(x + 24))\" y=\"\(f(y + 4))\">\(SVGText.escape(name))</text></g>\n"
        }
        return s + "</g>\n"
    }
}
