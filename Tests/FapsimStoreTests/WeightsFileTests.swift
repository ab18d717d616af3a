import Testing
import Foundation
import HDF5Kit
@testable import FapsimStore

@Suite struct WeightsFileTests {
    @Test func fapsimWeightsRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("w.h5")
        let w = sampleWeights()
        try w.write(path: path, force: false)
        let back = try WeightsFile.read(path: path)
        #expect(back == w)
        #expect(back["features.4.weight"]?.shape == [8, 4, 3, 3])
        #expect(back["nothing"] == nil)
        let f = try H5File.open(path)
        #expect(try f.stringAttribute("schema") == "fapsim.weights")
        #expect(try f.stringAttribute("weights_checksum") == w.checksum)
        #expect(try f.openGroup("tensors").members().first == "features.0.weight")
    }

    @Test func exportThenImportIsIdentity() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("torch.h5")
        let w = sampleWeights()
        try w.exportPyTorch(path: path, force: false)
        #expect(try WeightsFile.read(path: path) == w)
        // The docs/conventions.md §4 layout: every state_dict key is a root dataset, no schema.
        let f = try H5File.open(path)
        #expect(!f.hasAttribute("schema"))
        #expect(try f.stringAttribute("layout") == "pytorch-state_dict")
        try f.openDataset("features.0.weight").expect(.float, rank: 4, shape: [4, 3, 3, 3])
        try f.openDataset("features.1.num_batches_tracked").expect(.int64, rank: 0)
        let members = try f.members()
        #expect(members.count == w.tensors.count + w.batchesTracked.count)
        // num_batches_tracked follows its module's running_var, as in PyTorch.
        let i = try #require(members.firstIndex(of: "features.1.running_var"))
        #expect(members[i + 1] == "features.1.num_batches_tracked")
    }

    @Test func minimalProvenanceRoundTripsAsNil() throws {
        let dir = try TemporaryDirectory()
        var w = sampleWeights()
        w.provenance = WeightsProvenance()
        w.batchesTracked = [:]
        try w.write(path: dir.file("a.h5"), force: false)
        #expect(try WeightsFile.read(path: dir.file("a.h5")) == w)
        try w.exportPyTorch(path: dir.file("b.h5"), force: false)
        #expect(try WeightsFile.read(path: dir.file("b.h5")) == w)
    }

    @Test func writeRefusesOverwriteAndBadTensors() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("w.h5")
        var w = sampleWeights()
        try w.write(path: path, force: false)
        #expect(errorMessage { try w.write(path: path, force: false) } == "\(path): already exists; pass --force to overwrite it")
        #expect(errorMessage { try w.exportPyTorch(path: path, force: false) } == "\(path): already exists; pass --force to overwrite it")
        w.tensors[0].data.removeLast()
        #expect(errorMessage { try w.write(path: path, force: true) }
                == "\(path): tensor features.0.weight: 107 values do not fill shape [4, 3, 3, 3]")
        #expect(try WeightsFile.read(path: path) == sampleWeights(), "a refused write must leave the old file")
    }

    /// A NaN or infinity in a tensor is refused on read, naming the tensor and
    /// the element, in a fapsim file and in a PyTorch state_dict file alike;
    /// and no such file is ever written.
    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteTensorsAreRefused(value: Float) throws {
        let dir = try TemporaryDirectory()
        let fapsim = dir.file("w.h5"), torch = dir.file("t.h5")
        try sampleWeights().write(path: fapsim, force: false)
        try sampleWeights().exportPyTorch(path: torch, force: false)
        // features.0.weight is [4, 3, 3, 3]: flat index 40 is element [1, 1, 1, 1].
        for (path, dataset) in [(fapsim, "tensors/features.0.weight"), (torch, "features.0.weight")] {
            let f = try H5File.open(path, writable: true)
            try f.openDataset(dataset).write([value], start: [1, 1, 1, 1], count: [1, 1, 1, 1])
            try f.close()
            #expect(errorMessage { _ = try WeightsFile.read(path: path) }
                    == "\(path): /\(dataset): expected finite values, got \(value) at index 40 (element [1, 1, 1, 1] of shape [4, 3, 3, 3])")
        }
        var w = sampleWeights()
        w.tensors[4].data[2] = value  // features.1.running_mean, a vector: the index is enough
        let out = dir.file("out.h5")
        #expect(errorMessage { try w.write(path: out, force: false) }
                == "\(out): tensor features.1.running_mean: expected finite values, got \(value) at index 2")
        #expect(errorMessage { try w.exportPyTorch(path: out, force: false) } != nil)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func wrongTensorTypeInAFapsimFileIsNamed() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("w.h5")
        do {
            let f = try H5File.create(path)
            try Schema.stamp(f, as: .weights)
            try f.setAttribute("architecture", "vgg11")
            try f.setAttribute("width", 1.0)
            let g = try f.createGroup("tensors")
            try g.write("features.0.weight", [Double](repeating: 0, count: 4), shape: [2, 2])
            try g.write("names", strings: ["x"])
            try f.close()
        }
        #expect(errorMessage { _ = try WeightsFile.read(path: path) }
                == "\(path): /tensors/features.0.weight: expected Float dataset of rank 2, got Double rank 2")
    }

    @Test func stateDictOrderMatchesPyTorch() {
        let pytorch = ["features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                       "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
                       "features.4.weight", "features.11.weight", "features.11.bias", "classifier.weight", "classifier.bias"]
        #expect(pytorch.sorted().sorted(by: PyTorchStateDict.stateDictOrder) == pytorch)
        #expect(pytorch.reversed().sorted(by: PyTorchStateDict.stateDictOrder) == pytorch)
    }

    @Test(.requiresSharedData(.pretrainedModel))
    func importsThePretrainedSpecFile() throws {
        let w = try WeightsFile.read(path: SharedData.modelPath)
        #expect(w.architecture == "vgg11")
        #expect(w.width == 1.0)
        #expect(w.tensors.count == 50)
        #expect(w.batchesTracked.count == 8)
        #expect(w.tensors.prefix(3).map(\.name) == ["features.0.weight", "features.0.bias", "features.1.weight"])
        #expect(w["features.0.weight"]?.shape == [64, 3, 3, 3])
        #expect(w["classifier.weight"]?.shape == [10, 512])
        #expect(w["features.1.running_var"]?.data.allSatisfy { $0 > 0 } == true)
        #expect(w.provenance.testAccuracy == 0.867)
        #expect(w.provenance.notes?.contains("architecture: vgg11-bn-cifar10") == true)
        #expect(w.parameterCount == 9_231_114 + 5_504)  // parameters + BN running mean/var
        // Export then import of the real model is the identity too.
        let dir = try TemporaryDirectory()
        try w.exportPyTorch(path: dir.file("again.h5"), force: false)
        #expect(try WeightsFile.read(path: dir.file("again.h5")) == w)
        // And it survives the fapsim layout unchanged.
        try w.write(path: dir.file("fapsim.h5"), force: false)
        #expect(try WeightsFile.read(path: dir.file("fapsim.h5")) == w)
    }
}
