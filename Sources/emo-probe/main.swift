// emo-probe: loads one plugin library in this (child) process and prints what it declares as one JSON line.
// The host runs it for every new or changed library, so a plugin that crashes or hangs here cannot hurt the host.
// Usage: emo-probe /abs/path/libPlugin.so
import EmoRuntime
import Foundation

let args = CommandLine.arguments
guard args.count == 2 else {
    FileHandle.standardError.write(Data("usage: emo-probe /abs/path/libPlugin.so\n".utf8))
    exit(64)
}
do {
    let library = try PluginLoader.open(args[1])
    print(ProbeReport.encode(library.description))
    exit(0)
} catch {
    print(ProbeReport.encode(error))
    exit(2)
}
