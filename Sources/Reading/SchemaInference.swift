import QuiverStorage

/// A table schema guessed from the first records, for an import into a table that does not
/// exist yet and comes without `--schema`.
package enum SchemaInference {
    /// Why no table can be inferred; the importer reports it as a planning error.
    package struct Problem: Error, CustomStringConvertible {
        package var description: String
    }

    /// Types widen as values disagree: INTEGER → REAL → TEXT. A field that holds only arrays of
    /// numbers is a VECTOR of their most common length (records of another length are then
    /// rejected, each naming its line); other arrays and objects are kept as JSON text.
    package static func infer(
        fields: [String], sample: [InputRecord], key: String, side: SideVectors?,
        vectorColumn: String, inputPath: String
    ) throws -> TableSchema {
        guard fields.contains(key) else {
            throw Problem(
                description:
                    "\(inputPath) has no field \"\(key)\" to use as the key\(fields.isEmpty ? "" : " (fields: \(fields.joined(separator: ", ")))"); name it with --key"
            )
        }
        var columns: [TableSchema.Column] = []
        for field in fields {
            let values = sample.compactMap { $0.value(of: field) }
            var type = try guess(values, field: field, inputPath: inputPath)
            if field == key {
                type = type == "INTEGER" ? "INTEGER" : "TEXT"
            }
            columns.append(TableSchema.Column(name: field, type: type))
        }
        if let side {
            guard !fields.contains(vectorColumn) else {
                throw Problem(
                    description:
                        "\(inputPath) already has a field \"\(vectorColumn)\"; name the column --vectors fills with --vector-column"
                )
            }
            columns.append(TableSchema.Column(name: vectorColumn, type: "VECTOR(\(side.dimension))"))
        }
        return TableSchema(table: nil, key: key, columns: columns)
    }

    private enum Guess: Int, Comparable {
        case unknown, integer, real, text
        static func < (a: Guess, b: Guess) -> Bool { a.rawValue < b.rawValue }
    }

    static func guess(_ values: [FieldValue], field: String = "", inputPath: String = "") throws -> String {
        var scalar = Guess.unknown
        var vectorLengths: [Int: Int] = [:] // length → records
        var sawVector = false
        var sawOther = false
        for value in values {
            switch value.unquoted {
            case .null: continue
            case .numbers(let elements, _):
                vectorLengths[elements.count, default: 0] += 1
                sawVector = true
                continue
            case .untyped(let text) where text.hasPrefix("["):
                if let elements = try? VectorCodec.parse(text) {
                    vectorLengths[elements.count, default: 0] += 1
                    sawVector = true
                    continue
                }
                sawOther = true
                scalar = .text
            case .integer, .bool: scalar = max(scalar, .integer)
            case .real: scalar = max(scalar, .real)
            case .untyped(let text):
                if Int64(text) != nil {
                    scalar = max(scalar, .integer)
                } else if let v = Double(text), v.isFinite {
                    scalar = max(scalar, .real)
                } else {
                    scalar = .text
                }
            case .string, .json, .quoted: scalar = .text // (.quoted never remains after .unquoted)
            }
            sawOther = true
        }
        if sawVector && !sawOther {
            let ranked = vectorLengths.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key > $1.key }
            let (n, records) = ranked[0]
            if ranked.count > 1, ranked[1].value == records {
                throw Problem(
                    description:
                        "field \"\(field)\" of \(inputPath) holds arrays of numbers of \(ranked.count) lengths, "
                        + "\(ranked[0].key) and \(ranked[1].key) equally often; give --schema to declare its type")
            }
            if n >= 1, n <= VectorCodec.maximumDimension { return "VECTOR(\(n))" }
        }
        if sawVector { return "TEXT" }
        switch scalar {
        case .integer: return "INTEGER"
        case .real: return "REAL"
        default: return "TEXT"
        }
    }
}
