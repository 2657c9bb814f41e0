/// The five component kinds. Raw values equal the C ABI's `emo_kind`.
public enum ComponentKind: Int32, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// Clip → handcrafted vector, or clip → transcript text.
    case extractor = 1
    /// Clip or text → embedding (pretrained network).
    case encoder = 2
    /// Feature groups → one fused representation (trainable).
    case fusion = 3
    /// Representation → class logits (trainable).
    case classifier = 4
    /// Model + input → attributions.
    case explainer = 5

    /// The machine name used on the command line and in JSON ("extractor", "encoder", ...).
    public var name: String {
        switch self {
        case .extractor: return "extractor"
        case .encoder: return "encoder"
        case .fusion: return "fusion"
        case .classifier: return "classifier"
        case .explainer: return "explainer"
        }
    }

    /// Parses a machine name.
    public init?(name: String) {
        guard let k = ComponentKind.allCases.first(where: { $0.name == name }) else { return nil }
        self = k
    }

    public var description: String { name }
}

/// Identity and manifest of a component type: what `emo plugins show` prints.
public struct ComponentInfo: Sendable, Equatable {
    /// Which of the five kinds.
    public var kind: ComponentKind
    /// Stable machine name, `[a-z0-9-]+`, unique across all plugins.
    public var id: String
    /// Version of the component's numerics (part of feature cache keys).
    public var version: String
    /// Name for people.
    public var displayName: String
    /// `{"inputs":[...], "outputs":[...], "config":{...}, "trainable":Bool, "differentiable":Bool, "description":String}`.
    public var manifest: JSONValue

    /// Creates component info.
    public init(kind: ComponentKind, id: String, version: String, displayName: String, manifest: JSONValue) {
        self.kind = kind
        self.id = id
        self.version = version
        self.displayName = displayName
        self.manifest = manifest
    }

    /// True when `id` is a valid stable machine name.
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    /// What is wrong with a user's config for this component, before anything is built from it: every key must be
    /// one the manifest's `config` schema declares (a typo is never silently ignored), and a value whose schema
    /// entry states `minimum` and/or `maximum` must lie in that range (each element, for a list), so that an FFT
    /// size of 2^30 or a hidden width of 10^9 is refused by name instead of reaching an allocator. Each message
    /// names the key and what is allowed. A manifest without a `config` object accepts anything.
    public func configIssues(_ user: JSONValue) -> [String] {
        guard let schema = manifest["config"]?.objectValue, let given = user.objectValue else { return [] }
        var out: [String] = []
        for key in given.keys.sorted() {
            guard let entry = schema[key] else {
                out.append("unknown key '\(key)' (\(id) takes: \(schema.keys.sorted().joined(separator: ", ")))")
                continue
            }
            let low = entry["minimum"]?.doubleValue, high = entry["maximum"]?.doubleValue
            guard low != nil || high != nil, let value = given[key] else { continue }
            let numbers = value.doubleValue.map { [$0] } ?? (value.arrayValue?.compactMap(\.doubleValue) ?? [])
            for v in numbers where !(v >= (low ?? -.infinity) && v <= (high ?? .infinity)) {
                let range = [low.map { "≥ \(Self.number($0))" }, high.map { "≤ \(Self.number($0))" }].compactMap { $0 }
                out.append("'\(key)' must be \(range.joined(separator: " and ")), got \(Self.number(v))")
                break
            }
        }
        return out
    }

    private static func number(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    /// The config defaults declared in the manifest (`config.<name>.default`).
    public var configDefaults: JSONValue {
        guard let props = manifest["config"]?.objectValue else { return .object([:]) }
        var out: [String: JSONValue] = [:]
        for (k, v) in props { if let d = v["default"] { out[k] = d } }
        return .object(out)
    }
}

/// A trainable buffer a component exposes: its value and gradient live in component-owned memory whose
/// addresses are stable for the component's lifetime, so a host optimiser updates them in place.
public struct ParameterBuffer: @unchecked Sendable {
    /// Stable machine name ("branch0.linear1.weight").
    public var name: String
    /// Extent of each dimension.
    public var shape: [Int]
    /// `count` Float32 values (component-owned).
    public var value: UnsafeMutablePointer<Float>
    /// `count` Float32 gradients (component-owned); backward accumulates, the host zeroes.
    public var grad: UnsafeMutablePointer<Float>
    /// L2 coefficient the component asks the host to apply (0 = none).
    public var weightDecay: Float
    /// True for statistics that are saved but not learned (batch-norm running mean/var).
    public var isBuffer: Bool

