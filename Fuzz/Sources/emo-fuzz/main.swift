// emo-fuzz: one libFuzzer driver over every EmoKit parser of untrusted bytes.
//
//     emo-fuzz TARGET [libFuzzer flags] [corpus folders]     (or EMO_FUZZ_TARGET=TARGET emo-fuzz ...)
//     emo-fuzz --list
//
// Built by Fuzz/build.sh (address sanitizer + SanitizerCoverage, linked with libclang_rt.fuzzer_no_main); run by
// Fuzz/run.sh. Each target feeds the input to the real entry point a user's file reaches (a file in a scratch
// folder where the entry point reads files) and touches what it returns; any trap, sanitizer report, timeout or
// runaway allocation is a finding. See docs/hardening.md.

import CEmoFuzz
import Foundation

/// The target the callback runs (set once, before libFuzzer starts).
nonisolated(unsafe) var activeTarget: FuzzTarget?

var arguments = CommandLine.arguments
if arguments.count > 1, arguments[1] == "--list" {
    for t in FuzzTarget.all { print("\(t.name)\t\(t.summary)") }
    exit(0)
}
var selected = ProcessInfo.processInfo.environment["EMO_FUZZ_TARGET"]
if arguments.count > 1, !arguments[1].hasPrefix("-"), FuzzTarget.all.contains(where: { $0.name == arguments[1] }) {
    let chosen = arguments.remove(at: 1)
    selected = chosen
    setenv("EMO_FUZZ_TARGET", chosen, 1)  // for the processes libFuzzer forks
}
guard let name = selected, let target = FuzzTarget.all.first(where: { $0.name == name }) else {
    let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
    FileHandle.standardError.write(Data("usage: emo-fuzz TARGET [libFuzzer flags] [corpus...]; targets: \(names)\n".utf8))
    exit(2)
}
activeTarget = target
Scratch.prepare()

let callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    activeTarget?.run(bytes)
    return 0
}
var argc = Int32(arguments.count)
var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
let status = cArguments.withUnsafeMutableBufferPointer { buffer -> Int32 in
    var argv = buffer.baseAddress
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
exit(status)
