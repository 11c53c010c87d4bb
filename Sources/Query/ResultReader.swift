import QuiverStorage

/// Reads a statement's rows, turning stored forms back into what users wrote: float32 blobs of a
/// VECTOR column become vectors, LZ4 blobs of a TEXT COMPRESSED column become text. A result
/// column is recognised by its origin (SQLite's column metadata), so `SELECT *` and subqueries
/// that pass a column through are covered too.
struct ResultReader {
    enum Decoding { case none, vector, compressedText }

    static func decodings(for statement: Statement, catalog: Catalog) -> [Decoding] {
        (0..<statement.columnCount).map { index in
            guard let origin = statement.columnOrigin(index),
                let column = catalog.table(named: origin.table)?.column(named: origin.column)
            else { return .none }
            switch column.kind {
            case .plain: return .none
            case .vector: return .vector
            case .compressedText: return .compressedText
            }
        }
    }

    static func readAll(_ statement: Statement, catalog: Catalog, budget: ResultBudget? = nil) throws -> ResultSet {
        let decodings = decodings(for: statement, catalog: catalog)
        var rows: [[SQLValue]] = []
        while try statement.step() {
            let row = try decodedRow(statement, decodings)
            try budget?.spend(on: row, rowsSoFar: rows.count)
            rows.append(row)
        }
        return ResultSet(columns: statement.columnNames, rows: rows)
    }

    static func decodedRow(_ statement: Statement, _ decodings: [Decoding]) throws -> [SQLValue] {
        var row: [SQLValue] = []
        row.reserveCapacity(decodings.count)
        for (index, decoding) in decodings.enumerated() {
            switch decoding {
            case .vector where statement.isBlob(at: index):
                let bytes = statement.blobBytes(at: index)
                if bytes.count % 4 == 0 {
                    row.append(
                        .vector(
                            (0..<(bytes.count / 4)).map { bytes.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) })
                    )
                } else {
                    row.append(statement.value(at: index))
                }
            case .compressedText where statement.isBlob(at: index):
                do {
                    if let text = try TextCompression.decompress(statement.blobBytes(at: index)) {
                        row.append(.text(text))
                    } else {
                        row.append(statement.value(at: index))
                    }
                } catch {
                    let origin = statement.columnOrigin(index)
                    let place = origin.map { "\($0.table).\($0.column)" } ?? statement.columnNames[index]
                    let rows = origin.flatMap {
                        rowsHolding(Array(statement.blobBytes(at: index)), $0.table, $0.column, statement.connection)
                    }
                    throw SQLiteError(.invalidStoredValue("column \(place)\(rows ?? ""): \(error)"))
                }
            default:
                row.append(statement.value(at: index))
            }
        }
        return row
    }

    /// " in row rowid=N" for the rows of `table` whose `column` holds `value`, so a damaged value
    /// can be found and repaired; nil when they cannot be looked up (no rowid, say).
    private static func rowsHolding(_ value: [UInt8], _ table: String, _ column: String, _ connection: Connection)
        -> String?
    {
        let sql = "SELECT rowid FROM \(quoteIdentifier(table)) WHERE \(quoteIdentifier(column)) = ? LIMIT 5"
        guard let rows = try? connection.query(sql, SQLBindings([.blob(value)])), !rows.isEmpty else { return nil }
        let ids = rows.compactMap { $0.first?.integerValue }.map(String.init)
        return " in row\(ids.count > 1 ? "s" : "") rowid=\(ids.joined(separator: ", "))"
    }
}
