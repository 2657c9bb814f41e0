// emo-probe: loads one plugin library in this (child) process and prints what it declares as one JSON line.
// The host runs it for every new or changed library, so a plugin that crashes or hangs here cannot hurt the host.
// With --self-check it also creates every component that needs no config with its defaults (`emo plugins verify`),
// so a create() that crashes or hangs is caught here too.
// Usage: emo-probe [--self-check] /abs/path/libPlugin.so
import EmoRuntime
import Foundation

let args = CommandLine.arguments
let selfCheck = args.count == 3 && args[1] == "--self-check"
guard args.count == 2 || selfCheck else {
    FileHandle.standardError.write(Data("usage: emo-probe [--self-check] /abs/path/libPlugin.so\n".utf8))
    exit(64)
}
do {
    let library = try PluginLoader.open(args[args.count - 1])
    print(selfCheck ? ProbeReport.encode(library.selfCheck()) : ProbeReport.encode(library.description))
    exit(0)
} catch {
    print(ProbeReport.encode(error))
    exit(2)
}
