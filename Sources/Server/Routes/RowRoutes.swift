import Foundation
import Hummingbird
import QuiverEngine
import QuiverJSON
import QuiverStorage

/// Rows in batches: `POST /tables/{table}/rows` (upsert), `POST /tables/{table}/rows/get`,
/// `POST /tables/{table}/rows/delete`. Each batch is one transaction: all rows or none, and a
/// reader sees the whole batch or nothing of it. A 2xx answer comes after the commit, which
/// SQLite has synced (synchronous = FULL), so it survives a crash.
enum RowRoutes {
    static func add(to routes: inout RouteTable, services: ServerServices) {
        routes.add(.post, "/tables/{table}/rows") { request, context in
            try context.requireWrite("write rows")
            let name = try ServerServices.tableName(context)
            let body = try await JSONBody.decode(UpsertRequest.self, from: request, context: context)
            try services.checkBatch(body.rows.count, "rows")
            let upserted = try await services.write { database in
                guard let table = try database.currentCatalog().table(named: name) else {
                    throw APIError.notFound("no table named \(name)")
                }
                return try upsert(body.rows, into: table, database: database)
            }
            services.metrics.add("rows_upserted", upserted)
            return try JSONBody.response(UpsertResponse(upserted: upserted))
        }

        routes.add(.post, "/tables/{table}/rows/get") { request, context in
            let name = try ServerServices.tableName(context)
            let body = try await JSONBody.decode(KeysRequest.self, from: request, context: context)
            try services.checkBatch(body.ids.count, "ids")
            let response = try await services.read { database in
                guard let table = try database.currentCatalog().table(named: name) else {
                    throw APIError.notFound("no table named \(name)")
                }
                return try get(body, from: table, database: database)
            }
            services.metrics.add("rows_read", response.rows.count)
            return try JSONBody.response(response)
        }

        routes.add(.post, "/tables/{table}/rows/delete") { request, context in
            try context.requireWrite("delete rows")
            let name = try ServerServices.tableName(context)
            let body = try await JSONBody.decode(KeysRequest.self, from: request, context: context)
            try services.checkBatch(body.ids.count, "ids")
            let ids = try keysJSON(body.ids)
            let deleted = try await services.write { database in
                guard let table = try database.currentCatalog().table(named: name) else {
                    throw APIError.notFound("no table named \(name)")
                }
                let sql =
                    "DELETE FROM \(quoteIdentifier(table.name)) WHERE \(table.rowKeyExpression) IN (SELECT value FROM json_each(?1)) RETURNING 1"
                return try database.execute(sql, SQLBindings([.text(ids)])).first?.rows.count ?? 0
            }
            services.metrics.add("rows_deleted", deleted)
            return try JSONBody.response(DeleteResponse(deleted: deleted))
        }
    }

