/// SQL functions behind `TEXT COMPRESSED` columns.
enum CompressionFunctions {
    static func register(on connection: Connection) throws {
        // Used by the maintenance triggers: text → LZ4 blob when that saves space. (The
        // one-argument form is what triggers of older databases call until they are replaced.)
        try connection.createFunction("quiver_compress", argumentCount: 1) { args in
            guard args.isText(0) else { return args.value(0) }
            let text = args.text(0)
            return TextCompression.compress(text).map { .blob($0) } ?? .text(text)
        }
        // quiver_compress(value, table, column, key name, key): as above, and a blob must
        // already be valid compressed text, or the write fails naming the row, so one damaged
        // value cannot make every later read of the table fail.
        try connection.createFunction("quiver_compress", argumentCount: 5) { args in
            if args.isBlob(0) {
                if let problem = TextCompression.problem(with: args.bytes(0)) {
                    let place =
                        "\(args.text(1)).\(args.text(2)) in row \(args.text(3))=\(VectorFunctions.describeRow(args.value(4)))"
                    throw SQLFunctionError(
                        "invalid value for TEXT COMPRESSED column \(place): \(problem); write the text itself and Quiver compresses it"
                    )
                }
                return args.value(0)
            }
            guard args.isText(0) else { return args.value(0) }
            let text = args.text(0)
            return TextCompression.compress(text).map { .blob($0) } ?? .text(text)
        }
        // Bytes a value occupies as stored (the rewriter leaves its argument compressed), so
        // users can see what compression saves: sum(compressed_size(body)) vs sum(length(body)).
        try connection.createFunction("compressed_size", argumentCount: 1) { args in
            args.isNull(0) ? .null : .integer(Int64(args.bytes(0).count))
        }
        // Wrapped around references to compressed columns by the query rewriter: blob → text,
        // anything else unchanged, so wrapping a column that is not compressed is harmless.
        try connection.createFunction("quiver_text", argumentCount: 1) { args in
            guard args.isBlob(0) else { return args.value(0) }
            do {
                if let text = try TextCompression.decompress(args.bytes(0)) { return .text(text) }
            } catch {
                throw SQLFunctionError("\(error)")
            }
            return args.value(0)
        }
    }
}
