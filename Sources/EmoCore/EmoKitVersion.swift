/// The EmoKit release: what `emo --version` prints and what a bundle records as the version that wrote it.
public enum EmoKitVersion {
    /// Semantic version.
    public static let string = "0.1.0"
}
