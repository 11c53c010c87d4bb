import Foundation
import Hummingbird
import QuiverEngine
import QuiverStorage

/// `POST /sql`: a script of Quiver SQL, all or nothing: it runs as one transaction and may not
/// end it (no BEGIN, COMMIT, ROLLBACK or VACUUM; savepoints nest inside). Scripts that only read
/// run on a reader; others on the writer. SQLite's authorizer holds every statement to the
/// caller's access (SQLAccess): read-only for the read token; for everyone, nothing that leaves
/// the database, passes pointers, sets a PRAGMA off its allow-list or creates TEMP objects, so
/// the next request on the pooled connection finds it as a fresh one would be.
enum SQLRoutes {
    static func add(to routes: inout RouteTable, services: ServerServices) {
        routes.add(.post, "/sql") { request, context in
            let body = try await JSONBody.decode(SQLRequest.self, from: request, context: context)
            guard body.sql.utf8.count <= services.limits.maxSQLBytes else {
                throw APIError.tooLarge(
                    "SQL text of \(body.sql.utf8.count) bytes is over the limit of \(services.limits.maxSQLBytes)")
            }
            guard !body.sql.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw APIError.badRequest("sql: empty")
            }
            let bindings = try ValueMapping.bindings(body.params)
            let access = context.role.sqlAccess
            let run: @Sendable (Database) throws -> SQLResponse = { database in
                // Each request is its own transaction (Database.execute refuses BEGIN and COMMIT
                // from callers); should one still be open, it is rolled back and refused, so an
                // answered write is always a committed one and no pooled connection carries it over.
                let results: [ResultSet]
                do {
                    results = try database.execute(body.sql, bindings, access: access)
                } catch {
                    database.rollBackOpenTransaction()
                    throw error
                }
                if database.rollBackOpenTransaction() {
                    throw APIError.badRequest(
                        "sql: the script leaves a transaction open (BEGIN without COMMIT); it was rolled back. Each request runs as its own transaction: put BEGIN … COMMIT in one request, or send the statements alone"
                    )
                }
                return SQLResponse(
                    results: results.map { result in
                        SQLResultSet(columns: result.columns, rows: result.rows.map { $0.map(ValueMapping.json) })
                    })
            }
            let response =
                access == .readOnly || Database.isReadOnlyScript(body.sql)
                ? try await services.read(run) : try await services.write(run)
            services.metrics.add("sql_statements")
            return try JSONBody.response(response)
        }
    }
}
