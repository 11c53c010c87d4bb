import ArgumentParser
import Foundation
import QuiverEngine
import QuiverFormats
import QuiverShell

struct SQLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run one or more SQL statements (all or nothing) and print what each SELECT returns.",
        discussion: """
            SQLite's dialect plus pgvector's: VECTOR(n) columns, the distance operators <-> (L2), \
            <=> (cosine) and <#> (negative inner product), and TEXT COMPRESSED columns.
            Reads the statements from standard input when none are given.
            """)

    @OptionGroup var database: DatabaseOption

    @Option(name: .long, help: "Output format: table, json, jsonl or csv.")
    var format: OutputFormat = .table

    @Argument(help: "SQL statements, separated by semicolons.")
    var statements: String?

    func run() throws {
        let sql = statements ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let db = try Database(path: database.path)
        let progress = ProgressLine.onStandardError(delay: 0)
        if let progress {
            db.progressHandler = { progress.update($0) }
            progress.start()
        }
        defer { progress?.stop() }
        let results = try db.execute(sql)
        progress?.stop()
        let output = ResultRenderer.render(results, as: format)
        // Rendered output ends with its own line break (CRLF for CSV).
        if !output.isEmpty { print(output, terminator: "") }
        // The statements committed; a checkpoint that could not be written is worth knowing
        // (a full disk) but is no failure of theirs.
        if let failure = db.checkpointError { FileHandle.standardError.write(Data("warning: \(failure)\n".utf8)) }
    }
}

extension OutputFormat: ExpressibleByArgument {}
