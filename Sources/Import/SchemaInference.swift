import QuiverStorage

/// A table schema guessed from the first records, for an import into a table that does not
/// exist yet and comes without `--schema`.
enum SchemaInference {
    /// Types widen as values disagree: INTEGER → REAL → TEXT. An array of numbers that always
    /// has the same length is a VECTOR; other arrays and objects are kept as JSON text.
    static func infer(fields: [String], sample: [InputRecord], key: String, side: SideVectors?,
                      vectorColumn: String, inputPath: String) throws -> TableSchema {
        guard fields.contains(key) else {
            throw ImportError.plan("\(inputPath) has no field \"\(key)\" to use as the key\(fields.isEmpty ? "" : " (fields: \(fields.joined(separator: ", ")))"); name it with --key")
        }
        var columns: [TableSchema.Column] = []
        for field in fields {
            let values = sample.compactMap { $0.value(of: field) }
            var type = guess(values)
            if field == key {
                type = type == "INTEGER" ? "INTEGER" : "TEXT"
            }
            columns.append(TableSchema.Column(name: field, type: type))
        }
        if let side {
            guard !fields.contains(vectorColumn) else {
                throw ImportError.plan("\(inputPath) already has a field \"\(vectorColumn)\"; name the column --vectors fills with --vector-column")
            }
            columns.append(TableSchema.Column(name: vectorColumn, type: "VECTOR(\(side.dimension))"))
        }
        return TableSchema(table: nil, key: key, columns: columns)
    }

    private enum Guess: Int, Comparable {
        case unknown, integer, real, text
        static func < (a: Guess, b: Guess) -> Bool { a.rawValue < b.rawValue }
    }

    static func guess(_ values: [FieldValue]) -> String {
        var scalar = Guess.unknown
        var vectorLength: Int?
        var sawVector = false, sawOther = false
        for value in values {
            switch value {
            case .null: continue
            case .numbers(let elements, _):
                if !sawVector { vectorLength = elements.count } else if vectorLength != elements.count { vectorLength = nil }
                sawVector = true
                continue
            case .untyped(let text) where text.hasPrefix("["):
                if let elements = try? VectorCodec.parse(text) {
                    if !sawVector { vectorLength = elements.count } else if vectorLength != elements.count { vectorLength = nil }
                    sawVector = true
                    continue
                }
                sawOther = true
                scalar = .text
            case .integer, .bool: scalar = max(scalar, .integer)
            case .real: scalar = max(scalar, .real)
            case .untyped(let text):
                if Int64(text) != nil { scalar = max(scalar, .integer) }
                else if let v = Double(text), v.isFinite { scalar = max(scalar, .real) }
                else { scalar = .text }
            case .string, .json: scalar = .text
            }
            sawOther = true
        }
        if sawVector && !sawOther, let n = vectorLength, n >= 1, n <= VectorCodec.maximumDimension { return "VECTOR(\(n))" }
        if sawVector { return "TEXT" }
        switch scalar {
        case .integer: return "INTEGER"
        case .real: return "REAL"
        default: return "TEXT"
        }
    }
}
