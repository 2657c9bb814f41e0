import EmoCore
import EmoPluginABI

/// The component types of this library, by slot, and one C `create` trampoline per slot
/// (a C function pointer cannot capture which Swift type to build).
enum ComponentTable {
    static let slotCount = 32
    nonisolated(unsafe) static var types: [any PluginComponent.Type] = []

    typealias Create = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<OpaquePointer?>?,
                                       UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> emo_status

    static let createTrampolines: [Create] = [
        { createInstance(slot: 0, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 1, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 2, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 3, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 4, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 5, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 6, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 7, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 8, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 9, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 10, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 11, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 12, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 13, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 14, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 15, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 16, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 17, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 18, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 19, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 20, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 21, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 22, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 23, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 24, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 25, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 26, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 27, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 28, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 29, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 30, config: $0, out: $1, errOut: $2) },
        { createInstance(slot: 31, config: $0, out: $1, errOut: $2) },
    ]
}
