/// A file of named tensors that converts to Float32: `model.safetensors` or `pytorch_model.bin`.
public protocol TensorArchive: AnyObject {
    /// The file's path (used in every error).
    var path: String { get }
    /// Tensor names, in file order.
    var names: [String] { get }
    /// The stored shape of `name`, or nil when absent.
    func shape(of name: String) -> [Int]?
    /// The tensor converted to Float32 (row-major).
    func floats(_ name: String) throws -> [Float]
}

extension SafeTensorsFile: TensorArchive {
    /// The stored shape of `name`, or nil when absent.
    public func shape(of name: String) -> [Int]? { tensors[name]?.shape }
}
