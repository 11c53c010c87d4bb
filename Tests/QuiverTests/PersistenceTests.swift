import QuiverEngine
import QuiverStorage
import Testing

@Suite struct PersistenceTests {
    let directory = TemporaryDirectory()

    @Test func rowsAndVectorsComeBackBitForBit() throws {
        let path = directory.file("db")
        var random = SeededRandom(seed: 77)
        var vectors = (0..<300).map { _ in random.vector(64).map { $0 * Float.random(in: 1e-30...1e30, using: &random) }
        }
        vectors[0] =
            [Float.leastNonzeroMagnitude, -0.0, Float.greatestFiniteMagnitude] + Array(repeating: 0, count: 61)
        do {
            let db = try Database(path: path)
            _ = try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, body TEXT COMPRESSED, e VECTOR(64))")
            try db.executeMany(
                "INSERT INTO t VALUES (?, ?, ?, ?)",
                vectors.enumerated().map { i, v in
                    SQLBindings([
                        .integer(Int64(i)), .text("名前 \(i)"), .text(String(repeating: "row \(i) ", count: 20)),
                        .vector(v),
                    ])
                })
            // Half of them once more through text literals.
            for i in stride(from: 1, to: 300, by: 2) {
                _ = try db.execute(
                    "UPDATE t SET e = ? WHERE id = ?",
                    SQLBindings([.text(vectorLiteral(vectors[i])), .integer(Int64(i))]))
            }
        }
        let reopened = try Database(path: path)
        let rows = try reopened.rows("SELECT id, name, body, e FROM t ORDER BY id")
        #expect(rows.count == 300)
        for (i, row) in rows.enumerated() {
            #expect(row[1] == .text("名前 \(i)"))
            #expect(row[2] == .text(String(repeating: "row \(i) ", count: 20)))
            #expect(row[3].vectorValue?.map(\.bitPattern) == vectors[i].map(\.bitPattern))
        }
    }
}
