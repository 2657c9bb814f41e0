// swift-tools-version:6.0
// EmoKit: multimodal (speech + transcript) emotion recognition with dlopen plugins.
// Layout: Sources/ (host libraries + CLI), Plugins/ (one folder per plugin library), Tests/, docs/.
import PackageDescription

/// Linker flags for a plugin library: export only `emo_plugin_entry` (Plugins/exports.map).
let pluginLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Plugins/exports.map"]),
]

/// A plugin folder `Plugins/<folder>`: its code as a static target `<name>` (`Sources/`, what tests import) and
/// the exported library `EmoPlugin<name minus Emo>` (`Export/`, one file that hands the components to the SDK).
func plugin(_ name: String, folder: String, dependencies: [Target.Dependency]) -> [Target] {
    let exportName = "EmoPlugin" + name.dropFirst(3)
    return [
        .target(name: name, dependencies: dependencies, path: "Plugins/\(folder)/Sources"),
        .target(name: exportName, dependencies: [.target(name: name), "EmoPluginSDK"], path: "Plugins/\(folder)/Export",
                linkerSettings: pluginLinkerSettings),
    ]
}

let package = Package(
    name: "EmoKit",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "emo", targets: ["emo"]),
        .executable(name: "emo-probe", targets: ["emo-probe"]),
        .executable(name: "emo-bench", targets: ["emo-bench"]),
        .executable(name: "emo-serve", targets: ["emo-serve"]),
        // What a third-party plugin author depends on.
        .library(name: "EmoPluginSDK", targets: ["EmoPluginSDK"]),
        .library(name: "EmoTensor", targets: ["EmoTensor"]),
        .library(name: "EmoModels", targets: ["EmoModels"]),
        .library(name: "EmoLayers", targets: ["EmoLayers"]),
        // Host libraries, for embedding EmoKit in another program.
        .library(name: "EmoRuntime", targets: ["EmoRuntime"]),
        .library(name: "EmoPipeline", targets: ["EmoPipeline"]),
        // In-tree plugins: each is a dynamic library found through registry.json.
        .library(name: "EmoPluginTemplate", type: .dynamic, targets: ["EmoPluginTemplate"]),
        .library(name: "EmoPluginHandcrafted", type: .dynamic, targets: ["EmoPluginHandcrafted"]),
        .library(name: "EmoPluginFusion", type: .dynamic, targets: ["EmoPluginFusion"]),
        .library(name: "EmoPluginClassifiers", type: .dynamic, targets: ["EmoPluginClassifiers"]),
        .library(name: "EmoPluginSpeechEncoders", type: .dynamic, targets: ["EmoPluginSpeechEncoders"]),
        .library(name: "EmoPluginExplainers", type: .dynamic, targets: ["EmoPluginExplainers"]),
        .library(name: "EmoPluginTextEncoders", type: .dynamic, targets: ["EmoPluginTextEncoders"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // System libraries (module.modulemap + shim.h each).
        .systemLibrary(name: "CSndFile", path: "Sources/CSndFile"),
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),

        // The binary contract: one C header.
        .target(name: "EmoPluginABI", path: "Sources/EmoPluginABI"),
        // Protocols, value types, errors. No I/O.
        .target(name: "EmoCore", path: "Sources/EmoCore"),
        // The BLAS binding: chooses OpenBLAS's CPU kernel from the CPU flags, then dlopens it (no link-time BLAS).
        .target(name: "CEmoBLAS", path: "Sources/CEmoBLAS", linkerSettings: [.linkedLibrary("dl")]),
        // Tensors, BLAS kernels + naive references, autodiff, optimisers.
        .target(name: "EmoTensor", dependencies: ["CEmoBLAS", "CEmoKernels"], path: "Sources/EmoTensor"),
        // The elementwise kernels in C (GELU, softmax, norms): AVX-512 or AVX2 + FMA when the CPU has them.
        .target(name: "CEmoKernels", dependencies: ["CEmoBLAS"], path: "Sources/CEmoKernels"),
        // Checkpoint I/O and the model registry (linked into plugins; each network lives in its plugin).
        .target(name: "EmoModels", dependencies: ["EmoTensor", "EmoCore"], path: "Sources/EmoModels"),
        // Trainable layers (linear, batch norm, dropout, activations, Sequential) with hand-written backward,
        // over the kernel library; the fusion and classifier plugins link it.
        .target(name: "EmoLayers", dependencies: ["EmoCore", "EmoTensor"], path: "Sources/EmoLayers"),
        // Swift implementation → C descriptor.
        .target(name: "EmoPluginSDK", dependencies: ["EmoPluginABI", "EmoCore"], path: "Sources/EmoPluginSDK"),
        // Registry, loader, child-process probe, C descriptor → Swift protocol.
        .target(name: "EmoRuntime", dependencies: ["EmoPluginABI", "EmoCore", "EmoPluginSDK",
                                                   .product(name: "Logging", package: "swift-log")],
                path: "Sources/EmoRuntime"),
        // Decoding (libsndfile, libavformat), resampling.
        .target(name: "EmoMedia", dependencies: ["EmoCore", "CSndFile", "CFFmpeg"], path: "Sources/EmoMedia"),
        // SQLite feature cache, runs, metrics.
        .target(name: "EmoStore", dependencies: ["EmoCore", "CSQLite"], path: "Sources/EmoStore"),
        // Corpora, splits, scaling, training, evaluation, reports.
        .target(name: "EmoPipeline", dependencies: ["EmoCore", "EmoTensor", "EmoRuntime", "EmoMedia", "EmoStore"],
                path: "Sources/EmoPipeline"),
        // What the two command-line executables share: the BLAS-first main, progress bars, the reference-peer runner.
        .target(name: "EmoCLISupport", dependencies: ["EmoCore", "EmoTensor",
                                                    .product(name: "ArgumentParser", package: "swift-argument-parser")],
                path: "Sources/EmoCLISupport"),
        // Checkpoint downloads from the Hugging Face hub (`emo models pull`): HTTP through FoundationNetworking.
        .target(name: "EmoHub", dependencies: ["EmoCore"], path: "Sources/EmoHub"),
        // The product CLI: links no neural-network code (models run inside their plugins).
        .executableTarget(name: "emo", dependencies: [
            "EmoCore", "EmoRuntime", "EmoTensor", "EmoModels", "EmoMedia", "EmoStore", "EmoPipeline",
            "EmoCLISupport", "EmoHub", "CSndFile",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/emo", resources: [.copy("Demo")]),
        // `emo bench ...`: the benchmarks, beside their reference peers; links the speech networks to time them
        // directly as well as through the plugins.
        .executableTarget(name: "emo-bench", dependencies: [
            "EmoCore", "EmoRuntime", "EmoTensor", "EmoModels", "EmoMedia", "EmoStore", "EmoPipeline",
            "EmoSpeechEncoders", "EmoCLISupport", "CSndFile",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/emo-bench"),
        // `emo serve BUNDLE`: a bundle as an HTTP service (Hummingbird), in its own executable so `emo` links no server.
        .target(name: "EmoServe", dependencies: [
            "EmoCore", "EmoRuntime", "EmoPipeline",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/EmoServe"),
        .executableTarget(name: "emo-serve", dependencies: [
            "EmoServe", "EmoPipeline", "EmoRuntime", "EmoCLISupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/emo-serve"),
        // Loads one library in a child process and prints its manifest (plugins that crash here cannot hurt the host).
        .executableTarget(name: "emo-probe", dependencies: ["EmoRuntime"], path: "Sources/emo-probe"),
    ]
    // In-tree plugins.
    + plugin("EmoTemplate", folder: "_Template", dependencies: ["EmoPluginSDK"])
    + plugin("EmoHandcrafted", folder: "Handcrafted", dependencies: ["EmoPluginSDK", "EmoTensor"])
    + plugin("EmoFusion", folder: "Fusion", dependencies: ["EmoPluginSDK", "EmoTensor", "EmoLayers"])
    + plugin("EmoClassifiers", folder: "Classifiers", dependencies: ["EmoPluginSDK", "EmoTensor", "EmoLayers"])
    + plugin("EmoSpeechEncoders", folder: "SpeechEncoders", dependencies: ["EmoPluginSDK", "EmoTensor", "EmoModels"])
    + plugin("EmoExplainers", folder: "Explainers", dependencies: ["EmoPluginSDK"])
    + plugin("EmoTextEncoders", folder: "TextEncoders", dependencies: ["EmoPluginSDK", "EmoTensor", "EmoModels"])
    + [
        // Paths and files every test target needs (repository root, ../shared/data, temporary folders, WAV
        // writer); linked only into tests.
        .target(name: "EmoTestSupport", path: "Tests/EmoTestSupport"),
        .testTarget(name: "EmoCoreTests", dependencies: ["EmoCore", "EmoPluginSDK"], path: "Tests/EmoCoreTests"),
        .testTarget(name: "EmoTensorTests", dependencies: ["EmoTensor", "EmoLayers", "CEmoKernels", "EmoTestSupport"], path: "Tests/EmoTensorTests",
                    exclude: ["Fixtures"]),
        .testTarget(name: "EmoModelsTests", dependencies: ["EmoModels", "EmoTensor", "EmoTestSupport"], path: "Tests/EmoModelsTests",
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SpeechEncodersTests", dependencies: ["EmoSpeechEncoders", "EmoModels", "EmoTensor", "EmoLayers", "EmoCore", "EmoPluginSDK", "EmoTestSupport"],
                    path: "Tests/SpeechEncodersTests"),
        .testTarget(name: "EmoRuntimeTests", dependencies: ["EmoRuntime", "EmoPluginSDK", "EmoCore", "EmoTestSupport"],
                    path: "Tests/EmoRuntimeTests", exclude: ["Fixtures"]),
        .testTarget(name: "EmoMediaTests", dependencies: ["EmoMedia", "EmoTensor", "EmoTestSupport"], path: "Tests/EmoMediaTests",
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "EmoStoreTests", dependencies: ["EmoStore"], path: "Tests/EmoStoreTests"),
        .testTarget(name: "EmoHubTests", dependencies: ["EmoHub", "EmoCore", "EmoModels", "EmoRuntime", "EmoTestSupport"], path: "Tests/EmoHubTests"),
        .testTarget(name: "EmoServeTests", dependencies: ["EmoServe", "EmoPipeline", "EmoRuntime", "EmoTestSupport"],
                    path: "Tests/EmoServeTests"),
        .testTarget(name: "EmoPipelineTests", dependencies: ["EmoPipeline", "EmoModels", "EmoTestSupport"], path: "Tests/EmoPipelineTests",
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "TextEncodersTests", dependencies: ["EmoTextEncoders", "EmoModels", "EmoTensor", "EmoMedia", "EmoRuntime", "EmoTestSupport"],
                    path: "Tests/TextEncodersTests", resources: [.copy("Fixtures")]),
        .testTarget(name: "ExplainersTests", dependencies: ["EmoExplainers", "EmoCore", "EmoTestSupport"], path: "Tests/ExplainersTests",
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["EmoFusion", "EmoClassifiers", "EmoPipeline", "EmoTensor", "EmoLayers",
                                                          "EmoCore", "EmoPluginSDK", "EmoRuntime", "EmoTestSupport"],
                    path: "Tests/TrainingTests", resources: [.copy("Fixtures")]),
        .testTarget(name: "HandcraftedTests", dependencies: ["EmoHandcrafted", "EmoMedia", "CSndFile", "EmoTestSupport"],
                    path: "Tests/HandcraftedTests", resources: [.copy("Fixtures")]),
    ]
)

// Fuzzing and the sanitizer build of the parsers' tests (Fuzz/build.sh, Fuzz/sanitize.sh set EMOKIT_FUZZ=1). Only
// then does the package hold `emo-fuzz` (one libFuzzer driver over every parser, Fuzz/Sources) and only the
// libraries and test targets the parsers need (no plugins, no executables, no server), so one instrumented build
// serves both. Without the variable the package above is unchanged.
if Context.environment["EMOKIT_FUZZ"] == "1" {
    let parserTests: Set<String> = ["EmoCoreTests", "EmoTensorTests", "EmoModelsTests", "EmoMediaTests", "EmoRuntimeTests",
                                    "EmoPipelineTests"]
    let libraries: Set<String> = ["CSndFile", "CFFmpeg", "CSQLite", "EmoPluginABI", "EmoCore", "CEmoBLAS", "EmoTensor",
                                  "CEmoKernels", "EmoModels", "EmoLayers", "EmoPluginSDK", "EmoRuntime", "EmoMedia", "EmoStore",
                                  "EmoPipeline", "EmoTestSupport"]
    package.targets = package.targets.filter { libraries.contains($0.name) || parserTests.contains($0.name) } + [
        // Declares libFuzzer's LLVMFuzzerRunDriver (linked from the toolchain's libclang_rt.fuzzer_no_main).
        .target(name: "CEmoFuzz", path: "Fuzz/Sources/CEmoFuzz"),
        .executableTarget(name: "emo-fuzz", dependencies: ["CEmoFuzz", "EmoCore", "EmoModels", "EmoLayers", "EmoRuntime",
                                                           "EmoMedia", "EmoPipeline"], path: "Fuzz/Sources/emo-fuzz"),
    ]
    package.products = [.executable(name: "emo-fuzz", targets: ["emo-fuzz"])]
}
