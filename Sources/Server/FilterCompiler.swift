import QuiverJSON
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
/// NULL means what it means in MongoDB, the filter language JSON users know: a NULL value
/// matches `null` (`{"f": null}`, `$eq`, `$in: [null, …]`) and nothing else, so `$ne`, `$nin`
/// and `$not` — which ask for what does not match — include NULL rows (`$nin: [null, …]` and
/// `$ne: null` exclude them). `$gt`, `$like` and the rest never match NULL.
///
/// Field names must be columns of the table (not vectors); values are bound, never spliced.
/// A `$in`/`$nin` list is one bound JSON array read with `json_each`, so its cost grows with
/// its length, not with its square (SQLite looks up every named parameter in a list).
struct FilterCompiler {
    /// Values one filter may hold (list items included) and how deep it may nest.
    static let maxValues = 100_000
    static let maxTerms = 1_000
    static let maxDepth = 32

    let table: TableInfo
    /// Parameter names start with this prefix (`:f1`, `:f2` …) so they cannot meet the user's.
    var prefix = "qf"
    private(set) var bindings: [String: SQLValue] = [:]
    private var values = 0
    private var terms = 0

    init(table: TableInfo) {
        self.table = table
    }

    mutating func compile(_ filter: JSONValue, at place: String = "filter") throws -> String {
        try compile(filter, at: place, depth: 1)
    }

