import Foundation

/// Why a `.npy` file could not be read or written; the message names the file so a user
/// loading several files at once knows which one is at fault.
public struct NumPyError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Error, Sendable, Equatable {
        case cannotOpen(String)
        case cannotWrite(String)
        case badMagic
        case unsupportedVersion(major: UInt8, minor: UInt8)
        case malformedHeader(String)
        case unsupportedDType(String, expected: String)
        case bigEndian(String)
        case fortranOrder
        case unsupportedShape([Int])
        case truncated(expectedBytes: Int, foundBytes: Int)
        case tooLarge
        case valueCountMismatch(expected: Int, found: Int)
    }

    public let path: String
    public let problem: Problem

    public init(path: String, problem: Problem) {
        self.path = path
        self.problem = problem
    }

    public var description: String {
        let detail =
            switch problem {
            case .cannotOpen(let reason): "cannot open file: \(reason)"
            case .cannotWrite(let reason): "cannot write file: \(reason)"
            case .badMagic: "not a .npy file (bad magic bytes)"
            case .unsupportedVersion(let major, let minor): "unsupported .npy format version \(major).\(minor)"
            case .malformedHeader(let reason): "malformed .npy header: \(reason)"
            case .unsupportedDType(let descr, let expected): "unsupported dtype '\(descr)' (expected \(expected))"
            case .bigEndian(let descr): "big-endian dtype '\(descr)' unsupported (save it as little-endian)"
            case .fortranOrder: "fortran_order arrays unsupported (save with numpy.ascontiguousarray)"
            case .unsupportedShape(let shape):
                "unsupported \(shape.count)-D shape (\(shape.map(String.init).joined(separator: ", "))) (expected 1-D or 2-D)"
            case .truncated(let expected, let found):
                "file shorter than its header says: expected \(expected) bytes of data, found \(found)"
            case .tooLarge: "array too large for this machine"
            case .valueCountMismatch(let expected, let found):
                "rows × columns is \(expected) but \(found) values were given"
            }
        return "\(path): \(detail)"
    }
}

extension NumPyError: LocalizedError {
    /// So `localizedDescription` (used by Foundation-based callers) shows the same message.
    public var errorDescription: String? { description }
}
