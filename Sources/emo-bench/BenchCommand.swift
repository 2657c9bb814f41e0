import ArgumentParser
import EmoCLISupport
import EmoTensor
import Foundation

/// `emo-bench` (run as `emo bench ...`): EmoKit beside its reference peer (PyTorch, librosa, Captum) in the same
/// run, with ratios. A separate executable so that the product's `emo` links no model code: the benchmarks time
/// the networks directly (`EmoSpeechEncoders`) as well as through the plugins.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emo bench",
        abstract: "Measure EmoKit beside its reference implementation in the same run and print the ratio.",
        discussion: """
        The peer column runs a committed script under Tests/Reference with the Python named by \
        EMO_REFERENCE_PYTHON (default python3). Without torch/librosa there, EmoKit is still measured and the \
        report says why the peer column is missing. The BLAS kernel that ran (and why: EmoKit's choice from the CPU flags, or your OPENBLAS_CORETYPE) is printed with every report; `emo bench blas` compares that choice with every core the CPU supports.
        """,
        subcommands: [
            BenchPlugins.self,
            BenchMedia.self,
            BenchFeatures.self,
            BenchBLAS.self,
            BenchTensor.self,
            BenchText.self,
            BenchEncoders.self,
            BenchExtract.self,
            BenchTraining.self,
            BenchFinetune.self,
            BenchExplain.self,
        ]
    )

    /// Loads the BLAS before any thread starts (its core is chosen through the environment), then parses.
    static func main() async { await mainLoadingBLASFirst() }
}
