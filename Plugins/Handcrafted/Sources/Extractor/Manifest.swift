import EmoCore
import EmoPluginSDK

extension HandcraftedExtractor {
    /// The manifest: inputs, outputs and the config schema with defaults.
    static let manifest: JSONValue = {
        .object([
            "description": "Handcrafted acoustic features with librosa 0.11 numerics (MFCC, chroma, spectral shape, ZCR, RMS, pYIN pitch) plus formants, HNR, jitter, shimmer and speech rate; presets study-a, egemaps-like and egemaps-v02 (openSMILE 3.0's eGeMAPSv02 functionals, openSMILE's names).",
            "inputs": .array([.object(["name": "audio", "dims": .array(["S"]), "dtype": "float32",
                                       "description": "16 kHz mono samples in [-1, 1]"])]),
            "outputs": .array([.object(["name": "features", "dims": .array(["C"]), "dtype": "float32",
                                        "description": "one value per feature name (see resolved description); NaN where undefined (e.g. pitch of an unvoiced clip, flagged by voiced_fraction = 0)"])]),
            "trainable": false, "differentiable": false,
            "config": Config.schema,
        ])
    }()

    /// The settings: the preset, the descriptor and functional overrides, and `ExtractorSettings` (whose own
    /// defaults are the defaults).
    struct Config: ComponentConfig {
        var preset = Preset.studyA
        var descriptors: [Descriptor]?
        var functionals: [Functional]?
        var settings = ExtractorSettings()
        static var fields: [ConfigField<Config>] {
            [.choice("preset", \.preset, "study-a | egemaps-like | egemaps-v02 (openSMILE 3.0 eGeMAPSv02: 88 functionals with openSMILE's names, computed as openSMILE does; 67 of them match openSMILE on real clips, the formant-based 20 and hammarbergIndexUV only approximately) | custom"),
             .choices("descriptors", \.descriptors, "descriptor names for preset custom"),
             .choices("functionals", \.functionals, "mean, std, min, max, p20, p50, p80, range, slope; null = the preset's own"),
             .number("sample_rate", \.settings.sampleRate, "input sample rate (must be 16000: EmoKit clips are 16 kHz mono)"),
             .int("n_fft", \.settings.nFFT, in: 16...65_536, "STFT length (power of two)"),
             .int("hop_length", \.settings.hop, in: 16...65_536, "frame hop in samples (STFT, ZCR, RMS and pYIN)"),
             .int("n_mfcc", \.settings.nMFCC, in: 1...256, "MFCC count (at most n_mels)"),
             .int("n_mels", \.settings.nMels, in: 1...1_024, "mel bands"),
             .number("roll_percent", \.settings.rollPercent, in: 0...1, "spectral roll-off fraction, in (0, 1)"),
             .number("pitch_fmin", \.settings.pitch.fmin, in: 1...8_000, "pYIN lowest f0 in Hz (C2)"),
             .number("pitch_fmax", \.settings.pitch.fmax, in: 1...8_000, "pYIN highest f0 in Hz (C7)"),
             .int("pitch_frame_length", \.settings.pitch.frameLength, in: 64...65_536, "pYIN frame length in samples"),
             .choice("voice_method", \.settings.voiceMethod, "pyin (the default: EmoKit's definitions on pYIN's voicing and periods, about 13 ms per 3 s clip for the whole study-a set; not Praat's numbers) | praat (Praat 6.1.38's analyses: voicing by To Pitch (ac) 75-600 Hz, F1-F3 by To Formant (burg) at voiced pitch frames, HNR by To Harmonicity (ac), jitter/shimmer (local) by To PointProcess (periodic, cc), speech rate on To Intensity; the values a Praat script reports); about 110 ms more per 3 s clip, 1.6x faster than Praat itself; what the Study A pipelines use)"),
             .int("lpc_order", \.settings.lpcOrder, in: 4...40, "LPC order for formants (2 + sr/1000), voice_method pyin with formant_method lpc"),
             .choice("formant_method", \.settings.formantMethod, "voice_method pyin only: lpc (autocorrelation LPC, 10 ms frames) | praat-burg (Praat 6.1.38 To Formant (burg) with its defaults: 5500 Hz, 5 formants, 0.025 s window, 50 Hz pre-emphasis); F1-F3 averaged over pYIN-voiced frames either way")]
        }

        func problem() -> String? {
            if settings.sampleRate != 16000 { return "'sample_rate' must be 16000 (EmoKit clips are 16 kHz mono)" }
            if settings.nMFCC > settings.nMels { return "need n_mfcc ≤ n_mels, got n_mfcc \(settings.nMFCC) and n_mels \(settings.nMels)" }
            if !(settings.rollPercent > 0 && settings.rollPercent < 1) { return "'roll_percent' must be in (0, 1)" }
            if settings.pitch.fmin >= settings.pitch.fmax { return "need pitch_fmin < pitch_fmax" }
            if preset == .custom && (descriptors ?? []).isEmpty { return "preset custom needs a non-empty descriptors list" }
            if functionals?.isEmpty == true { return "'functionals' must not be empty (or null for the preset's own)" }
            if preset == .egemapsV02 && (functionals != nil || descriptors != nil) {
                return "preset egemaps-v02 is openSMILE's fixed set: 'descriptors' and 'functionals' must be null"
            }
            return nil
        }
    }
}
