import Foundation
import Hummingbird
import QuiverEngine
import QuiverIndex
import QuiverKernels
import QuiverStorage

/// Tables: `GET /tables`, `POST /tables`, `GET /tables/{table}`, `DELETE /tables/{table}`.
enum TableRoutes {
    static func add(to routes: inout RouteTable, services: ServerServices) {
        routes.add(.get, "/tables") { _, _ in
            let list = try await services.read { database in
                let catalog = try database.catalogWithIndexes()
                return TableList(
                    tables: try catalog.tables.map { try describe($0, catalog: catalog, database: database) })
            }
            return try JSONBody.response(list)
        }

        routes.add(.post, "/tables") { request, context in
            try context.requireWrite("create tables")
            let body = try await JSONBody.decode(CreateTableRequest.self, from: request, context: context)
            let script = try createScript(body)
            let ifNotExists = body.ifNotExists ?? false
            let (description, created) = try await services.write { database -> (TableDescription, Bool) in
                let before = try database.catalogWithIndexes()
                if before.table(named: body.name) != nil {
                    guard ifNotExists else { throw APIError.conflict("table \(body.name) already exists") }
                } else {
                    _ = try database.execute(script)
                }
                let catalog = try database.catalogWithIndexes()
                guard let table = catalog.table(named: body.name) else {
                    throw APIError.badRequest("table \(body.name) was not created (is it a name Quiver reserves?)")
                }
                return (
                    try describe(table, catalog: catalog, database: database), before.table(named: body.name) == nil
                )
            }
            return try JSONBody.response(description, status: created ? .created : .ok)
        }

        routes.add(.get, "/tables/{table}") { _, context in
            let name = try ServerServices.tableName(context)
            let description = try await services.read { database in
                let catalog = try database.catalogWithIndexes()
                guard let table = catalog.table(named: name) else { throw APIError.notFound("no table named \(name)") }
                return try describe(table, catalog: catalog, database: database)
            }
            return try JSONBody.response(description)
        }

        routes.add(.delete, "/tables/{table}") { _, context in
            try context.requireWrite("drop tables")
            let name = try ServerServices.tableName(context)
            let dropped = try await services.write { database in
                let catalog = try database.catalogWithIndexes()
                guard let table = catalog.table(named: name) else { throw APIError.notFound("no table named \(name)") }
                // Indexes first, in the same transaction, so their files go only if the table goes.
                let script =
                    catalog.indexes(on: table.name).map { "DROP INDEX \(quoteIdentifier($0.name));" }.joined()
                    + "DROP TABLE \(quoteIdentifier(table.name))"
                _ = try database.execute(script)
                return DroppedTable(dropped: table.name)
            }
            return try JSONBody.response(dropped)
        }
    }

    static func describe(_ table: TableInfo, catalog: Catalog, database: Database) throws -> TableDescription {
        let count =
            try database.execute("SELECT count(*) FROM \(quoteIdentifier(table.name))").first?.rows.first?.first?
            .integerValue ?? 0
        return TableDescription(
            name: table.name,
            columns: table.columns.map { column in
                let kind: String
                switch column.kind {
                case .plain: kind = "plain"
                case .vector: kind = "vector"
                case .compressedText: kind = "compressed_text"
                }
                return ColumnDescription(
                    name: column.name, type: column.declaredType, kind: kind,
                    dimension: column.kind.vectorDimension, primaryKey: column.primaryKeyPosition > 0,
                    notNull: column.notNull)
            },
            indexes: catalog.indexes(on: table.name).map {
                IndexDescription(
                    name: $0.name, kind: "hnsw", column: $0.column, metric: $0.metric.rawValue, m: $0.m,
                    efConstruction: $0.efConstruction)
            }
                + catalog.fullTextIndexes(on: table.name).map {
                    IndexDescription(name: $0.name, kind: "fts", columns: $0.columns)
                },
            rows: count)
    }

