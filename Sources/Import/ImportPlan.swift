import Foundation
import QuiverEngine
import QuiverReading
import QuiverStorage

/// How records map onto the table: the columns written, where each value comes from, and
/// the upsert (Storage's `Upsert` of the targets). Made once, before any row is written.
struct ImportPlan {
    var table: String
    /// True when the import creates the table (its CREATE statements run in the import's
    /// transaction, so an aborted import leaves no table behind).
    var createStatements: [String]
    var targets: [ColumnTarget]
    /// The input field for each target; nil for the column the side file fills.
    var sources: [String?]
    var keyTarget: Int
    /// Input field name → target, for fields that arrive in records.
    var targetForField: [String: Int]
    /// Binds a row's values in target order.
    var upsert: Upsert
    /// NOT NULL columns the input has no field for: its records can update rows, not insert them.
    var leftOutRequired: [String]
    var inputPath: String

    /// Field names are matched to columns without regard to case, as SQLite does.
    /// `existing` is the table when it exists (from the database's catalog, or described by a
    /// server); else the plan creates it from `schema` or from what the sample suggests.
    static func make(
        options: ImportOptions, existing: TableInfo?, schema: TableSchema?, header: [String]?,
        sample: [InputRecord], side: SideVectors?
    ) throws -> ImportPlan {
        var fields = header ?? []
        if header == nil {
            var seen = Set<String>()
            for record in sample {
                for field in record.fields where seen.insert(field.name).inserted { fields.append(field.name) }
            }
        }
        let input = options.inputPath
        // SQLite reads SQL as C strings: a NUL would cut a column name short in the statements.
        if let bad = fields.first(where: { $0.utf8.contains(0) }) {
            throw ImportError.plan(
                "field \(bad.debugDescription) of \(input) holds a NUL character, which no column name can")
        }
        var create: [String] = []
        let table: TableInfo
        if let existing {
            table = existing
            if let schema { try Self.check(schema, against: existing) }
        } else {
            let given = schema
            let schema: TableSchema
            do {
                schema =
                    try given
                    ?? SchemaInference.infer(
                        fields: fields, sample: sample, key: options.key ?? "id", side: side,
                        vectorColumn: options.vectorColumn ?? "embedding", inputPath: input)
            } catch let problem as SchemaInference.Problem {
                throw ImportError.plan(problem.description)
            }
            if let key = options.key, !key.caseInsensitiveEquals(schema.key) {
                throw ImportError.plan("--key \(key) differs from the schema's key \"\(schema.key)\"")
            }
            create = schema.definition(table: options.table).statements
            table = TableInfo(
                name: options.table,
                columns: try schema.columns.map { column in
                    let type = TableSchema.normalizedType(column.type)
                    return ColumnInfo(
                        name: column.name, declaredType: type, kind: try ColumnKind(declaredType: type),
                        notNull: column.required == true || column.name.caseInsensitiveEquals(schema.key),
                        primaryKeyPosition: column.name.caseInsensitiveEquals(schema.key) ? 1 : 0)
                }, withoutRowID: false)
        }
        guard let keyColumn = table.primaryKeyColumn else {
            throw ImportError.plan(
                "table \(table.name) has no single-column primary key; quiver import upserts rows by their key")
        }
        if let key = options.key, !key.caseInsensitiveEquals(keyColumn.name) {
            throw ImportError.plan(
                "--key \(key) is not the primary key of \(table.name) (its key is \(keyColumn.name))")
        }

        var targets: [ColumnTarget] = []
        var sources: [String?] = []
        var targetForField: [String: Int] = [:]
        for field in fields {
            guard let column = table.column(named: field) else {
                // A header names the fields of every record; a JSONL record only its own, so
                // there an unknown field rejects just the records that have it.
                if header == nil { continue }
                throw ImportError.plan(
                    "field \"\(field)\" of \(input) is not a column of \(table.name) (columns: \(table.columns.map(\.name).joined(separator: ", ")))"
                )
            }
            guard !targets.contains(where: { $0.name.caseInsensitiveEquals(column.name) }) else {
                throw ImportError.plan(
                    "fields of \(input) name column \(column.name) twice (names differ only in case)")
            }
            targetForField[field] = targets.count
            targets.append(
                ColumnTarget(
                    name: column.name, type: ColumnType(column),
                    required: column.notNull || column.primaryKeyPosition > 0))
            sources.append(field)
        }
        if let side {
            let name =
                options.vectorColumn
                ?? (existing?.vectorColumns.count == 1 ? existing!.vectorColumns[0].name : "embedding")
            guard let column = table.column(named: name) else {
                throw ImportError.plan(
                    "--vectors fills column \(name), which \(table.name) does not have; name it with --vector-column")
            }
            guard let dimension = column.kind.vectorDimension else {
                throw ImportError.plan(
                    "--vectors fills \(table.name).\(column.name), which is \(column.declaredType), not a VECTOR column"
                )
            }
            guard dimension == side.dimension else {
                throw ImportError.plan(
                    "\(side.path) holds \(side.dimension)-dimensional vectors; \(table.name).\(column.name) is VECTOR(\(dimension))"
                )
            }
            guard !targets.contains(where: { $0.name.caseInsensitiveEquals(column.name) }) else {
                throw ImportError.plan(
                    "column \(column.name) would be filled twice: by field \"\(column.name)\" of \(input) and by --vectors"
                )
            }
            targets.append(
                ColumnTarget(name: column.name, type: .vector(dimension: dimension), required: column.notNull))
            sources.append(nil)
        }
        guard let keyTarget = targets.firstIndex(where: { $0.name.caseInsensitiveEquals(keyColumn.name) }) else {
            throw ImportError.plan(
                "\(input) has no field \"\(keyColumn.name)\", the key of \(table.name)\(fields.isEmpty ? "" : " (fields: \(fields.joined(separator: ", ")))"); name the key field with --key"
            )
        }
        // Columns the input leaves out keep their values; where one of them is NOT NULL, a row
        // can only update (the upsert's update-first), and a new key is refused by SQLite.
        let upsert = Upsert(table: table, columns: targets.map(\.name))
        let leftOutRequired = table.columns.filter { column in
            column.notNull && column.primaryKeyPosition == 0
                && !targets.contains { $0.name.caseInsensitiveEquals(column.name) }
        }.map(\.name)
        return ImportPlan(
            table: table.name, createStatements: create, targets: targets, sources: sources, keyTarget: keyTarget,
            targetForField: targetForField, upsert: upsert, leftOutRequired: leftOutRequired, inputPath: input)
    }

