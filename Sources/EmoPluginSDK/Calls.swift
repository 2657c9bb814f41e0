import EmoCore
import EmoPluginABI
import Foundation

/// One live instance behind an `emo_instance *`: the Swift component and the memory its outputs live in.
final class InstanceBox {
    let component: any Component
    let outputs = TensorArena()
    var describeText: UnsafeMutablePointer<CChar>?
    var paramNames: [UnsafeMutablePointer<CChar>?] = []
    var outputList = emo_tensor_list()
    /// State serialised by `state_size` for a component that cannot write in place, until `save_state_into` takes it.
    var pendingState: [UInt8]?

    init(_ component: any Component) { self.component = component }

    deinit {
        free(describeText)
        for n in paramNames { free(n) }
    }

    static func from(_ p: OpaquePointer?) -> InstanceBox? {
        guard let p else { return nil }
        return Unmanaged<InstanceBox>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }

    /// Stores values as this instance's outputs and points `list` at them.
    func publish(_ values: [Value], into list: UnsafeMutablePointer<emo_tensor_list>?) throws {
        let items = try outputs.store(values)
        outputList = emo_tensor_list(items: UnsafePointer(items), count: values.count)
        list?.pointee = outputList
    }
}

/// Writes `error`'s text into `*out` (malloc'd; the host frees it through `free_string`) and maps it to a status.
func report(_ error: Error, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> emo_status {
    out?.pointee = strdup(String(describing: error))
    switch error {
    case let e as ComponentError:
        switch e {
        case .invalidConfig, .invalidInput: return EMO_ERR_INVALID_ARGUMENT
        case .unsupported: return EMO_ERR_UNSUPPORTED
        case .io: return EMO_ERR_IO
        case .failed: return EMO_ERR_INTERNAL
        }
    case is ShapeError, is JSONValueError: return EMO_ERR_INVALID_ARGUMENT
    default: return EMO_ERR_INTERNAL
    }
}

/// Creates slot `slot`'s component type from a JSON config.
func createInstance(slot: Int, config: UnsafePointer<CChar>?, out: UnsafeMutablePointer<OpaquePointer?>?,
                    errOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> emo_status {
    guard slot < ComponentTable.types.count else {
        return report(ComponentError.failed(component: "sdk", message: "no component in slot \(slot)"), errOut)
    }
    let type = ComponentTable.types[slot]
    do {
        let user = try JSONValue.parse(config.map { String(cString: $0) } ?? "{}")
        guard case .object = user else {
            throw ComponentError.invalidConfig(component: type.componentInfo.id, message: "config must be a JSON object")
        }
        let issues = type.componentInfo.configIssues(user)
        guard issues.isEmpty else {
            throw ComponentError.invalidConfig(component: type.componentInfo.id, message: issues.joined(separator: "; "))
        }
        let component = try type.init(config: type.componentInfo.configDefaults.merging(user))
        out?.pointee = OpaquePointer(Unmanaged.passRetained(InstanceBox(component)).toOpaque())
        return EMO_OK
    } catch {
        return report(error, errOut)
    }
}

/// The C entry points shared by every component (the instance box knows the Swift type).
enum Calls {
    static let destroy: @convention(c) (OpaquePointer?) -> Void = { p in
        guard let p else { return }
        Unmanaged<InstanceBox>.fromOpaque(UnsafeRawPointer(p)).release()
    }

    static let describe: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>? = { p in
        guard let box = InstanceBox.from(p) else { return nil }
        free(box.describeText)
        box.describeText = strdup(box.component.resolvedDescription.serialized())
        return UnsafePointer(box.describeText)
    }

    static let forward: @convention(c) (OpaquePointer?, UnsafePointer<emo_tensor>?, Int,
                                        UnsafeMutablePointer<emo_tensor_list>?,
                                        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> emo_status = {
        p, inputs, count, outputs, errOut in
        guard let box = InstanceBox.from(p) else { return report(ComponentError.failed(component: "sdk", message: "NULL instance"), errOut) }
        do {
            var values: [Value] = []
            values.reserveCapacity(count)
            for i in 0..<count {
                guard let inputs else { throw ComponentError.invalidInput(component: box.component.info.id, message: "NULL inputs") }
                values.append(try TensorBridge.value(from: inputs[i]))
            }
            try box.publish(try box.component.forward(values), into: outputs)
            return EMO_OK
        } catch {
            return report(error, errOut)
        }
    }

    static let backward: @convention(c) (OpaquePointer?, UnsafePointer<emo_tensor>?, Int,
                                         UnsafeMutablePointer<emo_tensor_list>?,
                                         UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> emo_status = {
        p, grads, count, gradInputs, errOut in
        guard let box = InstanceBox.from(p) else { return report(ComponentError.failed(component: "sdk", message: "NULL instance"), errOut) }
        guard let diff = box.component as? any DifferentiableComponent else {
            return report(ComponentError.unsupported(component: box.component.info.id, call: "backward"), errOut)
        }
        do {
            var arrays: [NDArray] = []
            for i in 0..<count {
                guard let grads else { throw ComponentError.invalidInput(component: box.component.info.id, message: "NULL gradients") }
                arrays.append(try TensorBridge.array(from: grads[i]))
            }
            try box.publish(try diff.backward(arrays).map { Value.array($0) }, into: gradInputs)
            return EMO_OK
        } catch {
            return report(error, errOut)
        }
    }

    static let setTraining: @convention(c) (OpaquePointer?, Int32) -> emo_status = { p, on in
        guard let t = InstanceBox.from(p)?.component as? any TrainableComponent else { return EMO_ERR_UNSUPPORTED }
        t.setTraining(on != 0)
        return EMO_OK
    }

    static let paramCount: @convention(c) (OpaquePointer?) -> Int = { p in
        (InstanceBox.from(p)?.component as? any TrainableComponent)?.parameters.count ?? 0
    }

    static let paramAt: @convention(c) (OpaquePointer?, Int, UnsafeMutablePointer<emo_param>?) -> emo_status = { p, index, out in
        guard let box = InstanceBox.from(p), let t = box.component as? any TrainableComponent else { return EMO_ERR_UNSUPPORTED }
        let params = t.parameters
        guard index >= 0, index < params.count, let out else { return EMO_ERR_INVALID_ARGUMENT }
        if box.paramNames.count != params.count {
            for n in box.paramNames { free(n) }
            box.paramNames = params.map { strdup($0.name) }
        }
        let q = params[index]
        var e = emo_param()
        e.struct_size = UInt32(MemoryLayout<emo_param>.size)
        e.name = UnsafePointer(box.paramNames[index])
        e.value = q.value
        e.grad = q.grad
        e.rank = Int32(q.shape.count)
        emoSetShape(&e.shape, q.shape)
        e.weight_decay = q.weightDecay
        e.flags = q.isBuffer ? EMO_PARAM_FLAG_BUFFER : 0
        out.pointee = e
        return EMO_OK
    }

    static let saveState: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
                                          UnsafeMutablePointer<Int>?,
                                          UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> emo_status = {
        p, bytes, length, errOut in
        guard let t = InstanceBox.from(p)?.component as? any TrainableComponent else { return EMO_ERR_UNSUPPORTED }
        do {
            let state = try t.saveState()
            let buf = malloc(max(state.count, 1))?.assumingMemoryBound(to: UInt8.self)
            guard let buf else { throw ComponentError.failed(component: t.info.id, message: "out of memory saving state") }
            state.withUnsafeBufferPointer { src in
                if let base = src.baseAddress { buf.update(from: base, count: state.count) }
            }
            bytes?.pointee = buf
            length?.pointee = state.count
            return EMO_OK
        } catch {
            return report(error, errOut)
        }
    }

    /// ABI 1.1: the size of the state `saveStateInto` writes. A `DirectStateSaving` component reports it without
    /// serialising; any other is serialised now and held until `saveStateInto` copies it out.
    static let stateSize: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>?,
                                          UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> emo_status = {
        p, length, errOut in
        guard let box = InstanceBox.from(p), let t = box.component as? any TrainableComponent else { return EMO_ERR_UNSUPPORTED }
        do {
            box.pendingState = nil
            if let direct = t as? any DirectStateSaving {
                length?.pointee = try direct.stateByteCount()
            } else {
                let state = try t.saveState()
                box.pendingState = state
                length?.pointee = state.count
            }
            return EMO_OK
        } catch {
            return report(error, errOut)
        }
    }

    /// ABI 1.1: writes the state into the host's buffer of `length` bytes (what `stateSize` reported).
    static let saveStateInto: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt8>?, Int,
                                              UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> emo_status = {
        p, bytes, length, errOut in
        guard let box = InstanceBox.from(p), let t = box.component as? any TrainableComponent else { return EMO_ERR_UNSUPPORTED }
        let buffer = UnsafeMutableRawBufferPointer(start: bytes, count: bytes == nil ? 0 : length)
        let pending = box.pendingState
        box.pendingState = nil
        do {
            if let pending {
                guard pending.count == buffer.count else {
                    throw ComponentError.failed(component: t.info.id, message: "save_state_into: buffer of \(buffer.count) bytes for a state of \(pending.count)")
                }
                pending.withUnsafeBytes { if let src = $0.baseAddress, let dst = buffer.baseAddress { dst.copyMemory(from: src, byteCount: pending.count) } }
            } else if let direct = t as? any DirectStateSaving {
                let count = try direct.stateByteCount()
                guard count == buffer.count else {
                    throw ComponentError.failed(component: t.info.id, message: "save_state_into: buffer of \(buffer.count) bytes for a state of \(count) (call state_size first)")
                }
                try direct.writeState(into: buffer)
            } else {
                throw ComponentError.failed(component: t.info.id, message: "save_state_into called without state_size first")
            }
            return EMO_OK
        } catch {
            return report(error, errOut)
        }
    }

    static let loadState: @convention(c) (OpaquePointer?, UnsafePointer<UInt8>?, Int,
                                          UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> emo_status = {
        p, bytes, length, errOut in
        guard let t = InstanceBox.from(p)?.component as? any TrainableComponent else { return EMO_ERR_UNSUPPORTED }
        do {
            let state = bytes.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
            try t.loadState(state)
            return EMO_OK
        } catch {
            return report(error, errOut)
        }
    }

    static let explain: @convention(c) (OpaquePointer?, UnsafePointer<emo_model>?, UnsafePointer<emo_tensor>?,
                                        UnsafePointer<emo_tensor>?, UnsafePointer<Int64>?,
                                        UnsafeMutablePointer<emo_tensor_list>?,
                                        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> emo_status = {
        p, model, input, baseline, targets, outputs, errOut in
        guard let box = InstanceBox.from(p), let explainer = box.component as? any ExplainerComponent else {
            return report(ComponentError.unsupported(component: "sdk", call: "explain"), errOut)
        }
        do {
            guard let model, let input else {
                throw ComponentError.invalidInput(component: explainer.info.id, message: "NULL model or input")
            }
            let x = try TensorBridge.array(from: input.pointee)
            let base = try baseline.map { try TensorBridge.array(from: $0.pointee) }
            let rows = x.shape.first ?? 0
            let t = targets.map { tp in (0..<rows).map { i in Int(tp[i]) } } ?? [Int](repeating: 0, count: rows)
            let result = try explainer.explain(model: CModel(model.pointee), input: x, baseline: base, targets: t)
            var values: [Value] = [.array(result.values)]
            if let d = result.delta { values.append(.array(NDArray(vector: d))) }
            try box.publish(values, into: outputs)
            return EMO_OK
        } catch {
            return report(error, errOut)
        }
    }
}

/// The host's `emo_model`, seen from inside an explainer plugin.
struct CModel: ExplainableModel {
    let model: emo_model

    init(_ model: emo_model) { self.model = model }

    var numClasses: Int { Int(model.num_classes) }
    var isDifferentiable: Bool { model.gradient != nil }

    func scores(_ inputs: NDArray) throws -> NDArray {
        guard let forward = model.forward else { throw ComponentError.unsupported(component: "model", call: "forward") }
        let rows = inputs.shape.first ?? 0
        var out = NDArray(zeros: [rows, numClasses])
        try call(inputs) { t, err in
            out.data.withUnsafeMutableBufferPointer { forward(model.context, t, $0.baseAddress, err) }
        }
        return out
    }

    func gradient(_ inputs: NDArray, targets: [Int]) throws -> NDArray {
        guard let gradient = model.gradient else {
            throw ComponentError.unsupported(component: "model", call: "gradient (a component in the chain has no backward)")
        }
        var out = NDArray(zeros: inputs.shape)
        let t64 = targets.map { Int64($0) }
        try call(inputs) { t, err in
            t64.withUnsafeBufferPointer { tp in
                out.data.withUnsafeMutableBufferPointer { gradient(model.context, t, tp.baseAddress, $0.baseAddress, err) }
            }
        }
        return out
    }

    private func call(_ inputs: NDArray,
                      _ body: (UnsafePointer<emo_tensor>, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> emo_status) throws {
        let arena = TensorArena()
        let t = try arena.store([.array(inputs)])
        var err: UnsafeMutablePointer<CChar>? = nil
        let status = body(UnsafePointer(t), &err)
        if status != EMO_OK {
            let message = err.map { String(cString: $0) } ?? "status \(status.rawValue)"
            if let err { model.free_string?(err) }
            throw ComponentError.failed(component: "model", message: message)
        }
    }
}
