import Foundation
import FapsimSupport

/// The synthesized cell counts of the PE variants: `hw/synth/pe-cells.json`,
/// written by `hw/synth/synth_pe.sh --write` (Yosys to generic gates, cells
/// include flip-flops) and checked against a fresh synthesis in CI
/// (docs/mitigations.md, "Area from the RTL" and "Area in the comparison").
/// fapsim reads the file rather than carrying the numbers in the hardware
/// configs so that one synthesis feeds every config, and the only copy of the
/// numbers is the one CI compares with the RTL.
public struct PECellCounts: Sendable, Equatable {
    /// One synthesized variant (`fap`, `rowcol-reg`, `spare-host-g32`, ...).
    public struct Variant: Sendable, Equatable {
        public var cells: Int
        public var flipFlops: Int
        public var logic: Int

        public init(cells: Int, flipFlops: Int, logic: Int) {
            self.cells = cells
            self.flipFlops = flipFlops
            self.logic = logic
        }
    }

    public static let content = "fapsim_pe_cells"
    /// Relative to the working directory, as the default hardware config is:
    /// commands run from the repository find the committed file.
    public static let defaultPath = "hw/synth/pe-cells.json"
    public static let environmentVariable = "FAPSIM_PE_CELLS"

    public var variants: [String: Variant]
    /// The synthesis tool and its version (`Yosys 0.23 (git sha1 ...)`).
    public var tool: String
    /// Where the counts were read from (the area's provenance in results files).
    public var path: String

    public init(variants: [String: Variant], tool: String, path: String) {
        self.variants = variants
        self.tool = tool
        self.path = path
    }

    /// Reads and checks the file: content, every variant's cells, flip-flops
    /// and logic (whole numbers, logic = cells - flip-flops), and a `fap`
    /// variant (every ratio's denominator). Any defect is one line naming the
    /// file and the field.
    public static func load(path: String) throws -> PECellCounts {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FapsimError("\(path): PE cell counts not found (pass --pe-cells FILE or set \(environmentVariable); the repository's is \(defaultPath), written by hw/synth/synth_pe.sh --write)")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw FapsimError.invalid(file: path, field: "(file)", expected: "JSON written by hw/synth/synth_pe.sh --write", got: "text that does not parse as JSON")
        }
        guard let top = object as? [String: Any] else {
            throw FapsimError.invalid(file: path, field: "(file)", expected: "a JSON object", got: "\(type(of: object))")
        }
        guard let content = top["content"] as? String, content == Self.content else {
            throw FapsimError.invalid(file: path, field: "content", expected: "\"\(Self.content)\"", got: "\(top["content"].map { "\($0)" } ?? "none")")
        }
        guard let tool = top["tool"] as? String else {
            throw FapsimError.invalid(file: path, field: "tool", expected: "the synthesis tool and version as a string", got: "\(top["tool"].map { "\($0)" } ?? "none")")
        }
        guard let list = top["variants"] as? [String: Any] else {
            throw FapsimError.invalid(file: path, field: "variants", expected: "an object of variant -> {cells, flip_flops, logic}", got: "\(top["variants"].map { "\(type(of: $0))" } ?? "none")")
        }
        var variants: [String: Variant] = [:]
        for (name, value) in list {
            guard let entry = value as? [String: Any] else {
                throw FapsimError.invalid(file: path, field: "variants.\(name)", expected: "an object {cells, flip_flops, logic}", got: "\(value)")
            }
            func count(_ field: String) throws -> Int {
                // A fraction does not bridge to Int: a count must be whole.
                guard let i = entry[field] as? Int, i >= 0 else {
                    throw FapsimError.invalid(file: path, field: "variants.\(name).\(field)", expected: "a non-negative whole number",
                                              got: entry[field].map { "\($0)" } ?? "none")
                }
                return i
            }
            let v = Variant(cells: try count("cells"), flipFlops: try count("flip_flops"), logic: try count("logic"))
            guard v.logic == v.cells - v.flipFlops else {
                throw FapsimError.invalid(file: path, field: "variants.\(name).logic", expected: "cells - flip_flops = \(v.cells - v.flipFlops)", got: "\(v.logic)")
            }
            variants[name] = v
        }
        guard let fap = variants["fap"], fap.cells > 0 else {
            throw FapsimError.invalid(file: path, field: "variants.fap", expected: "the FAP PE's cell count (the ratios' denominator)", got: "none")
        }
        return PECellCounts(variants: variants, tool: tool, path: path)
    }

    /// Where a command's PE cell counts come from: `flag` (e.g. `--pe-cells`),
    /// else `$FAPSIM_PE_CELLS`, else `defaultPath` if it exists. A file that
    /// was named (flag or variable) must load; the default one must load if it
    /// is there. Nil when none was named and the default is absent: the area is
    /// then "not available" rather than the run failing (a comparison run from
    /// outside the repository still measures everything else).
    public static func resolve(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                               defaultPath: String = PECellCounts.defaultPath) throws -> PECellCounts? {
        if let flag { return try load(path: flag) }
        if let env = environment[environmentVariable], !env.isEmpty { return try load(path: env) }
        guard FileManager.default.fileExists(atPath: defaultPath) else { return nil }
        return try load(path: defaultPath)
    }
}

