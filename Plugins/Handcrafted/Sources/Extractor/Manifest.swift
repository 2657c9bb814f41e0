import EmoCore

extension HandcraftedExtractor {
    /// The manifest: inputs, outputs and the config schema with defaults.
    static let manifest: JSONValue = {
        func opt(_ type: String, _ d: JSONValue, _ text: String, _ range: ClosedRange<Double>? = nil) -> JSONValue {
            var entry: [String: JSONValue] = ["type": .string(type), "default": d, "description": .string(text)]
            if let range { entry["minimum"] = .number(range.lowerBound); entry["maximum"] = .number(range.upperBound) }
            return .object(entry)
        }
        return .object([
            "description": "Handcrafted acoustic features with librosa 0.11 numerics (MFCC, chroma, spectral shape, ZCR, RMS, pYIN pitch) plus formants, HNR, jitter, shimmer and speech rate; presets study-a and egemaps-like.",
            "inputs": .array([.object(["name": "audio", "dims": .array(["S"]), "dtype": "float32",
                                       "description": "16 kHz mono samples in [-1, 1]"])]),
            "outputs": .array([.object(["name": "features", "dims": .array(["C"]), "dtype": "float32",
                                        "description": "one value per feature name (see resolved description); NaN where undefined (e.g. pitch of an unvoiced clip, flagged by voiced_fraction = 0)"])]),
            "trainable": false, "differentiable": false,
            "config": .object([
                "preset": opt("string", "study-a", "study-a | egemaps-like | custom"),
                "descriptors": opt("array|null", .null, "descriptor names for preset custom"),
                "functionals": opt("array|null", .null, "mean, std, min, max, p20, p50, p80, range, slope; null = the preset's own"),
                "sample_rate": opt("number", 16000, "input sample rate (must be 16000)"),
                "n_fft": opt("integer", 2048, "STFT length (power of two)", 16...65_536),
                "hop_length": opt("integer", 512, "frame hop in samples (STFT, ZCR, RMS and pYIN)", 16...65_536),
                "n_mfcc": opt("integer", 40, "MFCC count", 1...256),
                "n_mels": opt("integer", 128, "mel bands", 1...1_024),
                "roll_percent": opt("number", 0.85, "spectral roll-off fraction"),
                "pitch_fmin": opt("number", 65.40639132514966, "pYIN lowest f0 in Hz (C2)"),
                "pitch_fmax": opt("number", 2093.004522404789, "pYIN highest f0 in Hz (C7)"),
                "pitch_frame_length": opt("integer", 2048, "pYIN frame length in samples", 64...65_536),
                "voice_method": opt("string", "pyin", "pyin (the default: EmoKit's definitions on pYIN's voicing and periods, about 13 ms per 3 s clip for the whole study-a set; not Praat's numbers) | praat (Praat 6.1.38's analyses: voicing by To Pitch (ac) 75-600 Hz, F1-F3 by To Formant (burg) at voiced pitch frames, HNR by To Harmonicity (ac), jitter/shimmer (local) by To PointProcess (periodic, cc), speech rate on To Intensity; the values a Praat script reports); about 110 ms more per 3 s clip, 1.6x faster than Praat itself; what the Study A pipelines use)"),
                "lpc_order": opt("integer", 18, "LPC order for formants (2 + sr/1000), voice_method pyin with formant_method lpc", 4...40),
                "formant_method": opt("string", "lpc", "voice_method pyin only: lpc (autocorrelation LPC, 10 ms frames) | praat-burg (Praat 6.1.38 To Formant (burg) with its defaults: 5500 Hz, 5 formants, 0.025 s window, 50 Hz pre-emphasis); F1-F3 averaged over pYIN-voiced frames either way"),
            ]),
        ])
    }()
}
