import Foundation
import QuiverJSON

// The JSON bodies of the API, as Schemas/quiver-api.openapi.json describes them. Field names
// are snake_case, as Python clients write them.

struct ColumnSpec: Codable, Sendable {
    var name: String
    /// INTEGER, REAL, TEXT, BLOB, NUMERIC, TEXT COMPRESSED, VECTOR(n) …
    var type: String
    var primaryKey: Bool?
    var notNull: Bool?
    var unique: Bool?

    enum CodingKeys: String, CodingKey {
        case name, type, unique
        case primaryKey = "primary_key"
        case notNull = "not_null"
    }
}

struct IndexSpec: Codable, Sendable {
    var column: String
    var name: String?
    /// cosine (default), l2 or ip.
    var metric: String?
    var m: Int?
    var efConstruction: Int?

    enum CodingKeys: String, CodingKey {
        case column, name, metric, m
        case efConstruction = "ef_construction"
    }
}

struct CreateTableRequest: Decodable, Sendable {
    var name: String
    var columns: [ColumnSpec]
    var indexes: [IndexSpec]?
    var ifNotExists: Bool?

    enum CodingKeys: String, CodingKey {
        case name, columns, indexes
        case ifNotExists = "if_not_exists"
    }
}

struct ColumnDescription: Encodable, Sendable {
    var name: String
    var type: String
    /// plain, vector or compressed_text.
    var kind: String
    var dimension: Int?
    var primaryKey: Bool
    var notNull: Bool

    enum CodingKeys: String, CodingKey {
        case name, type, kind, dimension
        case primaryKey = "primary_key"
        case notNull = "not_null"
    }
}

/// An index of a table as GET /tables shows it: `kind` hnsw (column, metric, m, ef_construction)
/// or fts (columns); the fields of the other kind are left out.
struct IndexDescription: Encodable, Sendable {
    var name: String
    var kind: String
    var column: String?
    var metric: String?
    var m: Int?
    var efConstruction: Int?
    var columns: [String]?

    enum CodingKeys: String, CodingKey {
        case name, kind, column, metric, m, columns
        case efConstruction = "ef_construction"
    }
}

struct TableDescription: Encodable, Sendable {
    var name: String
    var columns: [ColumnDescription]
    var indexes: [IndexDescription]
    var rows: Int64
}

struct TableList: Encodable, Sendable {
    var tables: [TableDescription]
}

struct DroppedTable: Encodable, Sendable {
    var dropped: String
}

struct UpsertRequest: Decodable, Sendable {
    var rows: [[String: JSONValue]]
}

struct UpsertResponse: Encodable, Sendable {
    var upserted: Int
}

struct KeysRequest: Decodable, Sendable {
    var ids: [JSONValue]
    var columns: [String]?
}

struct RowsResponse: Encodable, Sendable {
    var rows: [[String: JSONValue]]
    /// Requested ids that no row has.
    var missing: [JSONValue]
}

struct DeleteResponse: Encodable, Sendable {
    var deleted: Int
}

/// One nearest-neighbour query.
struct QueryRequest: Decodable, Sendable {
    var vector: [Double]
    /// The VECTOR column to search; may be left out when the table has one.
    var column: String?
    var k: Int?
    /// hnsw.ef_search for this query.
    var ef: Int?
    /// A structured filter (see FilterCompiler).
    var filter: JSONValue?
    /// A SQL boolean expression over the table's columns.
    var `where`: String?
    /// Parameters of `where`: an array (?1, ?2 … numbered after the query vector: use named) or an object (:name).
    var params: JSONValue?
    /// Columns to return (default: every column but vectors).
    var columns: [String]?
    /// cosine, l2 or ip (default: the index's metric, else cosine).
    var metric: String?
    /// Exact search, bypassing the index.
    var exact: Bool?
}

struct Match: Encodable, Sendable {
    /// The row's primary key (its rowid when the key is not a single column).
    var id: JSONValue
    var distance: Double?
    var row: [String: JSONValue]
}

