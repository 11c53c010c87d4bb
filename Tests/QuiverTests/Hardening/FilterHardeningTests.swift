import Foundation
import QuiverClient
import QuiverJSON
import Testing

/// JSON filters against a real server: one meaning of NULL for every operator (MongoDB's),
/// `$in` lists that cost what their length costs and mean what `IN (…)` means, and bounds.
@Suite struct FilterHardeningTests {
    /// t(id, lang TEXT, n INTEGER, x REAL, num NUMERIC, b BLOB, e VECTOR(2)) with NULLs, an HNSW index on e.
    func table(_ client: QuiverClient) throws {
        try client.call(
            "POST", "/tables",
            [
                "name": "t",
                "columns": [
                    ["name": "id", "type": "INTEGER", "primary_key": true], ["name": "lang", "type": "TEXT"],
                    ["name": "n", "type": "INTEGER"], ["name": "x", "type": "REAL"],
                    ["name": "num", "type": "NUMERIC"],
                    ["name": "b", "type": "BLOB"], ["name": "e", "type": "VECTOR(2)"],
                ],
                "indexes": [["column": "e", "metric": "l2"]],
            ])
        try client.call(
            "POST", "/tables/t/rows",
            [
                "rows": [
                    ["id": 1, "lang": "zh", "n": 1, "x": 1.5, "num": "1", "b": 1, "e": [1, 0]],
                    ["id": 2, "lang": "en", "n": 2, "x": 2.0, "num": 2.5, "b": "1", "e": [0, 1]],
                    ["id": 3, "lang": nil, "n": nil, "x": nil, "num": nil, "b": nil, "e": [1, 1]],
                    ["id": 4, "lang": "1", "n": 10, "x": 0.1, "num": "zh", "b": 2.5, "e": [2, 0]],
                    ["id": 5, "lang": "zh", "n": nil, "x": 3.25, "num": 10, "b": "zh", "e": [0, 2]],
                ]
            ])
    }

    func ids(_ client: QuiverClient, _ filter: JSONValue, exact: Bool) throws -> [Int64] {
        let answer = try client.call(
            "POST", "/tables/t/query", ["vector": [0, 0], "k": 10, "exact": .bool(exact), "filter": filter])
        return (answer["results"]?.arrayValue?.compactMap { $0["id"]?.integerValue } ?? []).sorted()
    }

    @Test func nullMeansOneThingInEveryOperator() throws {
        let directory = TemporaryDirectory("quiver-filter")
        let server = try ServerProcess(database: directory.file("db"))
        let client = server.client()
        try table(client)
        // Rows: 1 zh n=1 · 2 en n=2 · 3 NULL n=NULL · 4 "1" n=10 · 5 zh n=NULL.
        let truth: [(JSONValue, [Int64])] = [
            (["lang": "zh"], [1, 5]),
            (["lang": nil], [3]),
            (["lang": ["$eq": "zh"]], [1, 5]),
            (["lang": ["$eq": nil]], [3]),
            (["lang": ["$ne": "zh"]], [2, 3, 4]),
            (["lang": ["$ne": nil]], [1, 2, 4, 5]),
            (["lang": ["$in": ["zh"]]], [1, 5]),
            (["lang": ["$in": [nil, "zh"]]], [1, 3, 5]),
            (["lang": ["$in": [nil]]], [3]),
            (["lang": ["$in": []]], []),
            (["lang": ["$nin": ["zh"]]], [2, 3, 4]),
            (["lang": ["$nin": [nil]]], [1, 2, 4, 5]),
            (["lang": ["$nin": [nil, "zh"]]], [2, 4]),
            (["lang": ["$nin": []]], [1, 2, 3, 4, 5]),
            (["$not": ["lang": "zh"]], [2, 3, 4]),
            (["$not": ["lang": nil]], [1, 2, 4, 5]),
            (["$not": ["lang": ["$in": [nil, "zh"]]]], [2, 4]),
            (["$not": ["lang": ["$nin": ["zh"]]]], [1, 5]),
            (["n": ["$gt": 1]], [2, 4]),
            (["n": ["$lte": 2]], [1, 2]),
            (["$not": ["n": ["$gt": 1]]], [1, 3, 5]),
            (["n": ["$nin": [1, 2]]], [3, 4, 5]),
            (["lang": ["$like": "z%"]], [1, 5]),
            (["$not": ["lang": ["$like": "z%"]]], [2, 3, 4]),
            (["lang": ["$null": true]], [3]),
            (["lang": ["$null": false]], [1, 2, 4, 5]),
            (["$or": [["lang": "en"], ["n": nil]]], [2, 3, 5]),
            (["$not": ["$or": [["lang": "en"], ["n": ["$gt": 5]]]]], [1, 3, 5]),
            (["$not": ["$and": [["lang": "zh"], ["n": 1]]]], [2, 3, 4, 5]),
            (["$not": ["$not": ["lang": "zh"]]], [1, 5]),
            (["lang": "zh", "n": ["$ne": 1]], [5]),
        ]
        for exact in [true, false] {
            for (filter, expected) in truth {
                #expect(try ids(client, filter, exact: exact) == expected, "\(filter) (exact: \(exact))")
            }
        }
        // The three ways of saying "not zh" agree, NULL rows included.
        let ne = try ids(client, ["lang": ["$ne": "zh"]], exact: true)
        #expect(ne == (try ids(client, ["lang": ["$nin": ["zh"]]], exact: true)))
        #expect(ne == (try ids(client, ["$not": ["lang": "zh"]], exact: true)))
    }

