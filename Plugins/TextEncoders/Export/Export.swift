import EmoPluginSDK
import EmoTextEncoders

/// The library's one exported symbol: hands this plugin's components to the host.
@_cdecl("emo_plugin_entry")
public func emo_plugin_entry(_ hostMajor: UInt32, _ hostMinor: UInt32) -> UnsafeRawPointer? {
    PluginExport.entry(hostMajor: hostMajor, hostMinor: hostMinor,
                       plugin: "text-encoders", version: "0.1.0",
                       components: [RobertaEncoder.self, BertEncoder.self, WhisperTranscriber.self, WhisperEncoder.self])
}
