import Foundation
import QuiverFormats
import QuiverStorage

/// Vectors from a file beside the records, aligned by order: the i-th record takes row i.
/// NumPy `.npy` (float32 or float16, 2-D) or `.fvecs` (each vector an int32 dimension then
/// that many float32s, as the ANN benchmark sets ship them).
package struct SideVectors {
    package let path: String
    package let count: Int
    package let dimension: Int
    private let values: [Float]

    package init(path: String) throws {
        self.path = path
        if path.lowercased().hasSuffix(".fvecs") {
            (count, dimension, values) = try Self.readFvecs(path: path)
        } else {
            // NumPyError names the file itself.
            let matrix = try NumPy.readFloatMatrix(path: path)
            (count, dimension, values) = (matrix.rows, matrix.columns, matrix.values)
        }
    }

    package subscript(row: Int) -> ArraySlice<Float> {
        values[row * dimension..<(row + 1) * dimension]
    }

    private static func readFvecs(path: String) throws -> (Int, Int, [Float]) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw InputError(
                path: path,
                problem: FileManager.default.fileExists(atPath: path)
                    ? "cannot read: \(error.localizedDescription)" : "no such file")
        }
        return try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> (Int, Int, [Float]) in
            guard bytes.count >= 4 else {
                throw InputError(path: path, problem: "too short for an .fvecs file (\(bytes.count) bytes)")
            }
            let dimension = Int(Int32(littleEndian: bytes.loadUnaligned(as: Int32.self)))
            guard dimension >= 1, dimension <= VectorCodec.maximumDimension else {
                throw InputError(path: path, problem: "first vector claims dimension \(dimension); not an .fvecs file?")
            }
            let stride = 4 + 4 * dimension
            guard bytes.count % stride == 0 else {
                throw InputError(
                    path: path,
                    problem:
                        "size \(bytes.count) is not a multiple of \(stride) bytes (4 + 4 × \(dimension)); truncated?")
            }
            let count = bytes.count / stride
            var values = [Float](repeating: 0, count: count * dimension)
            for row in 0..<count {
                let offset = row * stride
                let claimed = Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                guard claimed == dimension else {
                    throw InputError(
                        path: path, problem: "vector \(row + 1) has dimension \(claimed), the first has \(dimension)")
                }
                for j in 0..<dimension {
                    values[row * dimension + j] = Float(
                        bitPattern: UInt32(
                            littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4 + 4 * j, as: UInt32.self)))
                }
            }
            return (count, dimension, values)
        }
    }
}
