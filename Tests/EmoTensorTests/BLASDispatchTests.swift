import EmoTensor
import EmoTestSupport
import Foundation
import XCTest

/// EmoKit chooses OpenBLAS's CPU kernel from the CPU flags (CEmoBLAS): the rule on a table of real CPUs, the
/// choice this process made, and what a user's OPENBLAS_CORETYPE or a missing library does. No test here
/// changes OPENBLAS_CORETYPE: each checks whichever branch this machine's environment takes.
final class BLASDispatchTests: XCTestCase {
    let avx512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
    let sse = ["sse3", "ssse3", "sse4_2"]

    func testRuleOnTableOfCPUs() {
        let cases: [(String, String, [String], String?)] = [
            // A family 6 model 207 Xeon (Emerald Rapids), unknown to OpenBLAS 0.3.21, which falls back to Prescott.
            ("Xeon model 207", "GenuineIntel", sse + ["avx", "avx2", "fma"] + avx512 + ["avx512_bf16", "os-ymm", "os-zmm"], "SkylakeX"),
            // The same CPU under an OS (or hypervisor) that does not save ZMM state: AVX-512 must not run.
            ("Xeon, ZMM off", "GenuineIntel", sse + ["avx", "avx2", "fma"] + avx512 + ["os-ymm"], "Haswell"),
            ("Zen 2", "AuthenticAMD", sse + ["avx", "avx2", "fma", "os-ymm"], "Zen"),
            ("Zen 4/5", "AuthenticAMD", sse + ["avx", "avx2", "fma"] + avx512 + ["avx512_bf16", "os-ymm", "os-zmm"], "SkylakeX"),
            ("Hygon Dhyana", "HygonGenuine", sse + ["avx", "avx2", "fma", "os-ymm"], "Zen"),
            ("Knights Landing (AVX-512F/CD only)", "GenuineIntel", sse + ["avx", "avx2", "fma", "avx512f", "avx512cd", "os-ymm", "os-zmm"], "Haswell"),
            ("Sandy Bridge", "GenuineIntel", sse + ["avx", "os-ymm"], "SandyBridge"),
            ("AVX without OS support", "GenuineIntel", sse + ["avx", "avx2", "fma"], nil),
            ("Nehalem", "GenuineIntel", sse, nil),
            ("not x86", "", [], nil),
        ]
        for (name, vendor, flags, expected) in cases {
            XCTAssertEqual(BLASInfo.chooseCore(vendor: vendor, flags: Set(flags)), expected, name)
        }
    }

    func testThisProcessRunsTheUsersCoreOrTheRulesChoice() throws {
        try BLASInfo.load()
        let env = ProcessInfo.processInfo.environment
        let running = BLASInfo.coreName.lowercased()
        if let user = env["OPENBLAS_CORETYPE"], !user.isEmpty {
            XCTAssertTrue(BLASInfo.coreIsUsers, BLASInfo.coreSource)
            XCTAssertEqual(running, user.lowercased(), "the user's OPENBLAS_CORETYPE must be respected as it is")
        } else if env["EMOKIT_BLAS_CORE"] != "openblas", BLASInfo.chosenCore != "none",
                  BLASInfo.coreSource.hasPrefix("chosen") {
            XCTAssertEqual(running, BLASInfo.chosenCore.lowercased(), BLASInfo.summary)
            XCTAssertNil(getenv("OPENBLAS_CORETYPE"), "the environment must be restored after the load")
        }
        #if arch(x86_64)
        XCTAssertTrue(BLASInfo.cpuFlags.split(separator: " ").contains("sse3"), BLASInfo.cpuFlags)
        XCTAssertTrue(BLASInfo.cpu.contains("family"), BLASInfo.cpu)
        #endif
        XCTAssertGreaterThanOrEqual(BLASInfo.threadCount, 1)
    }

    /// This CPU's rule must agree with the flags it read, and the flags with CPUID through another door
    /// (/proc/cpuinfo on Linux), so a wrong bit in the detector cannot pick kernels the CPU lacks.
    func testDetectedFlagsAgreeWithProcCpuinfo() throws {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("/proc/cpuinfo has no flags line on this system")
        }
        let kernel = Set(line.split(separator: ":")[1].split(separator: " ").map(String.init))
        let ours = Set(BLASInfo.cpuFlags.split(separator: " ").map(String.init))
        let names = ["avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16", "ssse3", "sse4_2"]
        for name in names {
            XCTAssertEqual(ours.contains(name), kernel.contains(name), "flag \(name): CPUID and /proc/cpuinfo disagree")
        }
    }

    /// sgemm through the late-bound library equals the naive twin on odd shapes, transposes and beta ≠ 0.
    func testLateBoundSgemmMatchesNaive() {
        var rng = SeededGenerator(seed: 11)
        for (m, n, k, ta, tb) in [(37, 53, 29, false, true), (64, 3, 130, true, false), (1, 97, 768, false, false)] {
            let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &rng) }
            let b = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &rng) }
            let c0 = (0..<(m * n)).map { _ in Float.random(in: -1...1, using: &rng) }
            var fast = c0, slow = c0
            Kernels.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: ta ? m : k, b: b,
                          ldb: tb ? k : n, beta: 2, c: &fast, ldc: n)
            NaiveKernels.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: ta ? m : k, b: b,
                               ldb: tb ? k : n, beta: 2, c: &slow, ldc: n)
            let worst = zip(fast, slow).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-4, "m \(m) n \(n) k \(k) on core \(BLASInfo.coreName)")
        }
    }

    /// `emo --version --verbose` states the CPU, its flags and the core with its source; a BLAS that cannot be
    /// loaded is named with what to install, and the command still answers.
    func testVersionVerboseAndMissingLibrary() throws {
        let emo = try TestRepository.emoExecutable().path
        let ok = try TestRepository.run(emo, ["--version", "--verbose"])
        XCTAssertEqual(ok.status, 0, ok.output)
        for key in ["cpu:", "cpu flags:", "blas core:", "rule's choice:", "blas threads:"] {
            XCTAssertTrue(ok.output.contains(key), "missing \(key) in:\n\(ok.output)")
        }
        XCTAssertTrue(ok.output.contains("blas core:      \(BLASInfo.coreName) (\(BLASInfo.coreSource))"), ok.output)

        var env = ProcessInfo.processInfo.environment
        env["EMOKIT_BLAS_LIBRARY"] = "/nonexistent/libnotablas.so"
        let bad = try TestRepository.run(emo, ["--version", "--verbose"], environment: env)
        XCTAssertEqual(bad.status, 0, bad.output)
        XCTAssertTrue(bad.output.contains("cannot load its BLAS library '/nonexistent/libnotablas.so'"), bad.output)
        XCTAssertTrue(bad.output.contains("apt-get install libopenblas0-pthread"), bad.output)

        // A library that exists but is no CBLAS (libm): refused by name, not a crash on a missing symbol.
        env["EMOKIT_BLAS_LIBRARY"] = "libm.so.6"
        let notBLAS = try TestRepository.run(emo, ["--version", "--verbose"], environment: env)
        XCTAssertTrue(notBLAS.output.contains("it is not a CBLAS library"), notBLAS.output)
    }
}