/// The PE array's area under a mitigation, in synthesized cells, against the
/// FAP array of the same R x C (docs/mitigations.md, "Area in the comparison").
/// PEs only: wiring, the controller and the host's lane tables are not counted.
public enum ArrayArea {
    /// One mitigation's array: its cells and their ratio to R x C FAP PEs, or
    /// why there is no figure (`cells` nil, `ratio` NaN).
    public struct Estimate: Sendable, Equatable {
        public var cells: Int?
        /// R x C x the FAP PE's cells.
        public var fapArrayCells: Int
        /// How `cells` was formed, or why it is not available.
        public var basis: String

        public var ratio: Double { cells.map { Double($0) / Double(fapArrayCells) } ?? .nan }

        public init(cells: Int?, fapArrayCells: Int, basis: String) {
            self.cells = cells
            self.fapArrayCells = fapArrayCells
            self.basis = basis
        }
    }

    /// The cells of an R x C array under `mitigation` (`spares`: the config's
    /// layout under `.spares`):
    /// - fap: R x C FAP PEs (ratio 1 by definition);
    /// - fam: the same. Its permutation is how the weights are stored and its
    ///   lanes are the feeder's and accumulators' addressing from a per-layer
    ///   table, with zero weights on unused lines: nothing changes inside a PE
    ///   (docs/hardware-model.md, "What the hardware needs for lanes");
    /// - rowcol: R x C `rowcol-reg` PEs plus R + C line-enable flip-flops (one
    ///   cell each);
    /// - spares, column-groups:g: R x C `spare-host-gG` PEs (the FAP PE with
    ///   its 2:1 output mux) plus R x C / g `spare-gG` PEs with their g:1 input
    ///   muxes, where g was synthesized; the diagonal layout is not in the RTL.
    public static func estimate(mitigation: Mitigation, rows: Int, cols: Int, spares: SpareLayout?,
                                cells: PECellCounts) -> Estimate {
        let pes = rows * cols
        let fap = cells.variants["fap"]!.cells
        let base = pes * fap
        func missing(_ variant: String) -> Estimate {
            Estimate(cells: nil, fapArrayCells: base, basis: "not available: no variant \(variant) in \(cells.path)")
        }
        switch mitigation {
        case .fap:
            return Estimate(cells: base, fapArrayCells: base, basis: "\(pes) fap PEs")
        case .fam:
            return Estimate(cells: base, fapArrayCells: base, basis: "\(pes) fap PEs (the permutation and lanes are layout, no PE logic)")
        case .rowcol:
            guard let pe = cells.variants["rowcol-reg"] else { return missing("rowcol-reg") }
            return Estimate(cells: pes * pe.cells + rows + cols, fapArrayCells: base,
                            basis: "\(pes) rowcol-reg PEs + \(rows + cols) line-enable flip-flops")
        case .spares:
            switch spares {
            case nil:
                return Estimate(cells: nil, fapArrayCells: base, basis: "not available: the config has no spares layout")
            case .diagonal?:
                return Estimate(cells: nil, fapArrayCells: base, basis: "not available: the diagonal spare layout is not in the RTL")
            case .columnGroups(let g)?:
                let host = "spare-host-g\(g)", spare = "spare-g\(g)"
                guard let h = cells.variants[host], let s = cells.variants[spare] else {
                    return Estimate(cells: nil, fapArrayCells: base,
                                    basis: "not available: column-groups:\(g) is not synthesized (no \(host) / \(spare) in \(cells.path))")
                }
                let count = SpareLayout.columnGroups(groupCols: g).spareCount(rows: rows, cols: cols)
                return Estimate(cells: pes * h.cells + count * s.cells, fapArrayCells: base,
                                basis: "\(pes) \(host) PEs + \(count) \(spare) spare PEs")
            }
        }
    }
}
