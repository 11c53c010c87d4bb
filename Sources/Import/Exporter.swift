import Foundation
import QuiverEngine
import QuiverFormats
import QuiverProgress
import QuiverReading
import QuiverStorage

/// What `quiver export` was asked to do.
public struct ExportOptions: Sendable {
    public enum Format: String, Sendable, CaseIterable { case jsonl, csv }

    public var table: String
    public var format: Format = .jsonl
    /// nil or "-" for standard output.
    public var outputPath: String?
    /// Writes the vector column to this `.npy` (float32, one row per exported row) instead of
    /// into the records.
    public var vectorsPath: String?
    /// Which VECTOR column `vectorsPath` takes (default: the table's only one).
    public var vectorColumn: String?
    /// A SQL condition on the table's columns.
    public var whereClause: String?
    /// Writes the table's schema (the `--schema` format of import) here.
    public var schemaPath: String?

    public init(table: String) { self.table = table }
}

/// Writes a table's rows as JSON Lines or CSV, with the table's column names as field names,
/// in rowid order, from one snapshot; `quiver import` reads the result back to the same rows,
/// value for value and type for type (see ExportEncoding), or the export stops naming the row
/// and column it could not write so.
public final class Exporter {
    private let database: Database
    private let options: ExportOptions
    static let pageSize = 2_000

    public init(database: Database, options: ExportOptions) {
        self.database = database
        self.options = options
    }

    /// Returns the number of rows written. `progress` hears the rows written so far after each
    /// page ("exporting docs: 120,000 rows"; the total is not counted beforehand).
    @discardableResult
    public func run(progress: ((QuiverProgress.Progress) -> Void)? = nil) throws -> Int {
        guard let table = database.catalog.table(named: options.table) else {
            throw ImportError.plan("no such table: \(options.table)")
        }
        var vectorColumn: ColumnInfo?
        if options.vectorsPath != nil {
            if let name = options.vectorColumn {
                guard let column = table.column(named: name), column.kind.vectorDimension != nil else {
                    throw ImportError.plan("--vector-column \(name) is not a VECTOR column of \(table.name)")
                }
                vectorColumn = column
            } else {
                guard table.vectorColumns.count == 1 else {
                    throw ImportError.plan(
                        table.vectorColumns.isEmpty
                            ? "table \(table.name) has no VECTOR column for --vectors"
                            : "table \(table.name) has several VECTOR columns; name one with --vector-column")
                }
                vectorColumn = table.vectorColumns[0]
            }
        } else if options.vectorColumn != nil {
            throw ImportError.plan("--vector-column goes with --vectors")
        }
        let recordColumns = table.columns.filter { $0.name != vectorColumn?.name }
        let columnList =
            recordColumns.map { quoteIdentifier($0.name) } + (vectorColumn.map { [quoteIdentifier($0.name)] } ?? [])
        let condition =
            options.whereClause.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap {
                $0.isEmpty ? nil : " AND (\($0))"
            } ?? ""
        let page =
            "SELECT rowid, \(columnList.joined(separator: ", ")) FROM \(quoteIdentifier(table.name)) WHERE rowid > ?1\(condition) ORDER BY rowid LIMIT \(Self.pageSize)"

        if let schemaPath = options.schemaPath {
            let schema = TableSchema.describing(table, indexes: database.catalog.indexes(on: table.name))
            guard FileManager.default.createFile(atPath: schemaPath, contents: schema.encoded() + Data("\n".utf8))
            else {
                throw InputError(path: schemaPath, problem: "cannot write the schema file")
            }
        }
        let output = try OutputFile(path: options.outputPath)
        let targets = recordColumns.map { ColumnTarget(name: $0.name, type: ColumnType($0), required: false) }
        var vectors: [Float] = []
        var written = 0
        var after = Int64.min

        // One read transaction: every page comes from the same snapshot.
        try database.transaction(.deferred) {
            while true {
                let result =
                    try database.execute(page, SQLBindings([.integer(after)])).first ?? ResultSet(columns: [], rows: [])
                guard let last = result.rows.last else { break }
                after = last[0].integerValue ?? after
                let rows = result.rows.map { row -> [SQLValue] in Array(row[1...(recordColumns.count)]) }
                let text = try Self.records(
                    rows, rowids: result.rows.map { $0[0] }, table: table, columns: recordColumns,
                    format: options.format, header: written == 0)
                if let vectorColumn {
                    for row in result.rows {
                        guard let vector = row[recordColumns.count + 1].vectorValue else {
                            throw ImportError.plan(
                                "row \(row[0]) of \(table.name) has no \(vectorColumn.name); --vectors needs a vector in every exported row (filter them with --where \"\(vectorColumn.name) IS NOT NULL\")"
                            )
                        }
                        vectors += vector
                    }
                }
                try output.write(text)
                written += rows.count
                progress?(QuiverProgress.Progress("exporting \(table.name)", done: written, total: 0, unit: .rows))
                if result.rows.count < Self.pageSize { break }
            }
        }
        if written == 0, options.format == .csv {
            try output.write(ExportEncoding.csvHeader(targets))
        }
        try output.finish()
        if let vectorsPath = options.vectorsPath, let dimension = vectorColumn?.kind.vectorDimension {
            try NumPy.writeFloatMatrix(path: vectorsPath, rows: written, columns: dimension, values: vectors)
        }
        return written
    }
}

