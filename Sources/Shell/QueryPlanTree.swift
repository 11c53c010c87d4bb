import QuiverStorage

/// SQLite's `EXPLAIN QUERY PLAN` rows (id, parent, notused, detail) drawn as the tree sqlite3 draws.
enum QueryPlanTree {
    static func render(_ plan: ResultSet) -> String {
        guard plan.columns.count >= 4 else { return "" }
        var depth: [Int64: Int] = [0: 0]
        var out = "QUERY PLAN\n"
        for row in plan.rows {
            guard let id = row[0].integerValue, let parent = row[1].integerValue else { continue }
            let level = (depth[parent] ?? 0) + 1
            depth[id] = level
            out += String(repeating: "   ", count: level - 1) + "`--" + (row[3].textValue ?? "") + "\n"
        }
        return out
    }
}
