import Foundation

extension NumPy {
    /// Writes `values` (row-major) as a `rows × columns` little-endian float32 array.
    public static func writeFloatMatrix(path: String, rows: Int, columns: Int, values: [Float]) throws(NumPyError) {
        try write(
            path: path, descr: "<f4", rows: rows, columns: columns, values: values.map { $0.bitPattern.littleEndian })
    }

    /// Writes `values` (row-major) as a `rows × columns` little-endian int64 array.
    public static func writeInt64Matrix(path: String, rows: Int, columns: Int, values: [Int64]) throws(NumPyError) {
        try write(path: path, descr: "<i8", rows: rows, columns: columns, values: values.map { $0.littleEndian })
    }

    /// `values` are already in little-endian byte order.
    private static func write<Raw>(path: String, descr: String, rows: Int, columns: Int, values: [Raw])
        throws(NumPyError)
    {
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 0, columns >= 0, !overflow, count == values.count else {
            throw NumPyError(
                path: path, problem: .valueCountMismatch(expected: overflow ? Int.max : count, found: values.count))
        }
        var file = Data(NumPyHeader.encode(descr: descr, rows: rows, columns: columns))
        values.withUnsafeBytes { file.append(contentsOf: $0) }
        do {
            // Atomic so a reader never sees a half-written matrix.
            try file.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw NumPyError(path: path, problem: .cannotWrite(error.localizedDescription))
        }
    }
}
