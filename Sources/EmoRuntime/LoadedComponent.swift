import EmoCore
import EmoPluginABI
import EmoPluginSDK
import Foundation

/// A component instance living in a plugin library, presented as EmoCore's Swift protocols.
///
/// Calls the plugin does not implement throw `ComponentError.unsupported`; check `isDifferentiable`,
/// `isTrainable` and `isExplainer` first when it matters.
public final class LoadedComponent: TrainableComponent, ExplainerComponent, @unchecked Sendable {
    /// Identity and manifest.
    public let info: ComponentInfo
    /// The library it came from.
    public let library: LoadedLibrary
    private let component: UnsafePointer<emo_component>
    private let instance: OpaquePointer
    private let inputArena = TensorArena()

    init(library: LoadedLibrary, component: UnsafePointer<emo_component>, info: ComponentInfo,
         config: JSONValue) throws(RuntimeError) {
        self.library = library
        self.component = component
        self.info = info
        var out: OpaquePointer?
        var err: UnsafeMutablePointer<CChar>?
        guard let create = component.pointee.create else {
            throw .badDescriptor(path: library.path, reason: "component \(info.id) has no create")
        }
        let status = config.serialized().withCString { create($0, &out, &err) }
        guard status == EMO_OK, let out else {
            throw .componentFailed(id: info.id, call: "create", message: LoadedComponent.take(err, library, status))
        }
        self.instance = out
    }

    deinit { component.pointee.destroy?(instance) }

    /// True when the plugin implements backward.
    public var isDifferentiable: Bool { component.pointee.backward != nil }
    /// True when the plugin exposes parameters and state.
    public var isTrainable: Bool { component.pointee.param_count != nil && component.pointee.param_at != nil }
    /// True when the plugin implements explain.
    public var isExplainer: Bool { component.pointee.explain != nil }

    /// The instance's resolved config and output spec.
    public var resolvedDescription: JSONValue {
        guard let describe = component.pointee.describe, let text = describe(instance) else { return .null }
        return (try? JSONValue.parse(String(cString: text))) ?? .null
    }

    /// Runs forward in the plugin; outputs are copied out of plugin memory.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        guard let forward = component.pointee.forward else {
            throw ComponentError.unsupported(component: info.id, call: "forward")
        }
        let tensors = try inputArena.store(inputs)
        var list = emo_tensor_list()
        var err: UnsafeMutablePointer<CChar>?
        let status = forward(instance, tensors, inputs.count, &list, &err)
        guard status == EMO_OK else { throw fail("forward", err, status) }
        return try read(list)
    }

    /// Runs backward in the plugin (vector-Jacobian product of the last forward).
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        guard let backward = component.pointee.backward else {
            throw ComponentError.unsupported(component: info.id, call: "backward")
        }
        let tensors = try inputArena.store(gradOutputs.map { Value.array($0) })
        var list = emo_tensor_list()
        var err: UnsafeMutablePointer<CChar>?
        let status = backward(instance, tensors, gradOutputs.count, &list, &err)
        guard status == EMO_OK else { throw fail("backward", err, status) }
        return try read(list).map { v in
            guard let a = v.array else { throw ComponentError.invalidInput(component: info.id, message: "backward returned a non-float tensor") }
            return a
        }
    }

    /// The plugin's parameter buffers (addresses in plugin memory, stable until this instance is released).
    public var parameters: [ParameterBuffer] {
        guard let count = component.pointee.param_count, let at = component.pointee.param_at else { return [] }
        return (0..<count(instance)).compactMap { i in
            var p = emo_param()
            guard at(instance, i, &p) == EMO_OK, let value = p.value, let grad = p.grad else { return nil }
            return ParameterBuffer(name: p.name.map { String(cString: $0) } ?? "param\(i)",
                                   shape: emoShape(p.shape, rank: p.rank), value: value, grad: grad,
                                   weightDecay: p.weight_decay, isBuffer: p.flags & EMO_PARAM_FLAG_BUFFER != 0)
        }
    }

    /// Switches training mode (no-op for components without one).
    public func setTraining(_ training: Bool) {
        _ = component.pointee.set_training?(instance, training ? 1 : 0)
    }

    /// Serialises the instance's state: straight into the returned array when the plugin has ABI 1.1's
    /// `state_size` + `save_state_into`, else through `save_state`'s plugin-owned blob (one copy more).
    public func saveState() throws -> [UInt8] {
        if let state = try saveStateInPlace() { return state }
        return try saveStateThroughBlob()
    }

    /// `state_size` + `save_state_into` (ABI 1.1): the plugin writes into the array; nil when it has neither.
    func saveStateInPlace() throws -> [UInt8]? {
        guard component.pointee.abi_minor >= 1, let size = component.pointee.state_size,
              let into = component.pointee.save_state_into else { return nil }
        var err: UnsafeMutablePointer<CChar>?
        var length = 0
        let sized = size(instance, &length, &err)
        guard sized == EMO_OK else { throw fail("state_size", err, sized) }
        var status = EMO_OK
        let state = [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            status = into(instance, buffer.baseAddress, length, &err)
            initialized = status == EMO_OK ? length : 0
        }
        guard status == EMO_OK else { throw fail("save_state_into", err, status) }
        return state
    }

    /// `save_state` (ABI 1.0): the plugin's blob, copied, then released with `free_bytes`.
    func saveStateThroughBlob() throws -> [UInt8] {
        guard let save = component.pointee.save_state else {
            throw ComponentError.unsupported(component: info.id, call: "save_state")
        }
        var err: UnsafeMutablePointer<CChar>?
        var bytes: UnsafeMutablePointer<UInt8>?
        var length = 0
        let status = save(instance, &bytes, &length, &err)
        guard status == EMO_OK else { throw fail("save_state", err, status) }
        defer { if let bytes { library.descriptor.pointee.free_bytes?(bytes) } }
        return bytes.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
    }

    /// Restores state written by `saveState`.
    public func loadState(_ state: [UInt8]) throws {
        guard let load = component.pointee.load_state else {
            throw ComponentError.unsupported(component: info.id, call: "load_state")
        }
        var err: UnsafeMutablePointer<CChar>?
        let status = state.withUnsafeBufferPointer { load(instance, $0.baseAddress, $0.count, &err) }
        guard status == EMO_OK else { throw fail("load_state", err, status) }
    }

    /// Runs the plugin's explainer on `model`.
    public func explain(model: ExplainableModel, input: NDArray, baseline: NDArray?, targets: [Int]) throws -> Attribution {
        guard let explain = component.pointee.explain else {
            throw ComponentError.unsupported(component: info.id, call: "explain")
        }
        let bridge = HostModel(model)
        let arena = TensorArena()
        let values: [Value] = [.array(input)] + (baseline.map { [Value.array($0)] } ?? [])
        let tensors = try arena.store(values)
        let t64 = targets.map { Int64($0) }
        var list = emo_tensor_list()
        var err: UnsafeMutablePointer<CChar>?
        let status = bridge.withCModel { model in
            t64.withUnsafeBufferPointer { tp in
                explain(instance, model, tensors, baseline == nil ? nil : UnsafePointer(tensors + 1), tp.baseAddress, &list, &err)
            }
        }
        guard status == EMO_OK else { throw fail("explain", err, status) }
        let out = try read(list)
        guard let values = out.first?.array else {
            throw ComponentError.failed(component: info.id, message: "explain returned no attribution tensor")
        }
        return Attribution(values: values, delta: out.count > 1 ? out[1].array?.data : nil)
    }

    private func read(_ list: emo_tensor_list) throws -> [Value] {
        guard list.count > 0 else { return [] }
        guard let items = list.items else {
            throw ComponentError.failed(component: info.id, message: "plugin returned \(list.count) outputs with a NULL list")
        }
        return try (0..<list.count).map { try TensorBridge.value(from: items[$0]) }
    }

    private func fail(_ call: String, _ err: UnsafeMutablePointer<CChar>?, _ status: emo_status) -> RuntimeError {
        .componentFailed(id: info.id, call: call, message: LoadedComponent.take(err, library, status))
    }

    static func take(_ err: UnsafeMutablePointer<CChar>?, _ library: LoadedLibrary, _ status: emo_status) -> String {
        guard let err else { return "failed with status \(status.rawValue) and no message" }
        defer { library.descriptor.pointee.free_string?(err) }
        return String(cString: err)
    }
}

