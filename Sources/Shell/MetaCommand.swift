import Foundation
import QuiverStorage

/// The dot-commands: parsed from a line, run against the shell's state and backend.
enum MetaCommand {
    case help
    case tables
    case schema(table: String?)
    case indexes
    case mode(DisplayMode?) // nil: say which
    case timer(Bool?)
    case explain(Bool?)
    case importFile(path: String, table: String)
    case export(table: String, path: String)
    case read(path: String)
    case output(path: String?)
    case quit

    static let names = [
        ".help", ".tables", ".schema", ".indexes", ".mode", ".timer", ".explain", ".import", ".export",
        ".read", ".output", ".quit", ".exit",
    ]

    static let helpText = """
        .help                 this list
        .tables               tables and views
        .schema [TABLE]       CREATE statements (all, or of one table), vector indexes included
        .indexes              indexes: SQLite's and hnsw, with their parameters
        .mode [MODE]          result format: table, json, jsonl, csv or line (without MODE: the current one)
        .timer [on|off]       show the time each statement took
        .explain [on|off]     show the plan before each query's rows
        .import FILE TABLE    load a .csv (header line) or .jsonl file into TABLE (created if missing)
        .export TABLE FILE    write TABLE to FILE as .csv or .jsonl, by the file's extension
        .read FILE            run the statements and commands in FILE
        .output [FILE]        send results to FILE; without FILE, back to the screen
        .quit                 leave (so does Ctrl-D)
        Statements end with ";" and may span lines. Ctrl-C cancels a running statement, or clears the line.

        """

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ line: String) throws -> MetaCommand {
        let words = try arguments(of: line)
        guard let name = words.first?.lowercased() else { throw UsageError(description: "empty command") }
        let args = Array(words.dropFirst())
        func expect(_ count: ClosedRange<Int>, _ usage: String) throws {
            guard count.contains(args.count) else { throw UsageError(description: "usage: \(usage)") }
        }
        func onOff(_ usage: String) throws -> Bool? {
            try expect(0...1, usage)
            guard !args.isEmpty else { return nil }
            switch args[0].lowercased() {
            case "on", "yes", "1": return true
            case "off", "no", "0": return false
            default: throw UsageError(description: "usage: \(usage)")
            }
        }
        switch name {
        case ".help": return .help
        case ".tables": return .tables
        case ".schema":
            try expect(0...1, ".schema [TABLE]")
            return .schema(table: args.first)
        case ".indexes", ".indices": return .indexes
        case ".mode":
            let usage = ".mode " + DisplayMode.allCases.map(\.rawValue).joined(separator: "|")
            try expect(0...1, usage)
            guard let word = args.first else { return .mode(nil) }
            guard let mode = DisplayMode(rawValue: word.lowercased()) else {
                throw UsageError(description: "usage: \(usage)")
            }
            return .mode(mode)
        case ".timer": return .timer(try onOff(".timer on|off"))
        case ".explain": return .explain(try onOff(".explain on|off"))
        case ".import":
            try expect(2...2, ".import FILE TABLE")
            return .importFile(path: args[0], table: args[1])
        case ".export":
            try expect(2...2, ".export TABLE FILE")
            return .export(table: args[0], path: args[1])
        case ".read":
            try expect(1...1, ".read FILE")
            return .read(path: args[0])
        case ".output":
            try expect(0...1, ".output [FILE]")
            return .output(path: args.first.flatMap { $0 == "stdout" ? nil : $0 })
        case ".quit", ".exit", ".q": return .quit
        default:
            throw UsageError(description: "unknown command \(name); .help lists the commands")
        }
    }

    /// Words separated by spaces; 'single' or "double" quotes keep spaces in a word.
    static func arguments(of line: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var quote: Character?
        var inWord = false
        for c in line {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c
                inWord = true
            } else if c.isWhitespace {
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            } else {
                current.append(c)
                inWord = true
            }
        }
        if quote != nil { throw UsageError(description: "unterminated quote in: \(line)") }
        if inWord { words.append(current) }
        return words
    }
}
