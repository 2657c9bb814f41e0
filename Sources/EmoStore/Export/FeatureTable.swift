import EmoCore
import Foundation

/// A feature matrix `[N, C]` with one identifying row label and optional extra text columns per row: what
/// `emo extract --export` writes as CSV or NumPy `.npy`.
public struct FeatureTable: Sendable, Equatable {
    /// Per-row identifiers (paths or PCM hashes).
    public var rowIDs: [String]
    /// Extra text columns (name, values per row), e.g. label and speaker.
    public var columns: [(name: String, values: [String])]
    /// Row-major values, `rowIDs.count × width`.
    public var values: [Float]
    /// C.
    public var width: Int

    /// Creates a table; fails when the sizes disagree.
    public init(rowIDs: [String], columns: [(name: String, values: [String])] = [], values: [Float], width: Int) throws(StoreError) {
        guard width >= 0, values.count == rowIDs.count * width else {
            throw .invalidArgument("feature table of \(rowIDs.count) rows × \(width) needs \(rowIDs.count * width) values, got \(values.count)")
        }
        for c in columns where c.values.count != rowIDs.count {
            throw .invalidArgument("column \(c.name) has \(c.values.count) values for \(rowIDs.count) rows")
        }
        self.rowIDs = rowIDs
        self.columns = columns
        self.values = values
        self.width = width
    }

    public static func == (a: FeatureTable, b: FeatureTable) -> Bool {
        a.rowIDs == b.rowIDs && a.values == b.values && a.width == b.width
            && a.columns.map(\.name) == b.columns.map(\.name) && a.columns.map(\.values) == b.columns.map(\.values)
    }

    /// CSV with a header `id,<columns>,f0,...,f{C-1}`; RFC 4180 quoting; floats with 9 significant digits
    /// (enough to round-trip Float32).
    public func csv() -> String {
        var lines: [String] = []
        lines.append((["id"] + columns.map(\.name) + (0..<width).map { "f\($0)" }).map(FeatureTable.quote).joined(separator: ","))
        for r in 0..<rowIDs.count {
            var fields = [FeatureTable.quote(rowIDs[r])] + columns.map { FeatureTable.quote($0.values[r]) }
            for c in 0..<width { fields.append(String(format: "%.9g", Double(values[r * width + c]))) }
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// NumPy `.npy` version 1.0 bytes of the `[N, C]` little-endian float32 matrix (`np.load` reads it).
    public func npy() -> [UInt8] {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rowIDs.count), \(width)), }"
        // Magic (6) + version (2) + header length (2) + header, padded with spaces and a final newline to 64 bytes.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let n = UInt16(header.utf8.count)
        out += [UInt8(n & 0xff), UInt8(n >> 8)]
        out += Array(header.utf8)
        out.reserveCapacity(out.count + values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }

    /// Writes `.csv` or `.npy` by the path's extension (for `.npy`, a sibling `<name>.ids.csv` holds the row ids
    /// and extra columns in row order).
    public func write(to path: String) throws(StoreError) {
        let url = URL(fileURLWithPath: path)
        do {
            switch url.pathExtension.lowercased() {
            case "csv":
                try Data(csv().utf8).write(to: url, options: .atomic)
            case "npy":
                try Data(npy()).write(to: url, options: .atomic)
                let ids = try FeatureTable(rowIDs: rowIDs, columns: columns, values: [], width: 0)
                try Data(ids.csv().utf8).write(to: url.deletingPathExtension().appendingPathExtension("ids.csv"), options: .atomic)
            default:
                throw StoreError.exportFailed(path: path, message: "unknown export format '.\(url.pathExtension)'; use .csv or .npy")
            }
        } catch let e as StoreError {
            throw e
        } catch {
            throw .exportFailed(path: path, message: error.localizedDescription)
        }
    }

    static func quote(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension FeatureStore {
    /// The table of output `outputIndex` of `key` for `rows` (PCM hash and row id each), flattened per clip.
    /// Rows whose features are missing are an error naming the first such row.
    public func featureTable(key: FeatureKey, rows: [(pcmHash: String, id: String)],
                             columns: [(name: String, values: [String])] = [], outputIndex: Int = 0) throws(StoreError) -> FeatureTable {
        var values: [Float] = []
        var width = -1
        for row in rows {
            guard let outs = try outputs(pcmHash: row.pcmHash, key: key) else {
                throw .invalidArgument("no \(key) features stored for \(row.id); run `emo extract` first")
            }
            guard outputIndex < outs.count, case .array(let a) = outs[outputIndex] else {
                throw .invalidArgument("output \(outputIndex) of \(key) for \(row.id) is not a float array")
            }
            if width < 0 { width = a.count }
            guard a.count == width else {
                throw .invalidArgument("\(row.id): \(key) output has \(a.count) values, earlier rows \(width); only fixed-size outputs export as a matrix")
            }
            values += a.data
        }
        return try FeatureTable(rowIDs: rows.map(\.id), columns: columns, values: values, width: max(width, 0))
    }
}