/// A Swift `ExplainableModel` presented to a plugin as a C `emo_model`.
final class HostModel {
    let model: ExplainableModel

    init(_ model: ExplainableModel) { self.model = model }

    /// Calls `body` with an `emo_model` whose context points at this object (valid only inside `body`).
    func withCModel<R>(_ body: (UnsafePointer<emo_model>) -> R) -> R {
        var m = emo_model()
        m.struct_size = UInt32(MemoryLayout<emo_model>.size)
        m.context = Unmanaged.passUnretained(self).toOpaque()
        m.num_classes = Int64(model.numClasses)
        m.free_string = { free($0) }
        m.forward = { ctx, inputs, scores, err in
            guard let ctx, let inputs, let scores else { return EMO_ERR_INVALID_ARGUMENT }
            let me = Unmanaged<HostModel>.fromOpaque(ctx).takeUnretainedValue()
            do {
                let x = try TensorBridge.array(from: inputs.pointee)
                let s = try me.model.scores(x)
                let expected = (x.shape.first ?? 0) * me.model.numClasses
                guard s.count == expected else {
                    throw ComponentError.failed(component: "model", message: "scores have \(s.count) values, expected \(expected)")
                }
                s.data.withUnsafeBufferPointer { if let base = $0.baseAddress { scores.update(from: base, count: s.count) } }
                return EMO_OK
            } catch {
                err?.pointee = strdup(String(describing: error))
                return EMO_ERR_INTERNAL
            }
        }
        if model.isDifferentiable {
            m.gradient = { ctx, inputs, targets, grad, err in
                guard let ctx, let inputs, let grad else { return EMO_ERR_INVALID_ARGUMENT }
                let me = Unmanaged<HostModel>.fromOpaque(ctx).takeUnretainedValue()
                do {
                    let x = try TensorBridge.array(from: inputs.pointee)
                    let rows = x.shape.first ?? 0
                    let t = targets.map { tp in (0..<rows).map { Int(tp[$0]) } } ?? [Int](repeating: 0, count: rows)
                    let g = try me.model.gradient(x, targets: t)
                    guard g.count == x.count else {
                        throw ComponentError.failed(component: "model", message: "gradient has \(g.count) values for \(x.count) inputs")
                    }
                    g.data.withUnsafeBufferPointer { if let base = $0.baseAddress { grad.update(from: base, count: g.count) } }
                    return EMO_OK
                } catch {
                    err?.pointee = strdup(String(describing: error))
                    return EMO_ERR_INTERNAL
                }
            }
        }
        return withUnsafePointer(to: &m) { body($0) }
    }
}
