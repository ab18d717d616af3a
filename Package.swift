// swift-tools-version:6.0
import PackageDescription

// Module map (one job each):
//   FapsimSupport  errors, deterministic RNG, progress lines, JSON output, atomic writes, strict YAML fields,
//                  child processes, the version (the executable records its git commit)
//   SystolicArray  hardware config, fault maps, the register-level PE array and its
//                  GEMM driver, closed-form timing
//   MaskedGEMM     the fast functional path: FAP-masked GEMM through OpenBLAS
//   HDF5Kit        thin, leak-free Swift layer over the HDF5 C library
//   FapsimStore    every fapsim HDF5 file kind and its schema: chip lot, weights,
//                  checkpoint, results (train/fat, resilience, budget, campaign,
//                  work-directory units); the other modules do no HDF5 or layout work
//   Network        VGG11, CIFAR-10, im2col, functional and array inference engines,
//                  training and FAT (backward passes, SGD, checkpoints)
//   Reduce         chip lots, resilience tables, budgets, campaigns, the report
//   FapsimCLI      the `fapsim` subcommands (kept in a library so tests can reach them)
// The register-level datapath steps eight PEs per SIMD operation, and the int8 fast
// path's stuck-at correction walks eight pixels per int32 vector; on x86-64 let them
// use AVX2 and FMA instructions (Haswell and later: x86 CPUs since 2013-2015).
#if arch(x86_64)
let simdSettings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
#else
let simdSettings: [SwiftSetting] = []
#endif

let package = Package(
    name: "fapsim",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fapsim", targets: ["fapsim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "FapsimSupport", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "SystolicArray", dependencies: ["FapsimSupport"], swiftSettings: simdSettings),
        .target(name: "MaskedGEMM", dependencies: ["COpenBLAS", "SystolicArray", "FapsimSupport"], swiftSettings: simdSettings),
        .target(name: "HDF5Kit", dependencies: ["CHDF5", "FapsimSupport"]),
        .target(name: "FapsimStore", dependencies: ["HDF5Kit", "SystolicArray", "FapsimSupport"]),
        .target(name: "Network", dependencies: ["SystolicArray", "MaskedGEMM", "FapsimStore", "FapsimSupport"]),
        .target(name: "Reduce", dependencies: ["SystolicArray", "FapsimStore", "Network", "FapsimSupport"]),
        .target(name: "FapsimCLI", dependencies: [
            "Reduce", "SystolicArray", "MaskedGEMM", "FapsimStore", "Network", "FapsimSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The git commit is baked in at build time, for `fapsim --version` and the
        // fapsim_version attribute of every file fapsim writes. Into the executable
        // alone: a new commit then recompiles main.swift, not every module.
        .executableTarget(name: "fapsim", dependencies: ["FapsimCLI", "FapsimSupport"], plugins: ["BuildInfoPlugin"]),
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        // Helpers shared by the test targets only (child processes, paths, the
        // shared-data gate) and a second process for the storage tests that
        // writes HDF5 files; neither is part of the `fapsim` product.
        .target(name: "FapsimTestSupport", dependencies: ["FapsimSupport"]),
        .executableTarget(name: "fapsim-test-h5-writer", dependencies: ["FapsimStore", "HDF5Kit", "SystolicArray", "FapsimSupport"],
                          path: "Tests/Helpers/fapsim-test-h5-writer"),
        .testTarget(name: "SystolicArrayTests", dependencies: ["SystolicArray", "MaskedGEMM"]),
        .testTarget(name: "MaskedGEMMTests", dependencies: ["MaskedGEMM", "SystolicArray"]),
        .testTarget(name: "HDF5KitTests", dependencies: ["HDF5Kit", "FapsimTestSupport"]),
        .testTarget(name: "FapsimStoreTests", dependencies: ["FapsimStore", "FapsimSupport", "HDF5Kit", "SystolicArray", "fapsim", "fapsim-test-h5-writer", "FapsimTestSupport"]),
        .testTarget(name: "NetworkTests", dependencies: ["Network", "SystolicArray", "MaskedGEMM", "FapsimStore", "FapsimTestSupport"]),
        .testTarget(name: "ReduceTests", dependencies: ["Reduce", "SystolicArray", "FapsimStore", "FapsimSupport", "FapsimTestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["fapsim", "FapsimSupport", "FapsimTestSupport", "SystolicArray", "Network", "FapsimStore"]),
    ],
    swiftLanguageModes: [.v5]
)