    /// Why writing a record's row failed: a constraint refusing a new key, when the input leaves
    /// out a NOT NULL column, says which column the input lacks.
    func reason(forWriteFailure error: SQLiteError) -> String {
        guard error.isConstraint, let column = leftOutRequired.first else { return error.message }
        return "column \(table).\(column) is required (NOT NULL), but \(inputPath) has no field \(column): "
            + "its records update rows whose key exists and insert none (\(error.message))"
    }

    /// An existing table must have every column of the schema, with the same type.
    private static func check(_ schema: TableSchema, against table: TableInfo) throws {
        for column in schema.columns {
            guard let existing = table.column(named: column.name) else {
                throw ImportError.plan("table \(table.name) exists without column \(column.name) of the schema")
            }
            let want = TableSchema.normalizedType(column.type)
            let have = TableSchema.normalizedType(existing.declaredType)
            guard want == have else {
                throw ImportError.plan(
                    "table \(table.name) exists with \(existing.name) \(existing.declaredType); the schema says \(column.type)"
                )
            }
        }
    }

    /// The values of one record in target order, or why it cannot be imported.
    func row(for record: InputRecord, sideVector: ArraySlice<Float>?) throws(ConversionProblem) -> [SQLValue] {
        var values = [SQLValue](repeating: .null, count: targets.count)
        var filled = [Bool](repeating: false, count: targets.count)
        for (name, value) in record.fields {
            guard let target = targetForField[name] else {
                throw ConversionProblem(description: "field \"\(name)\" is not a column of \(table)")
            }
            values[target] = try targets[target].convert(value)
            filled[target] = true
        }
        for (index, target) in targets.enumerated() where !filled[index] {
            if sources[index] == nil, let sideVector {
                try ColumnTarget.check(
                    sideVector, dimension: sideVector.count, what: "vector \(record.ordinal) of the --vectors file")
                values[index] = .vector(Array(sideVector))
            } else if target.required {
                throw ConversionProblem(description: "missing required field \"\(sources[index] ?? target.name)\"")
            }
        }
        if case .null = values[keyTarget] {
            throw ConversionProblem(
                description: "the key field \"\(sources[keyTarget] ?? targets[keyTarget].name)\" is null")
        }
        return values
    }
}