    /// Inserts the rows, or updates the columns they give where the primary key exists
    /// (Storage's `Upsert`, as the importer writes).
    static func upsert(_ rows: [[String: JSONValue]], into table: TableInfo, database: Database) throws -> Int {
        // An empty batch is valid and changes nothing, so callers need not special-case it.
        if rows.isEmpty { return 0 }
        // Rows are grouped by the columns they give; each group is one prepared statement.
        var groups: [[String]: (indices: [Int], bindings: [SQLBindings])] = [:]
        var groupOrder: [[String]] = []
        // A key SQLite does not assign (not an INTEGER PRIMARY KEY) must come with every row:
        // without it the row is inserted with a NULL key, once more on every retry.
        let requiredKey = table.primaryKeyColumn.flatMap { $0.declaredType.uppercased() == "INTEGER" ? nil : $0 }
        for (i, row) in rows.enumerated() {
            guard !row.isEmpty else { throw APIError.badRequest("rows[\(i)]: empty row") }
            if let key = requiredKey, (row.first { $0.key.caseInsensitiveEquals(key.name) }?.value ?? .null) == .null {
                throw APIError.badRequest(
                    "rows[\(i)]: give the key \(key.name); an upsert without it would insert a new row each time it is sent"
                )
            }
            var columns: [ColumnInfo] = []
            for key in row.keys {
                guard let column = table.column(named: key) else {
                    throw APIError.badRequest("rows[\(i)]: table \(table.name) has no column \(key)")
                }
                columns.append(column)
            }
            columns.sort { a, b in
                (table.columns.firstIndex { $0.name == a.name } ?? 0)
                    < (table.columns.firstIndex { $0.name == b.name } ?? 0)
            }
            let values = try columns.map { column in
                let key = row.keys.first { $0.caseInsensitiveEquals(column.name) }!
                return try ValueMapping.sqlValue(row[key]!, for: column, table: table.name, place: "rows[\(i)]")
            }
            let names = columns.map(\.name)
            if groups[names] == nil { groupOrder.append(names) }
            groups[names, default: ([], [])].indices.append(i)
            groups[names]!.bindings.append(SQLBindings(values))
        }
        return try database.transaction(.immediate) {
            var changed = 0
            for names in groupOrder {
                let group = groups[names]!
                // Names the row a failed statement came from; `first` is the group's row it started at.
                func located(_ error: Database.StatementError, first: Int = 0) -> APIError {
                    let row = group.indices[first + error.statementIndex - 1]
                    var failure = SQLiteError(
                        code: error.underlying.code, message: "rows[\(row)]: \(error.underlying.message)")
                    failure.refusal = error.underlying.refusal
                    return APIError.from(failure)
                }
                let upsert = Upsert(table: table, columns: names)
                if let update = upsert.update {
                    // Row by row: a later row of the batch may update what an earlier one inserted.
                    for (j, binding) in group.bindings.enumerated() {
                        do {
                            changed += try database.executeMany(update, [binding])
                            changed += try database.executeMany(upsert.insert, [binding])
                        } catch let error as Database.StatementError {
                            throw located(error, first: j)
                        }
                    }
                    continue
                }
                do {
                    changed += try database.executeMany(upsert.insert, group.bindings)
                } catch let error as Database.StatementError {
                    throw located(error)
                }
            }
            return changed
        }
    }

    static func get(_ body: KeysRequest, from table: TableInfo, database: Database) throws -> RowsResponse {
        let columns: [ColumnInfo] = try (body.columns ?? table.columns.map(\.name)).map { name in
            guard let column = table.column(named: name) else {
                throw APIError.badRequest("columns: table \(table.name) has no column \(name)")
            }
            return column
        }
        let selectList = ([table.rowKeyExpression + " AS __quiver_id"] + columns.map { quoteIdentifier($0.name) })
            .joined(separator: ", ")
        let sql =
            "SELECT \(selectList) FROM \(quoteIdentifier(table.name)) WHERE \(table.rowKeyExpression) IN (SELECT value FROM json_each(?1))"
        let result = try database.execute(sql, SQLBindings([.text(try keysJSON(body.ids))])).first
        var byKey: [JSONValue: [String: JSONValue]] = [:]
        for values in result?.rows ?? [] {
            var row: [String: JSONValue] = [:]
            for (i, column) in columns.enumerated() { row[column.name] = ValueMapping.json(values[i + 1]) }
            byKey[normalizedKey(ValueMapping.json(values[0]))] = row
        }
        var rows: [[String: JSONValue]] = []
        var missing: [JSONValue] = []
        for id in body.ids {
            if let row = byKey[normalizedKey(id)] { rows.append(row) } else { missing.append(id) }
        }
        return RowsResponse(rows: rows, missing: missing)
    }

    /// Keys as a JSON array for json_each: scalars only.
    static func keysJSON(_ ids: [JSONValue]) throws -> String {
        for (i, id) in ids.enumerated() {
            switch id {
            case .integer, .number, .string: continue
            default: throw APIError.badRequest("ids[\(i)]: a key must be a number or a string, not \(id.typeName)")
            }
        }
        return String(decoding: try JSONEncoder().encode(ids), as: UTF8.self)
    }

    /// 7 and 7.0 name the same row.
    private static func normalizedKey(_ key: JSONValue) -> JSONValue {
        if case .number(let v) = key, v == v.rounded(), abs(v) < 9e18 { return .integer(Int64(v)) }
        return key
    }
}
