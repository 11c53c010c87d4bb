import Foundation
import Hummingbird
import QuiverEngine
import QuiverStorage

/// `POST /tables/{table}/dedupe`: the `DEDUPE` statement as JSON. A dry run reports the groups
/// and changes nothing (any token, on a reader); otherwise the duplicates are deleted (or
/// marked) in one transaction on the writer.
enum DedupeRoutes {
    static func add(to routes: inout RouteTable, services: ServerServices) {
        routes.add(.post, "/tables/{table}/dedupe") { request, context in
            let name = try ServerServices.tableName(context)
            let body = try await JSONBody.decode(DedupeRequest.self, from: request, context: context)
            let dryRun = body.dryRun ?? false
            if !dryRun { try context.requireWrite("delete or mark duplicates (use dry_run)") }
            let access = context.role.sqlAccess
            let run: @Sendable (Database) throws -> DedupeResponse = { database in
                guard let table = try database.currentCatalog().table(named: name) else {
                    throw APIError.notFound("no table named \(name)")
                }
                let (sql, bindings) = try statement(body, table: table)
                let result = try database.execute(sql, bindings, access: access).first
                let duplicates = (result?.rows ?? []).map { row in
                    Duplicate(
                        clusterID: row[0].integerValue ?? 0, keptID: ValueMapping.json(row[1]),
                        duplicateID: ValueMapping.json(row[2]), similarity: row[3].doubleValue ?? 0)
                }
                return DedupeResponse(
                    dryRun: dryRun, groups: Set(duplicates.map(\.clusterID)).count,
                    changed: dryRun ? 0 : duplicates.count, duplicates: duplicates)
            }
            let response = dryRun ? try await services.read(run) : try await services.write(run)
            return try JSONBody.response(response)
        }
    }

    /// The DEDUPE statement for a request, checked against the table.
    static func statement(_ body: DedupeRequest, table: TableInfo) throws -> (String, SQLBindings) {
        guard let column = table.column(named: body.column) else {
            throw APIError.badRequest("column: table \(table.name) has no column \(body.column)")
        }
        let isVector = column.kind.vectorDimension != nil
        let method = body.method?.lowercased() ?? (isVector ? "vector" : "exact")
        var sql = "DEDUPE \(quoteIdentifier(table.name)) ON \(quoteIdentifier(column.name)) "
        func threshold() throws -> Double {
            guard let value = body.threshold else {
                throw APIError.badRequest("threshold: required for method \(method)")
            }
            guard value > 0 && value <= 1 else {
                throw APIError.badRequest("threshold: must be in (0, 1], got \(value)")
            }
            return value
        }
        // A parameter the method does not use is refused, not ignored: the caller meant something.
        if body.ngram != nil && method != "minhash" {
            throw APIError.badRequest("ngram: only method minhash uses it (this request's method is \(method))")
        }
        if body.threshold != nil && method == "exact" {
            throw APIError.badRequest("threshold: method exact takes none (it finds equal normalized text)")
        }
        switch method {
        case "vector":
            guard isVector else {
                throw APIError.badRequest("method vector needs a VECTOR column; \(column.name) is not one")
            }
            sql += "THRESHOLD \(try threshold())"
        case "exact":
            sql += "EXACT"
        case "minhash":
            sql += "MINHASH THRESHOLD \(try threshold())"
            if let ngram = body.ngram {
                guard (1...16).contains(ngram) else {
                    throw APIError.badRequest("ngram: must be between 1 and 16, got \(ngram)")
                }
                sql += " NGRAM \(ngram)"
            }
        default:
            throw APIError.badRequest("method: expected vector, exact or minhash, got \(method)")
        }
        var bindings = try ValueMapping.bindings(body.params)
        var conditions: [String] = []
        if let filter = body.filter {
            var compiler = FilterCompiler(table: table)
            conditions.append(try compiler.compile(filter))
            for (name, value) in compiler.bindings { bindings.named[name] = value }
        }
        if let expression = body.where, !expression.trimmingCharacters(in: .whitespaces).isEmpty {
            try NearestQuery.checkExpression(expression, place: "where")
            conditions.append("(\(expression))")
        }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        if let keepBy = body.keepBy {
            guard body.keep == nil else { throw APIError.badRequest("give keep or keep_by, not both") }
            try NearestQuery.checkExpression(keepBy, place: "keep_by")
            sql += " KEEP BY (\(keepBy))"
        } else if let keep = body.keep {
            guard ["first", "last", "longest"].contains(keep.lowercased()) else {
                throw APIError.badRequest("keep: expected first, last or longest (or keep_by), got \(keep)")
            }
            sql += " KEEP \(keep.uppercased())"
        }
        if let mark = body.markColumn {
            guard !mark.isEmpty else { throw APIError.badRequest("mark_column: empty") }
            sql += " MARK COLUMN \(quoteIdentifier(mark))"
        }
        if body.dryRun == true { sql += " DRY RUN" }
        if body.exact == true { sql = "/*+ exact */ " + sql }
        return (sql, bindings)
    }
}
