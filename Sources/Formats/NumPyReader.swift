import Foundation

/// Reading and writing 2-D numeric arrays in numpy's `.npy` format (versions 1.0–3.0),
/// the usual interchange format for embedding matrices and ground-truth neighbour ids.
public enum NumPy {
    /// Reads a little-endian float32 or float16 array of 1 or 2 dimensions as Floats.
    public static func readFloatMatrix(path: String) throws(NumPyError) -> NumPyMatrix<Float> {
        try read(path: path, accepting: [.float32, .float16], expected: "float32 or float16") { type, bytes, count in
            switch type {
            case .float16:
                convert(bytes, count: count) { (bits: UInt16) in floatFromHalfBits(UInt16(littleEndian: bits)) }
            default: copy(bytes, count: count) { (bits: UInt32) in Float(bitPattern: UInt32(littleEndian: bits)) }
            }
        }
    }

    /// Reads a little-endian int64 or int32 array of 1 or 2 dimensions as Int64s.
    public static func readInt64Matrix(path: String) throws(NumPyError) -> NumPyMatrix<Int64> {
        try read(path: path, accepting: [.int64, .int32], expected: "int64 or int32") { type, bytes, count in
            switch type {
            case .int32: convert(bytes, count: count) { (raw: Int32) in Int64(Int32(littleEndian: raw)) }
            default: copy(bytes, count: count) { (raw: Int64) in Int64(littleEndian: raw) }
            }
        }
    }

    private static func read<Element>(
        path: String, accepting accepted: [NumPyHeader.ElementType], expected: String,
        decode: (NumPyHeader.ElementType, UnsafeRawBufferPointer, Int) -> [Element]
    ) throws(NumPyError) -> NumPyMatrix<Element> {
        let file: Data
        do {
            // Mapped so a large file is paged in while it is converted rather than copied first.
            file = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw NumPyError(path: path, problem: .cannotOpen(openFailure(path: path, error: error)))
        }
        let result = file.withUnsafeBytes {
            (bytes: UnsafeRawBufferPointer) -> Result<NumPyMatrix<Element>, NumPyError.Problem> in
            do throws(NumPyError.Problem) {
                let header = try NumPyHeader.parse(bytes)
                let type = try header.elementType(accepting: accepted, expected: expected)
                let (rows, columns) = try header.matrixShape()
                let (count, overflow1) = rows.multipliedReportingOverflow(by: columns)
                let (byteCount, overflow2) = count.multipliedReportingOverflow(by: type.byteCount)
                guard !overflow1, !overflow2 else { throw .tooLarge }
                let available = bytes.count - header.dataOffset
                guard byteCount <= available else { throw .truncated(expectedBytes: byteCount, foundBytes: available) }
                let data = UnsafeRawBufferPointer(rebasing: bytes[header.dataOffset..<header.dataOffset + byteCount])
                return .success(NumPyMatrix(rows: rows, columns: columns, values: decode(type, data, count)))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let matrix): return matrix
        case .failure(let problem): throw NumPyError(path: path, problem: problem)
        }
    }

    /// Foundation's messages for these cases are vague ("error 256"), so name the usual causes.
    private static func openFailure(path: String, error: any Error) -> String {
        var isDirectory: ObjCBool = false
        let manager = FileManager.default
        if !manager.fileExists(atPath: path, isDirectory: &isDirectory) { return "no such file" }
        if isDirectory.boolValue { return "is a directory" }
        if !manager.isReadableFile(atPath: path) { return "permission denied" }
        return error.localizedDescription
    }

    /// Elements stored at the width of the result: on little-endian machines one bulk copy.
    private static func copy<Raw, Element>(
        _ bytes: UnsafeRawBufferPointer, count: Int,
        fromLittleEndian: (Raw) -> Element
    ) -> [Element] {
        #if _endian(little)
            precondition(MemoryLayout<Raw>.size == MemoryLayout<Element>.size)
            return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes) }
                initialized = count
            }
        #else
            return convert(bytes, count: count, widen: fromLittleEndian)
        #endif
    }

    /// Elements narrower than the result, widened one by one; unaligned loads because
    /// nothing guarantees the data offset is a multiple of the element size.
    private static func convert<Raw, Element>(
        _ bytes: UnsafeRawBufferPointer, count: Int,
        widen: (Raw) -> Element
    ) -> [Element] {
        [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count {
                (buffer.baseAddress! + i).initialize(
                    to: widen(bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<Raw>.size, as: Raw.self)))
            }
            initialized = count
        }
    }
}