struct QueryResponse: Encodable, Sendable {
    var results: [Match]
}

struct BatchQueryRequest: Decodable, Sendable {
    var queries: [QueryRequest]
}

struct BatchQueryResponse: Encodable, Sendable {
    var results: [[Match]]
}

/// Text and vector retrieval fused by reciprocal rank.
struct HybridRequest: Decodable, Sendable {
    var vector: [Double]
    var text: String
    var column: String?
    /// The FTS5 table whose rowids are this table's rowids (default: `<table>_fts`).
    var textTable: String?
    var k: Int?
    /// How many candidates each ranking contributes (default 50).
    var candidates: Int?
    /// The constant of reciprocal-rank fusion (default 60).
    var rrfK: Int?
    var ef: Int?
    var filter: JSONValue?
    var `where`: String?
    var params: JSONValue?
    var columns: [String]?
    var metric: String?

    enum CodingKeys: String, CodingKey {
        case vector, text, column, k, candidates, ef, filter, `where`, params, columns, metric
        case textTable = "text_table"
        case rrfK = "rrf_k"
    }
}

struct HybridMatch: Encodable, Sendable {
    var id: JSONValue
    var score: Double
    var vectorRank: Int?
    var textRank: Int?
    var row: [String: JSONValue]

    enum CodingKeys: String, CodingKey {
        case id, score, row
        case vectorRank = "vector_rank"
        case textRank = "text_rank"
    }
}

struct HybridResponse: Encodable, Sendable {
    var results: [HybridMatch]
}

struct SQLRequest: Decodable, Sendable {
    var sql: String
    var params: JSONValue?
}

struct SQLResultSet: Encodable, Sendable {
    var columns: [String]
    var rows: [[JSONValue]]
}

struct SQLResponse: Encodable, Sendable {
    /// One result set per statement that returns rows, in order.
    var results: [SQLResultSet]
}

struct HealthResponse: Encodable, Sendable {
    /// ok, or degraded while index checkpoints fail (every commit still holds).
    var status: String
}

/// `DEDUPE` as a request: which column, how similar, which rows, which to keep.
struct DedupeRequest: Decodable, Sendable {
    var column: String
    /// vector (cosine similarity of a VECTOR column), exact (same normalized text) or minhash
    /// (Jaccard of character n-grams); default: vector for a VECTOR column, else exact.
    var method: String?
    var threshold: Double?
    var ngram: Int?
    var filter: JSONValue?
    var `where`: String?
    var params: JSONValue?
    /// first, last or longest; or give keep_by.
    var keep: String?
    /// Keep the row with the largest value of this SQL expression.
    var keepBy: String?
    /// Set this column of each duplicate to the kept row's key instead of deleting it.
    var markColumn: String?
    var dryRun: Bool?
    /// Compare every pair (no k-means blocking).
    var exact: Bool?

    enum CodingKeys: String, CodingKey {
        case column, method, threshold, ngram, filter, `where`, params, keep, exact
        case keepBy = "keep_by"
        case markColumn = "mark_column"
        case dryRun = "dry_run"
    }
}

struct Duplicate: Encodable, Sendable {
    var clusterID: Int64
    var keptID: JSONValue
    var duplicateID: JSONValue
    var similarity: Double

    enum CodingKeys: String, CodingKey {
        case similarity
        case clusterID = "cluster_id"
        case keptID = "kept_id"
        case duplicateID = "duplicate_id"
    }
}

struct DedupeResponse: Encodable, Sendable {
    var dryRun: Bool
    /// Groups of duplicates found (one row kept in each).
    var groups: Int
    /// Rows deleted, or marked with mark_column (none on a dry run).
    var changed: Int
    var duplicates: [Duplicate]

    enum CodingKeys: String, CodingKey {
        case groups, changed, duplicates
        case dryRun = "dry_run"
    }
}