    /// `$in`/`$nin` answer exactly what SQL's `IN (?, …)` answers, whatever the column's affinity
    /// and the values' types (they are now one json_each parameter).
    @Test func membershipMatchesSQLInForEveryAffinityAndType() throws {
        let directory = TemporaryDirectory("quiver-filter")
        let server = try ServerProcess(database: directory.file("db"))
        let client = server.client()
        try table(client)
        let lists: [[JSONValue]] = [
            [1, 2], [1.5, 2.0, 0.1], ["zh", "en"], ["1", "2.5", "10"], [1, "1", 2.5, "zh"], [2.5, 10, "1"],
            [0.30000000000000004, 1e-300, -0.0, 3.25], ["zh\"quoted\\", "line\nbreak", "tab\t", "\u{1}"],
            [true, false],
        ]
        for column in ["lang", "n", "x", "num", "b"] {
            for list in lists {
                let placeholders = list.indices.map { "?\($0 + 1)" }.joined(separator: ", ")
                let quoted = "\"\(column)\""
                let sqlIn =
                    try client.sql(
                        "SELECT id FROM t WHERE \(quoted) IN (\(placeholders)) ORDER BY id", parameters: list
                    )
                    .first?.rows.compactMap { $0.first?.integerValue } ?? []
                let sqlNotIn =
                    try client.sql(
                        "SELECT id FROM t WHERE \(quoted) IS NULL OR \(quoted) NOT IN (\(placeholders)) ORDER BY id",
                        parameters: list
                    ).first?.rows.compactMap { $0.first?.integerValue } ?? []
                #expect(try ids(client, [column: ["$in": .array(list)]], exact: true) == sqlIn, "\(column) $in \(list)")
                #expect(
                    try ids(client, [column: ["$nin": .array(list)]], exact: true) == sqlNotIn, "\(column) $nin \(list)"
                )
            }
        }
    }

    @Test func longListsAreLinearAndFiltersAreBounded() throws {
        let directory = TemporaryDirectory("quiver-filter")
        let server = try ServerProcess(database: directory.file("db"), ["--port", "0", "--statement-timeout", "60"])
        let client = server.client(timeout: 120)
        try table(client)
        // 100,000 values (the old code bound each as a named parameter: quadratic, minutes).
        let many: [JSONValue] = (0..<100_000).map { .integer(Int64($0 * 7 + 10)) }
        #expect(try ids(client, ["n": ["$in": .array(many)]], exact: true) == [4])
        #expect(try ids(client, ["n": ["$nin": .array(many)]], exact: false) == [1, 2, 3, 5])
        let words: [JSONValue] = (0..<50_000).map { .string("w\($0)") } + ["en"]
        #expect(try ids(client, ["lang": ["$in": .array(words)]], exact: false) == [2])

        func refused(_ filter: JSONValue, _ status: Int, _ words: String...) {
            do {
                _ = try client.call("POST", "/tables/t/query", ["vector": [0, 0], "filter": filter])
                Issue.record("accepted: \(String(describing: filter).prefix(200))")
            } catch let error as ClientError {
                #expect(error.status == status, "\(error)")
                for word in words { #expect(error.message.contains(word), "\(error.message)") }
            } catch {
                Issue.record("\(error)")
            }
        }
        refused(["n": ["$in": .array(many + [1])]], 413, "100000 values", "filter.n.$in")
        refused(["$or": .array((0...1_000).map { ["n": .integer(Int64($0))] })], 413, "1000 conditions")
        var deep: JSONValue = ["lang": "zh"]
        for _ in 0..<40 { deep = ["$not": deep] }
        refused(deep, 400, "deeper than 32")
        refused(["n": ["$in": [[1]]]], 400, "filter.n.$in[0]")
        // The same list as named parameters of a `where` costs their number squared to prepare: bounded.
        let names = (0...1_000).map { ":p\($0)" }.joined(separator: ", ")
        do {
            _ = try client.call("POST", "/tables/t/query", ["vector": [0, 0], "where": .string("n IN (\(names))")])
            Issue.record("a where with 1,001 parameters was accepted")
        } catch let error as ClientError {
            #expect(error.status == 413 && error.message.contains("where") && error.message.contains("$in"), "\(error)")
        }
        #expect(try ids(client, ["n": ["$in": [1]]], exact: true) == [1], "the server answers after the refusals")
    }
}
