import EmoPluginSDK
import EmoTemplate

/// The library's one exported symbol: hands this plugin's components to the host.
/// Rename "template" to your plugin's id and list your component types.
@_cdecl("emo_plugin_entry")
public func emo_plugin_entry(_ hostMajor: UInt32, _ hostMinor: UInt32) -> UnsafeRawPointer? {
    PluginExport.entry(hostMajor: hostMajor, hostMinor: hostMinor,
                       plugin: "template", version: "1.0.0", components: [TemplateStats.self, TemplateLinear.self])
}
