import Foundation
import Hummingbird
import QuiverEngine
import QuiverStorage

/// `POST /sql`: a script of Quiver SQL, all or nothing. Scripts that only read run on a reader;
/// others on the writer. SQLite's authorizer holds every statement to the caller's access:
/// read-only for the read token; for everyone, no ATTACH, no extensions, no PRAGMA that would
/// weaken durability.
enum SQLRoutes {
    static func add(to routes: inout RouteTable, services: ServerServices) {
        routes.add(.post, "/sql") { request, context in
            let body = try await JSONBody.decode(SQLRequest.self, from: request, context: context)
            guard body.sql.utf8.count <= services.limits.maxSQLBytes else {
                throw APIError.tooLarge("SQL text of \(body.sql.utf8.count) bytes is over the limit of \(services.limits.maxSQLBytes)")
            }
            guard !body.sql.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw APIError.badRequest("sql: empty")
            }
            let bindings = try ValueMapping.bindings(body.params)
            let access = context.role.sqlAccess
            let run: @Sendable (Database) throws -> SQLResponse = { database in
                // Each request is its own transaction: a script may hold BEGIN … COMMIT, but one
                // that leaves a transaction open is rolled back and refused, so an answered write
                // is always a committed one and pooled connections never carry a transaction over.
                let results: [ResultSet]
                do {
                    results = try database.execute(body.sql, bindings, access: access)
                } catch {
                    database.rollBackOpenTransaction()
                    throw error
                }
                if database.rollBackOpenTransaction() {
                    throw APIError.badRequest("sql: the script leaves a transaction open (BEGIN without COMMIT); it was rolled back. Each request runs as its own transaction: put BEGIN … COMMIT in one request, or send the statements alone")
                }
                return SQLResponse(results: results.map { result in
                    SQLResultSet(columns: result.columns, rows: result.rows.map { $0.map(ValueMapping.json) })
                })
            }
            let response = access == .readOnly || Database.isReadOnlyScript(body.sql)
                ? try await services.read(run) : try await services.write(run)
            services.metrics.add("sql_statements")
            return try JSONBody.response(response)
        }
    }
}
