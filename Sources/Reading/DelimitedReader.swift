/// Reads CSV (RFC 4180) or TSV records: the first record names the fields.
///
/// A field in double quotes may hold the delimiter, doubled quotes and line breaks. An empty
/// unquoted field is NULL and `""` the empty string, as PostgreSQL's CSV has it (and as
/// `quiver export` writes), so the two survive a round trip.
struct DelimitedReader {
    enum Problem: Error, CustomStringConvertible {
        case unclosedQuote(line: Int)
        case strayQuote(line: Int, field: Int)
        case invalidUTF8(line: Int)
        case emptyHeader
        case duplicateHeader(String)
        case fieldCount(line: Int, expected: Int, found: Int)

        var line: Int {
            switch self {
            case .unclosedQuote(let line), .strayQuote(let line, _), .invalidUTF8(let line),
                .fieldCount(let line, _, _):
                line
            case .emptyHeader, .duplicateHeader: 1
            }
        }

        var description: String {
            switch self {
            case .unclosedQuote: "quoted field is not closed before the end of the file"
            case .strayQuote(_, let field):
                "field \(field): a quote inside an unquoted field (quote the whole field and double the quote)"
            case .invalidUTF8: "record is not valid UTF-8"
            case .emptyHeader: "the header line is empty"
            case .duplicateHeader(let name): "the header names field \"\(name)\" twice"
            case .fieldCount(_, let expected, let found): "expected \(expected) fields as in the header, found \(found)"
            }
        }
    }

    private let lines: LineReader
    private let delimiter: UInt8
    private(set) var header: [String] = []
    /// The text of the record being split, for reporting it when it is malformed.
    private var lastText = ""

    init(lines: LineReader, delimiter: UInt8) throws {
        self.lines = lines
        self.delimiter = delimiter
        guard let first = try nextFields() else { throw Problem.emptyHeader }
        // (A malformed header line is thrown: nothing can be read without field names.)
        header = first.fields.map { field in
            var name = field.text ?? ""
            if name.hasPrefix("\u{FEFF}") { name.removeFirst() }
            return name
        }
        guard !(header.count == 1 && header[0].isEmpty) else { throw Problem.emptyHeader }
        var seen = Set<String>()
        for name in header where !seen.insert(name).inserted { throw Problem.duplicateHeader(name) }
    }

    /// The next record, or nil at the end. Blank lines are skipped; a malformed record is
    /// returned as such (reading goes on with the next line).
    mutating func next() throws -> SourceItem? {
        while true {
            let line: Int
            let text: String
            let fields: [FieldValue]
            do {
                guard let next = try nextFields() else { return nil }
                (line, text, fields) = next
            } catch let problem as Problem {
                if case .unclosedQuote = problem { throw problem }
                return .malformed(line: problem.line, text: lastText, reason: problem.description)
            }
            if fields.count == 1, fields[0] == .null { continue } // a blank line
            guard fields.count == header.count else {
                return .malformed(
                    line: line, text: text,
                    reason: Problem.fieldCount(line: line, expected: header.count, found: fields.count).description)
            }
            var record = InputRecord(line: line, fields: [], text: text)
            record.fields.reserveCapacity(fields.count)
            for (name, field) in zip(header, fields) {
                record.fields.append((name, field))
            }
            return .record(record)
        }
        return nil
    }

    /// Splits one record into fields (null = empty and unquoted), joining lines inside quotes.
    private mutating func nextFields() throws -> (line: Int, text: String, fields: [FieldValue])? {
        guard let first = try lines.next() else { return nil }
        let startLine = lines.lineNumber
        var record = [UInt8](first)
        while endsInsideQuotes(record) {
            let lineBreak: [UInt8] = lines.lastLineEndedInCRLF ? [0x0D, 0x0A] : [0x0A]
            guard let more = try lines.next() else { throw Problem.unclosedQuote(line: startLine) }
            guard record.count + lineBreak.count + more.count <= lines.maxLineBytes else {
                throw RecordTooLong(line: startLine, limit: lines.maxLineBytes)
            }
            record.append(contentsOf: lineBreak)
            record.append(contentsOf: more)
        }
        lastText = String(decoding: record, as: UTF8.self)
        var fields: [FieldValue] = []
        var field: [UInt8] = []
        var quoted = false
        var inQuotes = false
        var i = 0
        func finish() throws {
            if !quoted && field.isEmpty {
                fields.append(.null)
            } else {
                guard let text = String(validating: field, as: UTF8.self) else {
                    throw Problem.invalidUTF8(line: startLine)
                }
                fields.append(quoted ? .quoted(text) : .untyped(text))
            }
            field.removeAll(keepingCapacity: true)
            quoted = false
        }
        while i < record.count {
            let byte = record[i]
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if i + 1 < record.count, record[i + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        i += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.append(byte)
                }
            } else if byte == delimiter {
                try finish()
            } else if byte == UInt8(ascii: "\"") {
                guard field.isEmpty, !quoted else { throw Problem.strayQuote(line: startLine, field: fields.count + 1) }
                quoted = true
                inQuotes = true
            } else {
                if quoted { throw Problem.strayQuote(line: startLine, field: fields.count + 1) }
                field.append(byte)
            }
            i += 1
        }
        try finish()
        return (startLine, lastText, fields)
    }

    /// Whether the text so far leaves a quoted field open: a quote opens one only at the start
    /// of a field, and inside one `""` is a quote and `"` closes it (a stray quote elsewhere
    /// is an error found when the record is split, not a reason to join lines).
    private func endsInsideQuotes(_ bytes: [UInt8]) -> Bool {
        var inQuotes = false
        var atFieldStart = true
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\"") { i += 1 } else { inQuotes = false }
                }
            } else if byte == delimiter || byte == 0x0A {
                atFieldStart = true
                i += 1
                continue
            } else if byte == UInt8(ascii: "\""), atFieldStart {
                inQuotes = true
            }
            atFieldStart = false
            i += 1
        }
        return inQuotes
    }
}