    /// Creates a parameter description.
    public init(name: String, shape: [Int], value: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>,
                weightDecay: Float = 0, isBuffer: Bool = false) {
        self.name = name
        self.shape = shape
        self.value = value
        self.grad = grad
        self.weightDecay = weightDecay
        self.isBuffer = isBuffer
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// Why a component call failed.
public enum ComponentError: Error, CustomStringConvertible, Equatable {
    /// The config is wrong: which key and why.
    case invalidConfig(component: String, message: String)
    /// An input has the wrong shape, dtype or content.
    case invalidInput(component: String, message: String)
    /// The component does not implement this call (e.g. backward of a black box).
    case unsupported(component: String, call: String)
    /// The component itself failed.
    case failed(component: String, message: String)
    /// A file the component needed could not be read or written.
    case io(component: String, path: String, message: String)

    public var description: String {
        switch self {
        case .invalidConfig(let c, let m): return "\(c): invalid config: \(m)"
        case .invalidInput(let c, let m): return "\(c): invalid input: \(m)"
        case .unsupported(let c, let call):
            return "\(c): does not support \(call) (it is a black box for that call; choose a component that does, or a method that does not need it)"
        case .failed(let c, let m): return "\(c): \(m)"
        case .io(let c, let p, let m): return m.hasPrefix("\(p): ") ? "\(c): \(m)" : "\(c): \(p): \(m)"
        }
    }
}

/// A live component instance: what both plugin authors implement and the host's loaded plugins present.
///
/// Conventions per kind (inputs → outputs):
/// - extractor: `[.array([S])]` 16 kHz mono samples → `[.array([C])]` (handcrafted) or `[.text]` (transcript)
/// - encoder: `[.array([B, S])]` (+ optional `[.array([B])]` valid lengths) or `[.text]` → `[.array([B, C])]`, then
///   optionally `[.array([L+1, B, T, C])]` all hidden states
/// - fusion: G inputs `[.array([B, C_g])]` → `[.array([B, Cout])]`
/// - classifier: `[.array([B, C])]` → `[.array([B, Y])]` logits
public protocol Component: AnyObject {
    /// Identity and manifest of this component's type.
    var info: ComponentInfo { get }
    /// The resolved config and output spec of this instance (`{"config":{...},"outputs":[...]}`).
    var resolvedDescription: JSONValue { get }
    /// Runs the component.
    func forward(_ inputs: [Value]) throws -> [Value]
}

/// A component with a vector-Jacobian product for its last forward.
public protocol DifferentiableComponent: Component {
    /// Given d loss / d outputs of the last forward, accumulates parameter gradients and returns d loss / d inputs.
    func backward(_ gradOutputs: [NDArray]) throws -> [NDArray]
}

/// A component with parameters a host optimiser can train.
public protocol TrainableComponent: DifferentiableComponent {
    /// Parameter buffers, in a fixed order, with stable addresses.
    var parameters: [ParameterBuffer] { get }
    /// Training mode (dropout active, batch statistics) or evaluation mode.
    func setTraining(_ training: Bool)
    /// Everything needed to restore this instance.
    func saveState() throws -> [UInt8]
    /// Restores what `saveState` wrote.
    func loadState(_ bytes: [UInt8]) throws
}

/// A trainable component that writes its state straight into memory the caller provides.
///
/// For states of hundreds of megabytes (a fine-tuned encoder's weights): across the plugin ABI (`state_size` +
/// `save_state_into`, ABI 1.1) the state then exists once, in the host's buffer, instead of also as the plugin's
/// serialised copy and its `malloc`ed hand-over.
public protocol DirectStateSaving: TrainableComponent {
    /// The size in bytes of the state `writeState(into:)` writes now.
    func stateByteCount() throws -> Int
    /// Writes exactly `saveState()`'s bytes into `buffer`, which holds `stateByteCount()` bytes.
    func writeState(into buffer: UnsafeMutableRawBufferPointer) throws
}

/// A model an explainer attributes: batched scores, and where possible gradients of chosen scores.
public protocol ExplainableModel {
    /// K.
    var numClasses: Int { get }
    /// True when `gradient` is available.
    var isDifferentiable: Bool { get }
    /// Scores `[B, Y]` for inputs `[B, ...]`.
    func scores(_ inputs: NDArray) throws -> NDArray
    /// d scores[b, targets[b]] / d inputs, same shape as inputs.
    func gradient(_ inputs: NDArray, targets: [Int]) throws -> NDArray
}

/// Attributions of one explain call.
public struct Attribution: Sendable, Equatable {
    /// Same shape as the input.
    public var values: NDArray
    /// Per-row convergence delta (sum of attributions − (F(x) − F(baseline))), when the method has one.
    public var delta: [Float]?

    /// Creates an attribution result.
    public init(values: NDArray, delta: [Float]?) {
        self.values = values
        self.delta = delta
    }
}

/// A component that explains a model's prediction.
public protocol ExplainerComponent: Component {
    /// Attributions of `model` for `input` `[B, ...]` towards `targets` `[B]`; `baseline` nil means configured.
    func explain(model: ExplainableModel, input: NDArray, baseline: NDArray?, targets: [Int]) throws -> Attribution
}

/// A component type a plugin exports: static identity plus creation from config.
public protocol PluginComponent: Component {
    /// Identity and manifest of this type (what `emo plugins show` prints).
    static var componentInfo: ComponentInfo { get }
    /// Creates an instance; `config` is the manifest defaults merged with the user's values.
    init(config: JSONValue) throws
}

extension PluginComponent {
    /// The type's info.
    public var info: ComponentInfo { Self.componentInfo }
}

// The five protocols a plugin author conforms to (the kind in `componentInfo` must match).

/// Clip → handcrafted vector or transcript text.
public protocol Extractor: PluginComponent {}
/// Clip or text → embedding. (Not named `Encoder`, which would shadow `Swift.Encoder`.)
public protocol EmbeddingEncoder: PluginComponent {}
/// Feature groups → fused representation; trainable through the host's loop.
public protocol Fusion: PluginComponent, TrainableComponent {}
/// Representation → class logits; trainable through the host's loop.
public protocol Classifier: PluginComponent, TrainableComponent {}
/// Model + input → attributions.
public protocol Explainer: PluginComponent, ExplainerComponent {}

extension Explainer {
    /// Explainers are driven through `explain`; a plain forward is not meaningful.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        throw ComponentError.unsupported(component: Self.componentInfo.id, call: "forward (use explain)")
    }
}
