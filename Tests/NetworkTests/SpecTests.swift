import Testing
@testable import Network

@Suite struct SpecTests {
    @Test func macCountAtFullWidthIsSpecFigure() throws {
        let spec = try VGG11Spec(width: 1.0)
        #expect(spec.macsPerImage == 152_769_536)
        #expect(spec.gemmLayers.count == 9)
    }

    @Test func layerNamesAreStateDictPrefixes() throws {
        let spec = try VGG11Spec(width: 1.0)
        #expect(spec.gemmLayers.map(\.name) == ["features.0", "features.4", "features.8", "features.11", "features.15",
                                                 "features.18", "features.22", "features.25", "classifier"])
        #expect(spec.batchNormLayers.map(\.name) == ["features.1", "features.5", "features.9", "features.12",
                                                      "features.16", "features.19", "features.23", "features.26"])
    }

    @Test func gemmShapesForABatch() throws {
        let spec = try VGG11Spec(width: 1.0)
        let layers = spec.gemmLayers
        #expect(layers[0].shape(batch: 4) == GEMMShape(m: 4 * 32 * 32, k: 27, n: 64))
        #expect(layers[1].shape(batch: 4) == GEMMShape(m: 4 * 16 * 16, k: 576, n: 128))
        #expect(layers[8].shape(batch: 4) == GEMMShape(m: 4, k: 512, n: 10))
    }

    @Test func widthScalesChannelsAndClassifierInput() throws {
        let spec = try VGG11Spec(width: 0.25)
        let layers = spec.gemmLayers
        #expect(layers[0].n == 16)
        #expect(layers[1].k == 16 * 9)
        #expect(layers[7].n == 128)
        #expect(layers[8].k == 128)
        let half = try VGG11Spec(width: 0.5)
        #expect(half.gemmLayers.map(\.n) == [32, 64, 128, 128, 256, 256, 256, 256, 10])
        #expect(throws: (any Error).self) { try VGG11Spec(width: 0) }
    }
}
