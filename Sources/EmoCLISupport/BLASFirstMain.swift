import ArgumentParser
import EmoTensor
import Foundation

extension AsyncParsableCommand {
    /// `main` for EmoKit's executables: loads the BLAS before anything else runs (its CPU kernel is chosen through
    /// the environment, which is safe only while this is the only thread), lets `intercept` answer arguments that
    /// bypass parsing (it returns true when it did), warns when the BLAS could not be loaded, then parses and runs
    /// as ArgumentParser's own `main` does.
    public static func mainLoadingBLASFirst(intercept: @Sendable (BLASLoadError?) -> Bool = { _ in false }) async {
        var blasError: BLASLoadError?
        do { try BLASInfo.load() } catch { blasError = error }
        if intercept(blasError) { return }
        if let blasError {
            FileHandle.standardError.write(Data("warning: \(blasError.message)\n".utf8))
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
