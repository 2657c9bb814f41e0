import EmoClassifiers
import EmoPluginSDK

/// The library's one exported symbol: hands this plugin's components to the host.
@_cdecl("emo_plugin_entry")
public func emo_plugin_entry(_ hostMajor: UInt32, _ hostMinor: UInt32) -> UnsafeRawPointer? {
    PluginExport.entry(hostMajor: hostMajor, hostMinor: hostMinor,
                       plugin: "classifiers", version: "1.0.0",
                       components: [MLPClassifier.self, LogisticClassifier.self, RandomFourierClassifier.self])
}
