import Foundation
import QuiverKernels
import QuiverStorage

/// A table as an import creates it or an export describes it: the JSON format of `--schema`
/// (documented by Schemas/table-schema.schema.json).
public struct TableSchema: Codable, Equatable, Sendable {
    public struct Column: Codable, Equatable, Sendable {
        public var name: String
        /// INTEGER, REAL, TEXT, BLOB, NUMERIC, TEXT COMPRESSED, VECTOR(n), or empty for a column
        /// without a type (which holds each value as given).
        public var type: String
        /// NOT NULL: a record without this field is rejected.
        public var required: Bool?

        public init(name: String, type: String, required: Bool? = nil) {
            self.name = name
            self.type = type
            self.required = required
        }
    }

    public struct Index: Codable, Equatable, Sendable {
        public var name: String
        public var column: String
        /// cosine, l2 or ip (or pgvector's operator class names).
        public var metric: String?
        public var m: Int?
        public var efConstruction: Int?

        package init(name: String, column: String, metric: String?, m: Int?, efConstruction: Int?) {
            self.name = name
            self.column = column
            self.metric = metric
            self.m = m
            self.efConstruction = efConstruction
        }

        enum CodingKeys: String, CodingKey {
            case name, column, metric, m
            case efConstruction = "ef_construction"
        }
    }

    public var table: String?
    /// The primary-key column: integer keys become the rowid, text keys a unique key.
    public var key: String
    public var columns: [Column]
    public var indexes: [Index]?

    public init(table: String?, key: String, columns: [Column], indexes: [Index]? = nil) {
        self.table = table
        self.key = key
        self.columns = columns
        self.indexes = indexes
    }

    package static let allowedTypes = ["INTEGER", "REAL", "TEXT", "BLOB", "NUMERIC", "TEXT COMPRESSED", ""]

    /// Reads and checks a schema file; errors name the file and the problem.
    public static func read(path: String) throws -> TableSchema {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(
                path: path, problem: FileManager.default.fileExists(atPath: path) ? "cannot read" : "no such file")
        }
        let schema: TableSchema
        do {
            schema = try JSONDecoder().decode(TableSchema.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw InputError(path: path, problem: "missing \"\(key.stringValue)\"\(Self.location(context.codingPath))")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw InputError(path: path, problem: "\(context.debugDescription)\(Self.location(context.codingPath))")
        } catch let DecodingError.dataCorrupted(context) {
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            throw InputError(path: path, problem: "not valid JSON: \(underlying ?? context.debugDescription)")
        } catch {
            throw InputError(path: path, problem: "\(error)")
        }
        do {
            try schema.validate()
        } catch let problem as SchemaProblem {
            throw InputError(path: path, problem: problem.description)
        }
        return schema
    }

    private static func location(_ path: [any CodingKey]) -> String {
        path.isEmpty ? "" : " at " + path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }

    struct SchemaProblem: Error, CustomStringConvertible { var description: String }

    func validate() throws {
        guard !columns.isEmpty else { throw SchemaProblem(description: "a table needs at least one column") }
        var seen = Set<String>()
        for column in columns {
            guard !column.name.isEmpty else { throw SchemaProblem(description: "a column has an empty name") }
            guard seen.insert(column.name.lowercased()).inserted else {
                throw SchemaProblem(description: "column \"\(column.name)\" appears twice")
            }
            let normalized = Self.normalizedType(column.type)
            if normalized.hasPrefix("VECTOR") {
                do { _ = try ColumnKind(declaredType: normalized) } catch {
                    throw SchemaProblem(description: "column \(column.name): \(error)")
                }
            } else if !Self.allowedTypes.contains(normalized) {
                throw SchemaProblem(
                    description:
                        "column \(column.name): type \"\(column.type)\" is not one of \(Self.allowedTypes.filter { !$0.isEmpty }.joined(separator: ", ")), VECTOR(n) or \"\" (no type)"
                )
            }
        }
        guard let keyColumn = columns.first(where: { $0.name.caseInsensitiveEquals(key) }) else {
            throw SchemaProblem(description: "key \"\(key)\" is not one of the columns")
        }
        let keyType = Self.normalizedType(keyColumn.type)
        guard keyType == "INTEGER" || keyType == "TEXT" else {
            throw SchemaProblem(description: "key \"\(key)\" must be INTEGER or TEXT, not \(keyColumn.type)")
        }
        for index in indexes ?? [] {
            guard let column = columns.first(where: { $0.name.caseInsensitiveEquals(index.column) }),
                Self.normalizedType(column.type).hasPrefix("VECTOR")
            else {
                throw SchemaProblem(
                    description: "index \(index.name): \"\(index.column)\" is not a VECTOR column of the schema")
            }
            if let metric = index.metric, DistanceMetric(name: metric) == nil {
                throw SchemaProblem(description: "index \(index.name): unknown metric \"\(metric)\" (cosine, l2 or ip)")
            }
        }
    }

    /// Upper case, single spaces: `vector( 384 )` → `VECTOR(384)`, `text  compressed` → `TEXT COMPRESSED`.
    package static func normalizedType(_ type: String) -> String {
        let words = type.uppercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        let joined = words.joined(separator: " ")
        return joined.hasPrefix("VECTOR") ? joined.filter { $0 != " " } : joined
    }

    /// The table and its indexes as the schema describes them, under the name `table`.
    package func definition(table: String) -> TableDefinition {
        TableDefinition(
            name: table,
            columns: columns.map { column in
                let type = Self.normalizedType(column.type)
                let isKey = column.name.caseInsensitiveEquals(key)
                // An INTEGER key is the rowid and never NULL; SQLite lets other keys be NULL
                // unless told otherwise.
                return TableDefinition.Column(
                    name: column.name, type: type, primaryKey: isKey,
                    notNull: isKey ? type != "INTEGER" : column.required == true)
            },
            indexes: (indexes ?? []).map { index in
                TableDefinition.VectorIndex(
                    name: index.name, column: index.column,
                    metric: index.metric.flatMap(DistanceMetric.init(name:)) ?? .cosine,
                    m: index.m, efConstruction: index.efConstruction)
            })
    }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }
}
