import Foundation
import Hummingbird
import QuiverEngine
import QuiverIndex
import QuiverStorage

/// Retrieval: `POST /tables/{table}/query` (k nearest neighbours under a filter),
/// `POST /tables/{table}/query/batch` (many in one request), `POST /tables/{table}/hybrid`
/// (full text and vectors fused by reciprocal rank). Each runs on a reader connection as one
/// SQL statement through the engine's planner, with the caller's access.
enum QueryRoutes {
    static func add(to routes: inout RouteTable, services: ServerServices) {
        routes.add(.post, "/tables/{table}/query") { request, context in
            let name = try ServerServices.tableName(context)
            let body = try await JSONBody.decode(QueryRequest.self, from: request, context: context)
            let access = context.role.sqlAccess
            let limits = services.limits
            let matches = try await services.read { database in
                try run(body, table: name, place: "", limits: limits, access: access, database: database)
            }
            services.metrics.add("queries")
            return try JSONBody.response(QueryResponse(results: matches))
        }

        routes.add(.post, "/tables/{table}/query/batch") { request, context in
            let name = try ServerServices.tableName(context)
            let body = try await JSONBody.decode(BatchQueryRequest.self, from: request, context: context)
            guard body.queries.count <= services.limits.maxBatchQueries else {
                throw APIError.tooLarge(
                    "\(body.queries.count) queries in one request; the limit is \(services.limits.maxBatchQueries)")
            }
            let access = context.role.sqlAccess
            let limits = services.limits
            // One reader runs the batch: its queries share that connection's caches.
            let results = try await services.read { database in
                try body.queries.enumerated().map { i, query in
                    try run(
                        query, table: name, place: "queries[\(i)].", limits: limits, access: access, database: database)
                }
            }
            services.metrics.add("queries", body.queries.count)
            return try JSONBody.response(BatchQueryResponse(results: results))
        }

        routes.add(.post, "/tables/{table}/hybrid") { request, context in
            let name = try ServerServices.tableName(context)
            let body = try await JSONBody.decode(HybridRequest.self, from: request, context: context)
            let access = context.role.sqlAccess
            let limits = services.limits
            let matches = try await services.read { database in
                try hybrid(body, table: name, limits: limits, access: access, database: database)
            }
            services.metrics.add("queries")
            return try JSONBody.response(HybridResponse(results: matches))
        }
    }

    static func checkK(_ k: Int?, default value: Int, place: String, limits: RequestLimits) throws -> Int {
        let k = k ?? value
        guard k >= 1 else { throw APIError.badRequest("\(place)k: must be at least 1, got \(k)") }
        guard k <= limits.maxK else { throw APIError.tooLarge("\(place)k: \(k) is over the limit of \(limits.maxK)") }
        return k
    }

    static func checkEf(_ ef: Int?, place: String) throws -> Int? {
        guard let ef else { return nil }
        let range = HNSWParameters.efSearchRange
        guard range.contains(ef) else {
            throw APIError.badRequest(
                "\(place)ef: must be between \(range.lowerBound) and \(range.upperBound), got \(ef)")
        }
        return ef
    }

    static func run(
        _ query: QueryRequest, table name: String, place: String, limits: RequestLimits, access: SQLAccess,
        database: Database
    ) throws -> [Match] {
        let k = try checkK(query.k, default: 10, place: place, limits: limits)
        let ef = try checkEf(query.ef, place: place)
        let target = try NearestQuery.target(
            catalog: database.currentCatalog(), tableName: name, column: query.column,
            metric: query.metric, vector: query.vector, filter: query.filter,
            where: query.where, params: query.params, columns: query.columns, place: place)
        let nearest = NearestQuery(target, k: k, ef: ef, exact: query.exact ?? false)
        guard let result = try database.execute(nearest.sql, nearest.bindings, access: access).first else { return [] }
        return nearest.matches(result)
    }

    static func hybrid(
        _ body: HybridRequest, table name: String, limits: RequestLimits, access: SQLAccess,
        database: Database
    ) throws -> [HybridMatch] {
        let k = try checkK(body.k, default: 10, place: "", limits: limits)
        let candidates = try checkK(body.candidates, default: max(50, k), place: "candidates/", limits: limits)
        let rrfK = body.rrfK ?? 60
        guard rrfK >= 0 else { throw APIError.badRequest("rrf_k: must not be negative") }
        guard !body.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.badRequest("text: give the words to search for")
        }
        let catalog = try database.currentCatalog()
        let target = try NearestQuery.target(
            catalog: catalog, tableName: name, column: body.column, metric: body.metric,
            vector: body.vector, filter: body.filter, where: body.where,
            params: body.params, columns: body.columns, place: "")
        let textTable = body.textTable ?? "\(target.table.name)_fts"
        let isFTS =
            try database.execute(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE AND sql LIKE '%USING fts5%'",
                SQLBindings([.text(textTable)])
            ).first?.rows.first?.first?.integerValue ?? 0
        guard isFTS == 1 else {
            throw APIError.badRequest(
                "text_table: \(textTable) is not an FTS5 table (create one whose rowids are \(target.table.name)'s rowids, e.g. CREATE VIRTUAL TABLE \(textTable) USING fts5(body, tokenize = 'trigram'))"
            )
        }
        let query = HybridQuery(
            target, textTable: textTable, text: body.text, k: k, candidates: candidates, rrfK: rrfK,
            ef: try checkEf(body.ef, place: ""))
        guard let result = try database.execute(query.sql, query.bindings, access: access).first else { return [] }
        return query.matches(result)
    }
}

extension AccessRole {
    /// What SQL run for this role may do.
    var sqlAccess: SQLAccess { self == .full ? .readWrite : .readOnly }
}