    private mutating func compile(_ filter: JSONValue, at place: String, depth: Int) throws -> String {
        guard depth <= Self.maxDepth else {
            throw APIError.badRequest("\(place): the filter nests deeper than \(Self.maxDepth) levels")
        }
        guard case .object(let fields) = filter else {
            throw APIError.badRequest("\(place) must be an object, not \(filter.typeName)")
        }
        if fields.isEmpty { return "1" }
        var parts: [String] = []
        for key in fields.keys.sorted() {
            let value = fields[key]!
            let here = "\(place).\(key)"
            try countTerm(at: here)
            switch key {
            case "$and", "$or":
                guard case .array(let items) = value, !items.isEmpty else {
                    throw APIError.badRequest("\(here) must be a non-empty array of filters")
                }
                let compiled = try items.enumerated().map { try compile($1, at: "\(here)[\($0)]", depth: depth + 1) }
                parts.append("(" + compiled.joined(separator: key == "$and" ? " AND " : " OR ") + ")")
            case "$not":
                // A condition on NULL is NULL, which NOT keeps NULL; IS NOT 1 counts it as not matching.
                parts.append("((\(try compile(value, at: here, depth: depth + 1))) IS NOT 1)")
            default:
                if key.hasPrefix("$") {
                    throw APIError.badRequest("\(here): unknown operator \(key) (use $and, $or, $not)")
                }
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
        guard case .object(let operators) = value, operators.keys.allSatisfy({ $0.hasPrefix("$") }), !operators.isEmpty
        else {
            if value == .null { return "\(name) IS NULL" }
            return "\(name) = \(try bind(value, at: place))"
        }
        var parts: [String] = []
        for op in operators.keys.sorted() {
            let operand = operators[op]!
            let here = "\(place).\(op)"
            switch op {
            case "$eq": parts.append(operand == .null ? "\(name) IS NULL" : "\(name) = \(try bind(operand, at: here))")
            case "$ne":
                parts.append(operand == .null ? "\(name) IS NOT NULL" : "\(name) IS NOT \(try bind(operand, at: here))")
            case "$gt": parts.append("\(name) > \(try bind(operand, at: here))")
            case "$gte": parts.append("\(name) >= \(try bind(operand, at: here))")
            case "$lt": parts.append("\(name) < \(try bind(operand, at: here))")
            case "$lte": parts.append("\(name) <= \(try bind(operand, at: here))")
            case "$like": parts.append("\(name) LIKE \(try bind(operand, at: here))")
            case "$glob": parts.append("\(name) GLOB \(try bind(operand, at: here))")
            case "$in", "$nin":
                parts.append(try membership(name, operand, negated: op == "$nin", at: here))
            case "$null":
                guard case .bool(let isNull) = operand else {
                    throw APIError.badRequest("\(here) must be true or false")
                }
                parts.append("\(name) IS \(isNull ? "" : "NOT ")NULL")
            default:
                throw APIError.badRequest(
                    "\(here): unknown operator (use $eq $ne $gt $gte $lt $lte $in $nin $like $glob $null)")
            }
        }
        return parts.count == 1 ? parts[0] : "(" + parts.joined(separator: " AND ") + ")"
    }

    /// `$in`/`$nin`: NULL in the list stands for NULL rows; the other values are one JSON array
    /// parameter. `+value` has no affinity, like a bound parameter (json_each's column has
    /// BLOB affinity, which would keep a TEXT column from matching 1 to '1'), so the column's
    /// affinity and collation apply exactly as they do in `IN (?, ?, …)`.
    private mutating func membership(_ name: String, _ operand: JSONValue, negated: Bool, at place: String) throws
        -> String
    {
        let items: [JSONValue]
        switch operand {
        case .array(let array): items = array
        case .floats(let floats): items = floats.map { .number(Double($0)) }
        default: throw APIError.badRequest("\(place) must be an array")
        }
        try count(values: items.count, at: place)
        var list: [SQLValue] = []
        var matchesNull = false
        for (i, item) in items.enumerated() {
            let value = try plainValue(item, at: "\(place)[\(i)]")
            if value == .null { matchesNull = true } else { list.append(value) }
        }
        var inList = "0"
        if !list.isEmpty {
            let parameter = "\(prefix)\(bindings.count + 1)"
            bindings[parameter] = .text(Self.jsonArray(list))
            inList = "\(name) IN (SELECT +value FROM json_each(:\(parameter)))"
        }
        switch (negated, matchesNull) {
        case (false, false): return inList
        case (false, true): return "(\(name) IS NULL OR \(inList))"
        case (true, false): return "(\(name) IS NULL OR NOT \(inList))"
        case (true, true): return "(\(name) IS NOT NULL AND NOT \(inList))"
        }
    }

    /// Values as a JSON array that json_each reads back as the same SQLite values (reals are
    /// written in their shortest round-tripping form).
    static func jsonArray(_ values: [SQLValue]) -> String {
        var text = "["
        for (i, value) in values.enumerated() {
            if i > 0 { text += "," }
            switch value {
            case .integer(let v): text += String(v)
            case .real(let v): text += v.description
            case .text(let v): appendJSONString(v, to: &text)
            default: text += "null"
            }
        }
        return text + "]"
    }

    private static func appendJSONString(_ string: String, to text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case _ where scalar.value < 0x20:
                text += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }

    private mutating func count(values added: Int, at place: String) throws {
        values += added
        guard values <= Self.maxValues else {
            throw APIError.tooLarge("\(place): the filter holds more than \(Self.maxValues) values")
        }
    }

    private func plainValue(_ value: JSONValue, at place: String) throws -> SQLValue {
        switch value {
        case .array, .object, .floats:
            throw APIError.badRequest("\(place): expected a string, number, boolean or null, not \(value.typeName)")
        case .number(let v) where !v.isFinite:
            throw APIError.badRequest("\(place): numbers must be finite")
        default:
            return try ValueMapping.plain(value, place: place)
        }
    }

    private mutating func countTerm(at place: String) throws {
        terms += 1
        guard terms <= Self.maxTerms else {
            throw APIError.tooLarge(
                "\(place): the filter holds more than \(Self.maxTerms) conditions (use $in for lists of values)")
        }
    }

    private mutating func bind(_ value: JSONValue, at place: String) throws -> String {
        try count(values: 1, at: place)
        let name = "\(prefix)\(bindings.count + 1)"
        bindings[name] = try plainValue(value, at: place)
        return ":" + name
    }
}
