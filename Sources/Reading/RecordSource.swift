/// What a reader yields: a record, or a line that could not be read as one.
package enum SourceItem {
    case record(InputRecord)
    case malformed(line: Int, text: String, reason: String)
}

/// The input formats `quiver import` reads.
public enum InputFormat: String, CaseIterable, Sendable {
    case jsonl, csv, tsv

    /// The format a file name suggests (`.jsonl`, `.ndjson`, `.json`, `.csv`, `.tsv`, each also
    /// with `.gz`), or nil.
    public static func guess(fromPath path: String) -> InputFormat? {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json") { return .jsonl }
        if name.hasSuffix(".csv") { return .csv }
        if name.hasSuffix(".tsv") || name.hasSuffix(".tab") { return .tsv }
        return nil
    }
}

/// Records from an input file of any supported format.
package final class RecordSource {
    private enum Reader {
        case jsonl(LineReader)
        case delimited(DelimitedReader)
    }

    private var reader: Reader
    private let bytes: ByteSource
    /// For CSV/TSV the header's field names; for JSONL nil (each line names its own).
    package let header: [String]?

    package let path: String

    /// A record longer than this stops the read, naming its file and line, before it is held in memory.
    package static let defaultMaxRecordBytes = 128 << 20

    package init(path: String, format: InputFormat, maxRecordBytes: Int = defaultMaxRecordBytes) throws {
        self.path = path
        bytes = try openByteSource(path: path)
        let lines = LineReader(source: bytes, maxLineBytes: maxRecordBytes)
        switch format {
        case .jsonl:
            reader = .jsonl(lines)
            header = nil
        case .csv, .tsv:
            do {
                let delimited = try DelimitedReader(lines: lines, delimiter: format == .csv ? UInt8(ascii: ",") : 0x09)
                header = delimited.header
                reader = .delimited(delimited)
            } catch let problem as DelimitedReader.Problem {
                throw InputError(path: path, problem: "line \(problem.line): \(problem)")
            } catch let tooLong as RecordTooLong {
                throw InputError(path: path, problem: tooLong.description)
            }
        }
    }

    /// Compressed bytes consumed so far, and the file's size when known.
    package var consumedBytes: Int { bytes.consumed }
    package var totalBytes: Int? { bytes.size }

    /// The line last read (valid until the next call), for the text of a rejected JSONL record.
    private var lastLine: UnsafeRawBufferPointer?

    /// The text of `record` as written; for JSONL only while it is the latest record read.
    package func text(of record: InputRecord) -> String {
        if !record.text.isEmpty { return record.text }
        return lastLine.map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    package func next() throws -> SourceItem? {
        do {
            return try nextItem()
        } catch let tooLong as RecordTooLong {
            throw InputError(path: path, problem: tooLong.description)
        }
    }

    private func nextItem() throws -> SourceItem? {
        switch reader {
        case .jsonl(let lines):
            while let line = try lines.next() {
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                lastLine = line
                do {
                    let fields = try JSONLineParser.parseObject(line)
                    return .record(InputRecord(line: lines.lineNumber, fields: fields, text: ""))
                } catch {
                    return .malformed(
                        line: lines.lineNumber, text: String(decoding: line, as: UTF8.self), reason: error.description)
                }
            }
            return nil
        case .delimited(var delimited):
            defer { reader = .delimited(delimited) }
            do {
                return try delimited.next()
            } catch let problem as DelimitedReader.Problem {
                // Only a quote left open to the end of the file is thrown (it ends the file).
                throw InputError(path: path, problem: "line \(problem.line): \(problem)")
            }
        }
    }
}
