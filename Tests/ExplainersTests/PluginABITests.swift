import EmoCore
import EmoExplainers
import EmoPluginABI
import EmoPluginSDK
import XCTest

/// The explainers through the C ABI, as the host calls them: the descriptor's `create` and `explain`, with the
/// model presented as an `emo_model` of C callbacks (what EmoRuntime builds from a chain of plugins).
final class PluginABITests: XCTestCase {
    /// Holds the Swift model behind an `emo_model`'s context pointer.
    final class ModelBox {
        let model: ExplainableModel
        init(_ model: ExplainableModel) { self.model = model }
    }

    static let forward: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<emo_tensor>?, UnsafeMutablePointer<Float>?,
                                        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> emo_status = {
        context, input, scores, _ in
        guard let context, let input, let scores,
              let x = try? TensorBridge.array(from: input.pointee) else { return EMO_ERR_INVALID_ARGUMENT }
        let box = Unmanaged<ModelBox>.fromOpaque(context).takeUnretainedValue()
        guard let s = try? box.model.scores(x) else { return EMO_ERR_INTERNAL }
        for i in 0..<s.count { scores[i] = s.data[i] }
        return EMO_OK
    }

    static let gradient: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<emo_tensor>?, UnsafePointer<Int64>?,
                                         UnsafeMutablePointer<Float>?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
        -> emo_status = { context, input, targets, grad, _ in
        guard let context, let input, let targets, let grad,
              let x = try? TensorBridge.array(from: input.pointee) else { return EMO_ERR_INVALID_ARGUMENT }
        let box = Unmanaged<ModelBox>.fromOpaque(context).takeUnretainedValue()
        let t = (0..<x.shape[0]).map { Int(targets[$0]) }
        guard let g = try? box.model.gradient(x, targets: t) else { return EMO_ERR_INTERNAL }
        for i in 0..<g.count { grad[i] = g.data[i] }
        return EMO_OK
    }

    /// The plugin's component `id` from the descriptor the SDK builds for this library's component list.
    func component(_ id: String) throws -> (UnsafePointer<emo_component>, UnsafePointer<emo_plugin_descriptor>) {
        let raw = try XCTUnwrap(PluginExport.entry(
            hostMajor: UInt32(EMO_ABI_VERSION_MAJOR), hostMinor: UInt32(EMO_ABI_VERSION_MINOR), plugin: "explainers",
            version: "0.1.0", components: [IntegratedGradients.self, Occlusion.self, ModalityMasking.self]))
        let d = raw.assumingMemoryBound(to: emo_plugin_descriptor.self)
        let list = try XCTUnwrap(d.pointee.components)
        for i in 0..<d.pointee.component_count {
            if let c = list[i], String(cString: c.pointee.id) == id { return (c, d) }
        }
        throw XCTSkip("component \(id) not in the descriptor")
    }

    /// Runs `explain` through C; returns the output tensors as arrays, or the error text.
    func explainThroughC(_ id: String, config: String, model: ExplainableModel, differentiable: Bool, input: NDArray,
                         targets: [Int]) throws -> Result<[NDArray], ComponentError> {
        let (c, d) = try component(id)
        var instance: OpaquePointer?
        var err: UnsafeMutablePointer<CChar>?
        let created = try XCTUnwrap(c.pointee.create)(config, &instance, &err)
        XCTAssertEqual(created, EMO_OK, err.map { String(cString: $0) } ?? "")
        defer { c.pointee.destroy?(instance) }
        let box = ModelBox(model)
        let context = Unmanaged.passUnretained(box).toOpaque()
        var m = emo_model()
        m.struct_size = UInt32(MemoryLayout<emo_model>.size)
        m.context = context
        m.forward = Self.forward
        m.gradient = differentiable ? Self.gradient : nil
        m.num_classes = Int64(model.numClasses)
        let explain = try XCTUnwrap(c.pointee.explain)
        var data = input.data
        var t64 = targets.map { Int64($0) }
        var out = emo_tensor_list()
        let status: emo_status = data.withUnsafeMutableBytes { bytes in
            var tensor = emo_tensor()
            tensor.data = bytes.baseAddress
            tensor.dtype = Int32(EMO_DTYPE_F32.rawValue)
            tensor.rank = Int32(input.rank)
            emoSetShape(&tensor.shape, input.shape)
            return withExtendedLifetime(box) { explain(instance, &m, &tensor, nil, &t64, &out, &err) }
        }
        guard status == EMO_OK else {
            let text = err.map { String(cString: $0) } ?? "status \(status.rawValue)"
            if let err { d.pointee.free_string?(err) }
            return .failure(.failed(component: id, message: text))
        }
        let items = try XCTUnwrap(out.items)
        return .success(try (0..<out.count).map { try TensorBridge.array(from: items[$0]) })
    }

    func testIntegratedGradientsThroughTheABIMatchesTheDirectCall() throws {
        let f = try CaptumFixture.shared()
        let model = try ToyMLP(f.mlp), x = try f.mlp.input.array()
        let config = #"{"method": "riemann_trapezoid", "n_steps": 20}"#
        let outputs = try explainThroughC("integrated-gradients", config: config, model: model, differentiable: true,
                                          input: x, targets: f.mlp.targets).get()
        let direct = try IntegratedGradients(config: IntegratedGradients.componentInfo.configDefaults
            .merging(["method": "riemann_trapezoid", "n_steps": 20]))
            .explain(model: model, input: x, baseline: nil, targets: f.mlp.targets)
        XCTAssertEqual(outputs.count, 2)
        XCTAssertEqual(outputs.first, direct.values)
        XCTAssertEqual(outputs.last?.data, direct.delta)
    }

    func testOcclusionThroughTheABIOnABlackBox() throws {
        let f = try CaptumFixture.shared()
        let model = try ToyConv(f.conv), x = try f.conv.input.array()
        let outputs = try explainThroughC("occlusion", config: #"{"window": [50], "stride": [25]}"#, model: model,
                                          differentiable: false, input: x, targets: f.conv.targets).get()
        let reference = try XCTUnwrap(f.conv.occlusion.first)
        XCTAssertEqual(reference.window, [50])
        XCTAssertEqual(outputs.count, 1)
        let check = closeness(try XCTUnwrap(outputs.first).data, reference.attributions.data, relative: 1e-4,
                              absolute: 4 * Double(Float.ulpOfOne) * maxAbs(try model.scores(x).data))
        XCTAssertLessThanOrEqual(check.ratio, 1, check.message)
    }

    func testIntegratedGradientsOnANonDifferentiableChainSaysSo() throws {
        let f = try CaptumFixture.shared()
        let result = try explainThroughC("integrated-gradients", config: "{}", model: try ToyMLP(f.mlp),
                                         differentiable: false, input: try f.mlp.input.array(), targets: f.mlp.targets)
        guard case .failure(let error) = result else { return XCTFail("expected an error") }
        XCTAssertTrue(error.description.contains("not differentiable"), error.description)
    }
}
