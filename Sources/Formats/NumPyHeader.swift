/// The preamble and header dictionary of a `.npy` file
/// (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
struct NumPyHeader {
    /// The element types Quiver reads; numpy names them by `descr` such as `<f4`.
    enum ElementType: String {
        case float32 = "f4"
        case float16 = "f2"
        case int64 = "i8"
        case int32 = "i4"

        var byteCount: Int {
            switch self {
            case .float32, .int32: 4
            case .float16: 2
            case .int64: 8
            }
        }
    }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Usually a string such as `'<f4'`; a list for structured dtypes, which are never accepted.
    let descr: PythonLiteral
    let fortranOrder: Bool
    let shape: [Int]
    /// Where the array data begins, counted from the start of the file.
    let dataOffset: Int

    /// Reads the preamble and header from the start of `file`; throws the problem without the path.
    static func parse(_ file: UnsafeRawBufferPointer) throws(NumPyError.Problem) -> NumPyHeader {
        guard file.count >= 10, file.prefix(6).elementsEqual(magic) else { throw .badMagic }
        let major = file[6]
        let minor = file[7]
        let headerLength: Int
        let lengthFieldSize: Int
        switch major {
        case 1:
            lengthFieldSize = 2
            headerLength = Int(file[8]) | Int(file[9]) << 8
        case 2, 3:
            lengthFieldSize = 4
            guard file.count >= 12 else { throw .malformedHeader("file ends inside the header length") }
            headerLength = (0..<4).reduce(0) { $0 | Int(file[8 + $1]) << (8 * $1) }
        default:
            throw .unsupportedVersion(major: major, minor: minor)
        }
        let headerStart = 8 + lengthFieldSize
        guard headerLength <= file.count - headerStart else {
            throw .malformedHeader(
                "header says it is \(headerLength) bytes but the file ends after \(file.count - headerStart)")
        }
        let headerBytes = Array(file[headerStart..<headerStart + headerLength])

        let literal: PythonLiteral
        do {
            literal = try PythonLiteral.parse(headerBytes, utf8: major >= 3)
        } catch {
            throw .malformedHeader(error.message)
        }
        guard case .dict(let entries) = literal else { throw .malformedHeader("header is not a dictionary") }

        guard let descr = entries["descr"] else { throw .malformedHeader("no 'descr' key") }
        guard case .bool(let fortranOrder) = entries["fortran_order"] else {
            throw .malformedHeader("'fortran_order' missing or not True/False")
        }
        guard case .sequence(let dims) = entries["shape"] else {
            throw .malformedHeader("'shape' missing or not a tuple")
        }
        var shape: [Int] = []
        for dim in dims {
            guard case .integer(let n) = dim, n >= 0 else {
                throw .malformedHeader("'shape' holds something other than sizes")
            }
            shape.append(n)
        }
        return NumPyHeader(
            descr: descr, fortranOrder: fortranOrder, shape: shape, dataOffset: headerStart + headerLength)
    }

    /// The element type of `descr` if it is one of `accepted` stored little-endian.
    func elementType(accepting accepted: [ElementType], expected: String) throws(NumPyError.Problem) -> ElementType {
        guard case .string(let name) = descr else { throw .unsupportedDType(descr.pythonText, expected: expected) }
        guard let order = name.first, let type = ElementType(rawValue: String(name.dropFirst())),
            accepted.contains(type)
        else {
            throw .unsupportedDType(name, expected: expected)
        }
        switch order {
        case "<": return type
        case ">": throw .bigEndian(name)
        default: throw .unsupportedDType(name, expected: expected)
        }
    }

    /// Rows and columns; a 1-D array of n elements is n rows of one column, as numpy iterates it.
    func matrixShape() throws(NumPyError.Problem) -> (rows: Int, columns: Int) {
        let dims: (Int, Int)
        switch shape.count {
        case 1: dims = (shape[0], 1)
        case 2: dims = (shape[0], shape[1])
        default: throw .unsupportedShape(shape)
        }
        // Column-major data of a row or column vector is laid out the same as row-major.
        if fortranOrder && dims.0 > 1 && dims.1 > 1 { throw .fortranOrder }
        return dims
    }

    /// The preamble and header for a C-order 2-D array, padded with spaces so the data
    /// starts on a 64-byte boundary as numpy does (lets readers map and align the data).
    static func encode(descr: String, rows: Int, columns: Int) -> [UInt8] {
        let dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(rows), \(columns)), }"
        var header = Array(dict.utf8)
        let unpadded = 10 + header.count + 1 // version 1.0 preamble + dict + "\n"
        header += Array(repeating: UInt8(ascii: " "), count: (64 - unpadded % 64) % 64)
        header.append(UInt8(ascii: "\n"))
        // Always well under 65 535 bytes, so format 1.0 suffices.
        return magic + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header
    }
}

extension PythonLiteral {
    /// Roughly how Python would print the value, for error messages.
    var pythonText: String {
        switch self {
        case .string(let s): "'\(s)'"
        case .integer(let n): "\(n)"
        case .bool(let b): b ? "True" : "False"
        case .none: "None"
        case .sequence(let items): "[" + items.map(\.pythonText).joined(separator: ", ") + "]"
        case .dict(let entries):
            "{" + entries.keys.sorted().map { "'\($0)': \(entries[$0]!.pythonText)" }.joined(separator: ", ") + "}"
        }
    }
}