extension Exporter {
    /// Rows (values in `columns` order, each with its rowid) as JSONL or CSV records, the CSV
    /// header first when asked; every value is checked to come back unchanged through import,
    /// or the error names the row (by key, else rowid) and the column. The shell's `.export`
    /// over a server writes with it too.
    package static func records(
        _ rows: [[SQLValue]], rowids: [SQLValue], table: TableInfo, columns: [ColumnInfo],
        format: ExportOptions.Format, header: Bool
    ) throws -> String {
        let targets = columns.map { ColumnTarget(name: $0.name, type: ColumnType($0), required: false) }
        let keyIndex = table.primaryKeyColumn.flatMap { key in columns.firstIndex { $0.name == key.name } }
        var text = header && format == .csv ? ExportEncoding.csvHeader(targets) : ""
        for (rowIndex, row) in rows.enumerated() {
            for (column, value) in row.enumerated() {
                do {
                    try ExportEncoding.check(value, column: targets[column], format: format)
                } catch {
                    let key =
                        keyIndex.map { "\(columns[$0].name)=\(keyText(row[$0]))" }
                        ?? "rowid=\(keyText(rowids[rowIndex]))"
                    throw ImportError.plan(
                        "cannot export \(table.name) row \(key), column \(targets[column].name) (\(targets[column].type.name)) "
                            + "as \(format.rawValue.uppercased()) so that import restores it: \(error)")
                }
            }
            text += ExportEncoding.record(row, columns: targets, format: format)
        }
        return text
    }

    static func keyText(_ value: SQLValue) -> String {
        switch value {
        case .integer(let v): "\(v)"
        case .text(let s): quoteLiteral(s)
        default: "\(value)"
        }
    }
}

/// Standard output or a file written whole: a file is written beside its final name and
/// renamed at the end, so an interrupted export never leaves a half file under that name.
private final class OutputFile {
    private let handle: FileHandle
    private let finalPath: String?
    private let temporaryPath: String?
    private var buffer = Data()

    init(path: String?) throws {
        if let path, path != "-" {
            let temporary = path + ".partial"
            guard FileManager.default.createFile(atPath: temporary, contents: nil),
                let handle = FileHandle(forWritingAtPath: temporary)
            else {
                throw InputError(path: path, problem: "cannot create the output file")
            }
            self.handle = handle
            finalPath = path
            temporaryPath = temporary
        } else {
            handle = FileHandle.standardOutput
            finalPath = nil
            temporaryPath = nil
        }
    }

    func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    func finish() throws {
        try flush()
        if let finalPath, let temporaryPath {
            try handle.synchronize()
            try handle.close()
            guard rename(temporaryPath, finalPath) == 0 else {
                throw InputError(
                    path: finalPath,
                    problem: "cannot move the finished export into place: \(String(cString: strerror(errno)))")
            }
        }
    }

    deinit {
        if let temporaryPath, FileManager.default.fileExists(atPath: temporaryPath) { unlink(temporaryPath) }
    }
}
