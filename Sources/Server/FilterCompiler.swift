import QuiverStorage

/// Compiles a structured JSON filter into a SQL condition with bound parameters.
///
///     {"lang": "en"}                                  equality (null: IS NULL)
///     {"year": {"$gte": 2020, "$lt": 2025}}           $eq $ne $gt $gte $lt $lte
///     {"tag": {"$in": ["a", "b"]}}                     $in $nin
///     {"title": {"$like": "intro%"}}                   $like $glob
///     {"note": {"$null": true}}                        IS NULL / IS NOT NULL
///     {"$and": [f, …]}  {"$or": [f, …]}  {"$not": f}   several keys in one object mean AND
///
/// Field names must be columns of the table (not vectors); values are bound, never spliced.
struct FilterCompiler {
    let table: TableInfo
    /// Parameter names start with this prefix (`:f1`, `:f2` …) so they cannot meet the user's.
    var prefix = "qf"
    private(set) var bindings: [String: SQLValue] = [:]

    init(table: TableInfo) {
        self.table = table
    }

    mutating func compile(_ filter: JSONValue, at place: String = "filter") throws -> String {
        guard case .object(let fields) = filter else {
            throw APIError.badRequest("\(place) must be an object, not \(filter.typeName)")
        }
        if fields.isEmpty { return "1" }
        var parts: [String] = []
        for key in fields.keys.sorted() {
            let value = fields[key]!
            let here = "\(place).\(key)"
            switch key {
            case "$and", "$or":
                guard case .array(let items) = value, !items.isEmpty else {
                    throw APIError.badRequest("\(here) must be a non-empty array of filters")
                }
                let compiled = try items.enumerated().map { try compile($1, at: "\(here)[\($0)]") }
                parts.append("(" + compiled.joined(separator: key == "$and" ? " AND " : " OR ") + ")")
            case "$not":
                parts.append("NOT (\(try compile(value, at: here)))")
            default:
                if key.hasPrefix("$") { throw APIError.badRequest("\(here): unknown operator \(key) (use $and, $or, $not)") }
                parts.append(try condition(field: key, value, at: here))
            }
        }
        return parts.count == 1 ? parts[0] : "(" + parts.joined(separator: " AND ") + ")"
    }

    private mutating func condition(field: String, _ value: JSONValue, at place: String) throws -> String {
        guard let column = table.column(named: field) else {
            throw APIError.badRequest("\(place): table \(table.name) has no column \(field)")
        }
        guard column.kind.vectorDimension == nil else {
            throw APIError.badRequest("\(place): \(field) is a VECTOR column; filter on other columns")
        }
        let name = quoteIdentifier(column.name)
        guard case .object(let operators) = value, operators.keys.allSatisfy({ $0.hasPrefix("$") }), !operators.isEmpty else {
            if value == .null { return "\(name) IS NULL" }
            return "\(name) = \(try bind(value, at: place))"
        }
        var parts: [String] = []
        for op in operators.keys.sorted() {
            let operand = operators[op]!
            let here = "\(place).\(op)"
            switch op {
            case "$eq": parts.append(operand == .null ? "\(name) IS NULL" : "\(name) = \(try bind(operand, at: here))")
            case "$ne": parts.append(operand == .null ? "\(name) IS NOT NULL" : "\(name) IS NOT \(try bind(operand, at: here))")
            case "$gt": parts.append("\(name) > \(try bind(operand, at: here))")
            case "$gte": parts.append("\(name) >= \(try bind(operand, at: here))")
            case "$lt": parts.append("\(name) < \(try bind(operand, at: here))")
            case "$lte": parts.append("\(name) <= \(try bind(operand, at: here))")
            case "$like": parts.append("\(name) LIKE \(try bind(operand, at: here))")
            case "$glob": parts.append("\(name) GLOB \(try bind(operand, at: here))")
            case "$in", "$nin":
                guard case .array(let items) = operand else { throw APIError.badRequest("\(here) must be an array") }
                if items.isEmpty { parts.append(op == "$in" ? "0" : "1"); continue }
                let list = try items.enumerated().map { try bind($1, at: "\(here)[\($0)]") }.joined(separator: ", ")
                parts.append("\(name) \(op == "$in" ? "IN" : "NOT IN") (\(list))")
            case "$null":
                guard case .bool(let isNull) = operand else { throw APIError.badRequest("\(here) must be true or false") }
                parts.append("\(name) IS \(isNull ? "" : "NOT ")NULL")
            default:
                throw APIError.badRequest("\(here): unknown operator (use $eq $ne $gt $gte $lt $lte $in $nin $like $glob $null)")
            }
        }
        return parts.count == 1 ? parts[0] : "(" + parts.joined(separator: " AND ") + ")"
    }

    private mutating func bind(_ value: JSONValue, at place: String) throws -> String {
        switch value {
        case .array, .object, .floats:
            throw APIError.badRequest("\(place): expected a string, number, boolean or null, not \(value.typeName)")
        default:
            let name = "\(prefix)\(bindings.count + 1)"
            bindings[name] = try ValueMapping.plain(value, place: place)
            return ":" + name
        }
    }
}
