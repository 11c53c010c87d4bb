import ArgumentParser
import Foundation
import QuiverEngine
import QuiverImport
import QuiverReading
import QuiverShell

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load JSONL (.gz), CSV or TSV records into a table, upserting by key.",
        discussion: """
            Vectors come from a JSON-array field or, with --vectors, from a .npy (float32/float16) or \
            .fvecs file whose i-th row belongs to the i-th record. A missing table is created from \
            --schema (see Schemas/table-schema.schema.json) or inferred from the first records. \
            With --on-error abort (the default) the import is one transaction: the first bad record \
            stops it and the database stays as it was. With skip, good records are written in \
            committed batches and bad ones listed, with reasons, in the reject file. Re-running an \
            interrupted import completes it without duplicates.
            """)

    @OptionGroup var database: DatabaseOption

    @Option(name: .long, help: "The table to load (created when missing).")
    var table: String

    @Argument(help: "The input file (.jsonl, .ndjson, .csv, .tsv, optionally .gz; - for standard input).")
    var file: String

    @Option(name: .long, help: "Input format when the file name does not tell: jsonl, csv or tsv.")
    var format: InputFormat?

    @Option(name: .long, help: "A .npy or .fvecs file holding one vector per record, in record order.")
    var vectors: String?

    @Option(name: .long, help: "The VECTOR column --vectors fills (default: the table's only one, or `embedding`).")
    var vectorColumn: String?

    @Option(name: .long, help: "A JSON table schema for a new table (see Schemas/table-schema.schema.json).")
    var schema: String?

    @Option(name: .long, help: "The field holding the primary key (default: the table's key, else `id`).")
    var key: String?

    @Option(
        name: .long,
        help:
            "abort (default): stop at the first bad record, change nothing. skip: write the good records, list the bad."
    )
    var onError: ImportOptions.OnError = .abort

    @Option(name: .long, help: "Where skip mode lists rejected records (default: <input name>.rejects.jsonl here).")
    var rejects: String?

    @Option(
        name: .long, help: "Leave out duplicates: `exact` (same normalized text) or a cosine similarity such as 0.95.")
    var dedupe: String?

    @Option(name: .long, help: "The column --dedupe compares (default: the only text or VECTOR column).")
    var dedupeColumn: String?

    @Option(name: .long, help: "Rows per committed batch in skip mode.")
    var batchSize = 10_000

    @Option(name: .long, help: "The longest record read, in bytes; a longer one stops the import (it bounds memory).")
    var maxRecordBytes = ImportOptions.defaultMaxRecordBytes

    @Flag(name: .long, help: "No progress display, only the summary.")
    var quiet = false

    func run() throws {
        var options = ImportOptions(table: table, inputPath: file)
        options.format = format
        options.vectorsPath = vectors
        options.vectorColumn = vectorColumn
        options.schemaPath = schema
        options.key = key
        options.onError = onError
        options.rejectsPath = rejects
        options.dedupeColumn = dedupeColumn
        options.batchSize = max(1, batchSize)
        options.maxRecordBytes = max(1, maxRecordBytes)
        if let dedupe {
            if dedupe.lowercased() == "exact" {
                options.dedupe = .exact
            } else if let threshold = Double(dedupe) {
                options.dedupe = .similarity(threshold)
            } else {
                throw ValidationError("--dedupe takes `exact` or a cosine similarity such as 0.95; got \(dedupe)")
            }
        }
        let db = try Database(path: database.path)
        let display = quiet ? nil : ProgressLine.onStandardError(delay: 0)
        display?.start()
        defer { display?.stop() }
        let summary = try Importer(database: db, options: options).run(
            progress: display.map { line in
                { line.update(ImportProgressText.render($0, width: line.width)) }
            })
        display?.stop()
        print(summary.text)
    }
}

extension InputFormat: ExpressibleByArgument {}
extension ImportOptions.OnError: ExpressibleByArgument {}
