import Testing
import FapsimSupport
import SystolicArray
@testable import Network

/// The functional engine's conv blocks on image tiles (`TiledConvBlock`) give
/// the bits of the layer-by-layer reference: the same OpenBLAS routine over the
/// whole layer, whole-batch im2col, BN + ReLU and pooling passes
/// (`ReferenceForward`), whatever the tile size and whichever worker takes a tile.
@Suite struct TiledConvBlockTests {
    static func images(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SeededRNG(seed: seed)
        return (0..<(count * 3 * 32 * 32)).map { _ in Float(rng.nextGaussian()) }
    }

    /// 13 images (an odd count: tiles differ in size), the smallest tiles the
    /// rule allows, two-image tiles where possible and the standard tiling,
    /// fault-free and under a FAP mask; then the same network on 3 images,
    /// where the deep layers run layer-wide, and on 13 again (buffers regrown).
    @Test(arguments: [0.0, 0.2])
    func tiledLogitsAreTheLayerByLayerBits(_ rate: Double) throws {
        let params = VGG11Parameters.random(spec: try VGG11Spec(width: 0.25), seed: 21)
        let faults = rate == 0 ? nil : try FaultMap.uniform(rows: 16, cols: 16, rate: rate, seed: 22)
        let batch = 13
        let images = Self.images(batch, seed: 23)
        let reference = ReferenceForward(params: params, faults: faults).run(images: images, batch: batch).logits
        let few = Array(images[0..<(3 * 3 * 32 * 32)])
        let fewReference = ReferenceForward(params: params, faults: faults).run(images: few, batch: 3).logits
        let smallest = TiledConvBlock.Tiling(targetBytes: 0, minColumns: 1)
        // Every conv is really tiled at 13 images with the smallest tiles (the test would prove nothing otherwise).
        for case .conv(let c) in params.spec.layers {
            #expect((smallest.tiles(c, batch: batch, workers: 2) ?? 0) >= 2, "\(c.name) not tiled")
        }
        for tiling in [smallest, TiledConvBlock.Tiling(targetBytes: 0, minColumns: 2 * 32 * 32), .standard] {
            let network = VGG11Network(parameters: params, engine: FunctionalEngine(faults: faults))
            network.tiling = tiling
            let logits = try network.forward(images: images, batch: batch)
            #expect(logits == reference, "tiling \(tiling): \(zip(logits, reference).filter { $0 != $1 }.count) logits differ")
            #expect(try network.forward(images: few, batch: 3) == fewReference, "tiling \(tiling), 3 images")
            #expect(try network.forward(images: images, batch: batch) == reference, "tiling \(tiling), again")
        }
    }

    /// The tiling rule: whole images, about `targetBytes` of im2col matrix but
    /// at least `minColumns` pixels, a tile count that is a multiple of the
    /// workers, every tile above OpenBLAS's small-matrix threshold, and no
    /// tiling where the layer-wide call's halves are below it.
    @Test func tileCounts() throws {
        let spec = try VGG11Spec(width: 1)
        let convs = spec.layers.compactMap { if case .conv(let c) = $0 { return c } else { return nil } }
        let rule = TiledConvBlock.Tiling(targetBytes: 4 << 20, minColumns: 1024)
        // conv1: K = 27, 1024 pixels an image: 4 MiB / (4 x 27) = 38,836 columns -> 38 images
        // wanted, 500 images -> 14 tiles (even) of 35-36 images.
        #expect(rule.tiles(convs[0], batch: 500, workers: 2) == 14)
        // At batch 128: 4 tiles of 32, not 38 + 38 + 38 + 14.
        #expect(rule.tiles(convs[0], batch: 128, workers: 2) == 4)
        // conv1 on one image: 1,024 x 27 x 64 = 1.8e6 multiply-adds, halves below the threshold.
        #expect(rule.tiles(convs[0], batch: 1, workers: 2) == nil)
        // conv7: K = 4608, 4 pixels an image: 1024 columns (more than 4 MiB / 18 KiB) -> 256 images
        // wanted -> 2 tiles of 250; at batch 128 still one tile per worker.
        #expect(rule.tiles(convs[6], batch: 500, workers: 2) == 2)
        #expect(rule.tiles(convs[6], batch: 500, workers: 1) == 2)
        #expect(rule.tiles(convs[6], batch: 128, workers: 2) == 2)
        // One image cannot be cut: layer-wide, the engine's two-piece split.
        #expect(rule.tiles(convs[6], batch: 1, workers: 2) == nil)
        #expect(TiledConvBlock.Tiling.images(tile: 2, of: 3, batch: 10) == 6..<10)
        for c in convs {
            for batch in [1, 2, 7, 128, 500] {
                for workers in [1, 2, 3] {
                    guard let tiles = rule.tiles(c, batch: batch, workers: workers) else { continue }
                    #expect(tiles >= 1 && tiles <= batch, "\(c.name) batch \(batch): \(tiles)")
                    let smallest = batch / tiles * c.height * c.width * c.k * c.outChannels
                    #expect(smallest > TiledConvBlock.Tiling.blockedPathMACs, "\(c.name) batch \(batch): \(smallest) MACs")
                }
            }
        }
    }

    /// The array engine keeps layer-wide GEMMs: one cycle record per GEMM layer
    /// and batch, the whole batch's M (its cycles are those of one stream).
    @Test func arrayEngineIsNotTiled() throws {
        let params = VGG11Parameters.random(spec: try VGG11Spec(width: 0.25), seed: 24)
        let engine = try ArrayEngine(config: HardwareConfig(name: "t8x8", rows: 8, cols: 8), faults: nil, threads: 1)
        let network = VGG11Network(parameters: params, engine: engine)
        network.tiling = TiledConvBlock.Tiling(targetBytes: 0, minColumns: 1)
        _ = try network.forward(images: Self.images(2, seed: 25), batch: 2)
        #expect(engine.runs.count == params.spec.gemmLayers.count)
        #expect(engine.runs.first?.m == 2 * 32 * 32)
    }
}
