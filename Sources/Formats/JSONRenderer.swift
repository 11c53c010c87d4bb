import QuiverStorage

/// JSON and JSON Lines output, written by hand so that keys keep the column order.
enum JSONRenderer {
    /// One result set: an array of row objects, one per line. Several: an array of those arrays.
    static func renderArray(_ results: [ResultSet]) -> String {
        if results.count == 1 { return array(results[0]) + "\n" }
        guard !results.isEmpty else { return "[]\n" }
        return "[\n" + results.map(array).joined(separator: ",\n") + "\n]\n"
    }

    /// Every row of every result set as one object per line.
    static func renderLines(_ results: [ResultSet]) -> String {
        var out = ""
        for result in results {
            let keys = result.columns.map(ValueText.jsonString)
            for row in result.rows {
                out += object(row, keys: keys, in: result)
                out += "\n"
            }
        }
        return out
    }

    private static func array(_ result: ResultSet) -> String {
        guard !result.rows.isEmpty else { return "[]" }
        let keys = result.columns.map(ValueText.jsonString)
        return "[\n" + result.rows.map { object($0, keys: keys, in: result) }.joined(separator: ",\n") + "\n]"
    }

    private static func object(_ row: [SQLValue], keys: [String], in result: ResultSet) -> String {
        var out = "{"
        for (column, key) in keys.enumerated() {
            if column > 0 { out += "," }
            out += key
            out += ":"
            out += value(result.value(row, column))
        }
        return out + "}"
    }

    static func value(_ value: SQLValue) -> String {
        switch value {
        case .null: "null"
        case .integer(let n): "\(n)"
        case .real(let x): ValueText.jsonNumber(x)
        case .text(let s): ValueText.jsonString(s)
        case .blob(let bytes): "\"" + ValueText.base64(bytes) + "\""
        case .vector(let v): ValueText.vectorJSON(v)
        }
    }
}
