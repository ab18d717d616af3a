import Foundation

/// A point in data coordinates.
public struct SVGPoint: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
}

/// A tiny, dependency-free 2-D chart rendered to SVG 1.1: axes with ticks and
/// labels, a title, a legend and a few kinds of marks. Enough for the Reduce
/// report's figures; every series is a `<g class="series" data-series="NAME">`
/// so tests (and readers of the file) can find it.
public struct SVGChart: Sendable {
    public enum Marker: String, Sendable {
        case circle, triangle, square
        /// An open circle drawn around a point, to mark points of another series.
        case ring
    }

    public enum Mark: Sendable {
        /// A polyline through `points` (x sorted by the caller), optionally with markers.
        case line(name: String, color: String, points: [SVGPoint], dashed: Bool, markers: Bool)
        /// A filled area between `low` and `high` over `x` (a min-max band).
        case band(name: String, color: String, x: [Double], low: [Double], high: [Double])
        /// Vertical bars from low to high with caps, and a marker at mid.
        case errorBars(name: String, color: String, x: [Double], low: [Double], mid: [Double], high: [Double])
        case scatter(name: String, color: String, points: [SVGPoint], marker: Marker)
        /// Bars of `width` data units centred on x, from y = 0.
        case bars(name: String, color: String, x: [Double], heights: [Double], width: Double)
        /// A horizontal line across the plot, e.g. an accuracy constraint.
        /// A horizontal rule; `dash` is its SVG stroke-dasharray (nil = solid), drawn
        /// the same in the legend so several rules (targets) stay apart there.
        case hline(name: String, color: String, y: Double, dash: String?)

        var name: String {
            switch self {
            case .line(let n, _, _, _, _), .band(let n, _, _, _, _), .errorBars(let n, _, _, _, _, _),
                 .scatter(let n, _, _, _), .bars(let n, _, _, _, _), .hline(let n, _, _, _): return n
            }
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xDomain: ClosedRange<Double>
    public var yDomain: ClosedRange<Double>
    /// Tick positions and labels; nil = "nice" ticks over the domain.
    public var xTicks: [(Double, String)]?
    public var yTicks: [(Double, String)]?
    public var marks: [Mark] = []
    public var width: Double = 640
    public var height: Double = 420
    /// Series names left out of the legend (e.g. a band that shadows its line).
    public var hiddenFromLegend: Set<String> = []

    public init(title: String, xLabel: String, yLabel: String, xDomain: ClosedRange<Double>, yDomain: ClosedRange<Double>) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        // A zero-width domain would divide by zero when scaling.
        self.xDomain = xDomain.lowerBound < xDomain.upperBound ? xDomain : (xDomain.lowerBound - 0.5)...(xDomain.upperBound + 0.5)
        self.yDomain = yDomain.lowerBound < yDomain.upperBound ? yDomain : (yDomain.lowerBound - 0.5)...(yDomain.upperBound + 0.5)
    }

    /// A standalone SVG document.
    public func render() -> String {
        SVGText.document(width: width, height: height, body: body())
    }

    var legendNames: [(String, String, Mark)] {
        marks.compactMap { m in
            guard !hiddenFromLegend.contains(m.name) else { return nil }
            return (m.name, color(of: m), m)
        }
    }

    private func color(of m: Mark) -> String {
        switch m {
        case .line(_, let c, _, _, _), .band(_, let c, _, _, _), .errorBars(_, let c, _, _, _, _),
             .scatter(_, let c, _, _), .bars(_, let c, _, _, _), .hline(_, let c, _, _): return c
        }
    }

    /// The chart's elements, for a document or a panel of a larger one.
    func body() -> String {
        // About 6.5 px per character at 11 px; the plot keeps at least half the width.
        let longest = legendNames.map(\.0.count).max() ?? 0
        let plot = SVGPlotArea(chart: self, legendWidth: legendNames.isEmpty ? 0 : min(width / 2, 34 + 6.5 * Double(longest)))
        var s = "<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"white\"/>\n"
        s += "<text class=\"title\" x=\"\(f(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(SVGText.escape(title))</text>\n"
        s += plot.axes()
        s += "<g clip-path=\"url(#\(plot.clipID))\">\n"
        for m in marks { s += plot.render(m) }
        s += "</g>\n"
        s += plot.legend(legendNames)
        return s
    }
}

func f(_ x: Double) -> String { String(format: "%.2f", x) }
