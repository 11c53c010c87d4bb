import Foundation

/// A record longer than the import allows (`--max-record-bytes`).
struct RecordTooLong: Error, CustomStringConvertible {
    var line: Int
    var limit: Int
    var description: String {
        "line \(line): the record is longer than \(limit) bytes; raise --max-record-bytes to read it"
    }
}

/// Splits a byte source into lines (without their `\n` or `\r\n`), numbering them from 1.
/// A line is handed out as a buffer that stays valid until the next call; it is followed in
/// memory by a NUL byte, so C number parsers stop at its end.
final class LineReader {
    private let source: ByteSource
    /// A longer line is refused before the buffer grows past it: one endless line in a small
    /// .gz must not take the machine's memory.
    let maxLineBytes: Int
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0 // first byte not yet handed out
    private var end = 0 // end of the bytes read so far
    private var exhausted = false
    private(set) var lineNumber = 0
    /// Whether the line last handed out ended in `\r\n` rather than `\n` (CSV keeps a line
    /// break inside a quoted field as it was written).
    private(set) var lastLineEndedInCRLF = false

    init(source: ByteSource, chunkSize: Int = 1 << 20, maxLineBytes: Int = .max) {
        self.source = source
        self.maxLineBytes = maxLineBytes
        buffer = .allocate(byteCount: chunkSize + 1, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next line, or nil at the end of the input.
    func next() throws -> UnsafeRawBufferPointer? {
        while true {
            if let newline = memchr(buffer.baseAddress! + start, 0x0A, end - start) {
                let stop = UnsafeRawPointer(newline) - UnsafeRawPointer(buffer.baseAddress!)
                return try hand(out: stop, skip: 1)
            }
            if exhausted {
                guard end > start else { return nil }
                return try hand(out: end, skip: 0)
            }
            try refill()
        }
    }

    private func hand(out stop: Int, skip: Int) throws -> UnsafeRawBufferPointer {
        var lineEnd = stop
        if lineEnd > start, buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        lastLineEndedInCRLF = lineEnd < stop
        guard lineEnd - start <= maxLineBytes else { throw RecordTooLong(line: lineNumber + 1, limit: maxLineBytes) }
        buffer[lineEnd] = 0 // the NUL after the line (overwrites \n or \r)
        let line = UnsafeRawBufferPointer(rebasing: buffer[start..<lineEnd])
        start = stop + skip
        lineNumber += 1
        return line
    }

    /// Moves the unfinished line to the front and reads more; grows the buffer for long lines.
    private func refill() throws {
        let kept = end - start
        if start > 0 {
            if kept > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + start, kept) }
            start = 0
            end = kept
        }
        if end >= buffer.count - 1 {
            guard end <= maxLineBytes else { throw RecordTooLong(line: lineNumber + 1, limit: maxLineBytes) }
            let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            larger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = larger
        }
        let count = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end..<(buffer.count - 1)]))
        if count == 0 { exhausted = true }
        end += count
    }
}
