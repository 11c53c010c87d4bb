import CZlib
import Foundation

/// Bytes of an input file, decompressed when it is gzip. `consumed` counts bytes taken from the
/// file itself (compressed bytes for .gz), so progress and ETA compare it with the file's size.
protocol ByteSource: AnyObject {
    /// Fills `buffer` from the start; returns how many bytes it wrote, 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    var consumed: Int { get }
    /// The file's size, when known (not for standard input).
    var size: Int? { get }
}

/// Errors reading the input, naming the file.
public struct InputError: Error, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "\(path): \(problem)" }

    package init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }
}

/// Opens `path` ("-" for standard input); gzip is recognised by its magic bytes, not its name.
func openByteSource(path: String) throws -> ByteSource {
    let file = try FileSource(path: path)
    var magic = [UInt8](repeating: 0, count: 2)
    let peeked = try magic.withUnsafeMutableBytes { try file.peek(into: $0) }
    if peeked == 2, magic == [0x1F, 0x8B] { return try GzipSource(file: file) }
    return file
}

/// A plain file read with read(2) in large chunks.
final class FileSource: ByteSource {
    let path: String
    private let descriptor: Int32
    private var pending: [UInt8] = [] // bytes peeked but not yet returned
    private(set) var consumed = 0
    let size: Int?

    init(path: String) throws {
        self.path = path
        if path == "-" {
            descriptor = 0
            size = nil
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw InputError(path: path, problem: "no such file")
            }
            guard !isDirectory.boolValue else { throw InputError(path: path, problem: "is a directory") }
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw InputError(path: path, problem: String(cString: strerror(errno))) }
            var info = stat()
            size = fstat(descriptor, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : nil
        }
    }

    deinit { if descriptor > 0 { close(descriptor) } }

    /// Reads the first bytes without consuming them.
    func peek(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = try readRaw(into: buffer)
        pending = Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        consumed -= count
        return count
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if !pending.isEmpty {
            let count = min(pending.count, buffer.count)
            pending.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: count) }
            pending.removeFirst(count)
            consumed += count
            return count
        }
        return try readRaw(into: buffer)
    }

    private func readRaw(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 {
                consumed += count
                return count
            }
            if errno == EINTR { continue }
            throw InputError(path: path, problem: "read failed: \(String(cString: strerror(errno)))")
        }
    }
}

/// A gzip stream (one or more members, as `cat a.gz b.gz` makes) inflated with zlib.
final class GzipSource: ByteSource {
    private let file: FileSource
    private var stream = z_stream()
    private var input = [UInt8](repeating: 0, count: 1 << 18)
    private var inputEnd = false
    private var finished = false

    var consumed: Int { file.consumed }
    var size: Int? { file.size }

    init(file: FileSource) throws {
        self.file = file
        // 15 + 16: a gzip wrapper with the largest window.
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw InputError(path: file.path, problem: "cannot start gzip decompression")
        }
    }

    deinit { inflateEnd(&stream) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !finished else { return 0 }
        return try input.withUnsafeMutableBytes { inputBytes in
            while true {
                if stream.avail_in == 0 && !inputEnd {
                    let count = try file.read(into: inputBytes)
                    if count == 0 { inputEnd = true }
                    stream.next_in = inputBytes.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_in = uInt(count)
                }
                stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(buffer.count)
                let status = inflate(&stream, Z_NO_FLUSH)
                let produced = buffer.count - Int(stream.avail_out)
                switch status {
                case Z_STREAM_END:
                    // Another member may follow: look for more input before deciding.
                    if stream.avail_in == 0 && !inputEnd {
                        let count = try file.read(into: inputBytes)
                        if count == 0 { inputEnd = true }
                        stream.next_in = inputBytes.baseAddress!.assumingMemoryBound(to: Bytef.self)
                        stream.avail_in = uInt(count)
                    }
                    if stream.avail_in == 0 && inputEnd { finished = true } else { inflateReset(&stream) }
                    if produced > 0 || finished { return produced }
                case Z_OK, Z_BUF_ERROR:
                    if produced > 0 { return produced }
                    if inputEnd && stream.avail_in == 0 {
                        throw InputError(path: file.path, problem: "gzip data ends early (truncated file?)")
                    }
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw InputError(path: file.path, problem: "corrupt gzip data: \(message)")
                }
            }
        }
    }
}
