import ArgumentParser
import Foundation
import QuiverEngine
import QuiverImport
import QuiverShell

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a table's rows as JSONL or CSV (and its vectors as .npy), ready for quiver import.",
        discussion: """
            Field names are the table's column names; vectors are JSON arrays unless --vectors \
            writes them to a .npy file. Rows come in rowid order from one snapshot. In CSV an empty \
            field is NULL and "" the empty string.
            """)

    @OptionGroup var database: DatabaseOption

    @Option(name: .long, help: "The table to export.")
    var table: String

    @Option(name: .long, help: "jsonl (default) or csv.")
    var format: ExportOptions.Format = .jsonl

    @Option(name: [.short, .long], help: "Output file (default: standard output).")
    var output: String?

    @Option(name: .long, help: "Write the vector column to this .npy file (float32) instead of into the records.")
    var vectors: String?

    @Option(name: .long, help: "The VECTOR column --vectors takes (default: the table's only one).")
    var vectorColumn: String?

    @Option(name: .long, help: "Only rows matching this SQL condition.")
    var `where`: String?

    @Option(name: .long, help: "Also write the table's schema (for quiver import --schema) to this file.")
    var schema: String?

    func run() throws {
        var options = ExportOptions(table: table)
        options.format = format
        options.outputPath = output
        options.vectorsPath = vectors
        options.vectorColumn = vectorColumn
        options.whereClause = `where`
        options.schemaPath = schema
        let db = try Database(path: database.path, create: false)
        let toFile = output != nil && output != "-"
        // Drawn only beside a file: on standard output the line would mix with the records.
        let display = toFile ? ProgressLine.onStandardError(delay: 1) : nil
        display?.start()
        defer { display?.stop() }
        let rows = try Exporter(database: db, options: options).run(
            progress: display.map { line in { line.update($0) } })
        display?.stop()
        if toFile {
            FileHandle.standardError.write(Data("exported \(rows) rows from \(table)\n".utf8))
        }
    }
}

extension ExportOptions.Format: ExpressibleByArgument {}