    /// CREATE TABLE and CREATE INDEX … USING hnsw statements for a request, checked first.
    static func createScript(_ body: CreateTableRequest) throws -> String {
        guard !body.name.isEmpty else { throw APIError.badRequest("name: a table needs a name") }
        guard !body.name.lowercased().hasPrefix("sqlite_"), !body.name.lowercased().hasPrefix("_quiver_") else {
            throw APIError.badRequest(
                "name: \(body.name) is reserved (sqlite_… and _quiver_… names belong to the engine)")
        }
        guard !body.columns.isEmpty else { throw APIError.badRequest("columns: a table needs at least one column") }
        var seen = Set<String>()
        var columns: [TableDefinition.Column] = []
        for (i, column) in body.columns.enumerated() {
            let place = "columns[\(i)]"
            guard !column.name.isEmpty else { throw APIError.badRequest("\(place).name: empty") }
            // SQLite's rowid aliases name the row, not the column, wherever a query says them.
            guard !["rowid", "_rowid_", "oid"].contains(column.name.lowercased()) else {
                throw APIError.badRequest(
                    "\(place).name: \(column.name) is SQLite's name for the row id (as are rowid, _rowid_ and oid); choose another column name"
                )
            }
            guard seen.insert(column.name.lowercased()).inserted else {
                throw APIError.badRequest("\(place).name: duplicate column \(column.name)")
            }
            let type = column.type.trimmingCharacters(in: .whitespaces)
            guard type.range(of: #"^[A-Za-z][A-Za-z0-9 _]*(\([0-9 ,]+\))?$"#, options: .regularExpression) != nil else {
                throw APIError.badRequest(
                    "\(place).type: '\(column.type)' is not a column type (e.g. INTEGER, TEXT, TEXT COMPRESSED, VECTOR(384))"
                )
            }
            do {
                _ = try ColumnKind(declaredType: type)
            } catch {
                throw APIError.badRequest("\(place).type: \(error.description)")
            }
            columns.append(
                TableDefinition.Column(
                    name: column.name, type: type, primaryKey: column.primaryKey == true,
                    notNull: column.notNull == true, unique: column.unique == true))
        }
        if body.columns.filter({ $0.primaryKey == true }).count > 1 {
            throw APIError.badRequest("columns: only one column can be the primary key")
        }
        var indexes: [TableDefinition.VectorIndex] = []
        for (i, index) in (body.indexes ?? []).enumerated() {
            let place = "indexes[\(i)]"
            guard let column = body.columns.first(where: { $0.name.caseInsensitiveEquals(index.column) }) else {
                throw APIError.badRequest("\(place).column: no column \(index.column) in this table")
            }
            guard (try? ColumnKind(declaredType: column.type))?.vectorDimension != nil else {
                throw APIError.badRequest("\(place).column: \(column.name) is not a VECTOR column")
            }
            let metric: DistanceMetric
            if let name = index.metric {
                guard let parsed = DistanceMetric(name: name) else {
                    throw APIError.badRequest("\(place).metric: expected cosine, l2 or ip, got \(name)")
                }
                metric = parsed
            } else {
                metric = .cosine
            }
            if let m = index.m { try checkLimit(m, HNSWParameters.mRange, "\(place).m") }
            if let ef = index.efConstruction {
                try checkLimit(ef, HNSWParameters.efConstructionRange, "\(place).ef_construction")
            }
            indexes.append(
                TableDefinition.VectorIndex(
                    name: index.name ?? "\(body.name)_\(column.name)_idx", column: column.name,
                    metric: metric, m: index.m, efConstruction: index.efConstruction))
        }
        return TableDefinition(name: body.name, columns: columns, indexes: indexes).statements.map { $0 + ";" }.joined()
    }

    /// An index parameter inside the limits HNSWParameters sets (the engine checks them again,
    /// with ef_construction ≥ m, when the index is built).
    private static func checkLimit(_ value: Int, _ range: ClosedRange<Int>, _ place: String) throws {
        guard range.contains(value) else {
            throw APIError.badRequest(
                "\(place): must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
    }
}
