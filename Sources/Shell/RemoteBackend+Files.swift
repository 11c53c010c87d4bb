import Foundation
import QuiverClient
import QuiverImport
import QuiverJSON
import QuiverProgress
import QuiverStorage

/// `.import` and `.export` over a server: the file is read, planned and converted here with
/// QuiverImport (`RecordLoad`), as the embedded shell's importer does, and sent as one `POST /sql`
/// script — the server runs a request as one transaction, so the load is all or nothing, within
/// the server's --max-sql-bytes. An export reads the table in one request (one snapshot) and
/// writes it with the exporter's encoding and checks.
extension RemoteBackend {
    public func importFile(
        _ path: String, into table: String, progress: @escaping (QuiverProgress.Progress) -> Void
    ) throws -> String {
        let started = Date()
        var options = ImportOptions(table: table, inputPath: path)
        options.onError = .abort
        var load = try RecordLoad(options: options, existing: try describe(table))
        progress(
            QuiverProgress.Progress(
                "sending to the server", done: 0, total: 0, unit: .rows,
                alongside: .init(load.summary.written, .rows)))
        let script = load.statements.map { $0 + ";\n" }.joined()
        _ = try perform { client in try client.sql(script) }
        load.summary.seconds = Date().timeIntervalSince(started)
        return load.summary.text
    }

    public func exportTable(_ table: String, to path: String, format: ExportOptions.Format) throws -> String {
        guard let info = try describe(table) else { throw StatementFailure(message: "no such table: \(table)") }
        // typeof tells a REAL from the integer JSON may write for it, and an infinite REAL from
        // the text "Infinity", which JSON answers alike.
        let selected = info.columns.flatMap { column in
            column.kind.vectorDimension == nil
                ? [quoteIdentifier(column.name), "typeof(\(quoteIdentifier(column.name)))"]
                : [quoteIdentifier(column.name)]
        }
        let rowid = info.rowidName ?? "rowid"
        let sql =
            "SELECT \(rowid), \(selected.joined(separator: ", ")) FROM \(quoteIdentifier(info.name)) ORDER BY \(rowid)"
        let result = try perform { client in try client.sql(sql) }.first
        var rowids: [SQLValue] = []
        var rows: [[SQLValue]] = []
        for json in result?.rows ?? [] {
            rowids.append(Self.value(json[0]))
            var row: [SQLValue] = []
            var i = 1
            for column in info.columns {
                if column.kind.vectorDimension != nil {
                    row.append(Self.value(json[i]))
                    i += 1
                } else {
                    row.append(Self.value(json[i], storedAs: json[i + 1].stringValue))
                    i += 2
                }
            }
            rows.append(row)
        }
        let text = try Exporter.records(
            rows, rowids: rowids, table: info, columns: info.columns, format: format, header: true)
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw StatementFailure(message: "cannot write \(path)")
        }
        return "exported \(rows.count) rows of \(info.name) to \(path)"
    }

    /// The table as the server's schema describes it, or nil when there is none.
    private func describe(_ table: String) throws -> TableInfo? {
        let sql = "SELECT name, type, \"notnull\", pk FROM pragma_table_info(\(quoteLiteral(table)))"
        let rows = try perform { client in try client.sql(sql) }.first?.rows ?? []
        guard !rows.isEmpty else { return nil }
        let columns = try rows.map { row in
            let name = row[0].stringValue ?? ""
            let type = row[1].stringValue ?? ""
            let kind: ColumnKind
            do { kind = try ColumnKind(declaredType: type) } catch {
                throw StatementFailure(message: "\(table).\(name): \(error)")
            }
            return ColumnInfo(
                name: name, declaredType: type, kind: kind, notNull: row[2] == .integer(1),
                primaryKeyPosition: Int(row[3].integerValue ?? 0))
        }
        return TableInfo(name: table, columns: columns, withoutRowID: false)
    }

    /// A stored value from its JSON and its SQLite type.
    static func value(_ json: JSONValue, storedAs type: String?) -> SQLValue {
        switch (json, type) {
        case (.integer(let n), "real"): .real(Double(n))
        case (.string("Infinity"), "real"): .real(.infinity)
        case (.string("-Infinity"), "real"): .real(-.infinity)
        default: value(json)
        }
    }
}
