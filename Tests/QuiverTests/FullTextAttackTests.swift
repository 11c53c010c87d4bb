import Foundation
import QuiverEngine
import QuiverStorage
import Testing

/// The full-text SQL functions a caller may name (`quiver_fts_query`, `quiver_fts_score`, which
/// MATCH and bm25 become) as a read-token holder would try them: hostile table names and query
/// text reach no other SQL, change nothing, and a read-only MATCH still answers.
@Suite struct FullTextAttackTests {
    @Test func hostileArgumentsReachNoSQLAndChangeNothing() throws {
        let directory = TemporaryDirectory("quiver-fts-attack")
        let db = try Database(path: directory.file("db"))
        _ = try db.execute(
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT);
            INSERT INTO docs VALUES (1, '钢铁价格下跌'), (2, 'steel price');
            CREATE INDEX docs_body ON docs USING fts (body);
            """)
        let hostile = [
            "SELECT quiver_fts_score(1, '_quiver_fts_docs_body\"; DROP TABLE docs; --', '\"x\"')",
            "SELECT quiver_fts_score(1, 'docs', '\"x\"')",
            "SELECT id FROM docs WHERE body MATCH '\"); DROP TABLE docs; --'",
            "SELECT quiver_fts_query('x', 'docs.body', 'c0} : x) OR ({c0')",
            "DELETE FROM docs WHERE body MATCH 'steel'",
        ]
        for sql in hostile {
            _ = try? db.execute(sql, access: .readOnly)
        }
        #expect(throws: (any Error).self) { try db.execute(hostile[0], access: .readOnly) }
        #expect(throws: (any Error).self) { try db.execute(hostile[4], access: .readOnly) }
        #expect(try db.integers("SELECT id FROM docs ORDER BY id") == [1, 2])
        #expect(
            try db.execute("SELECT id FROM docs WHERE body MATCH '价格'", access: .readOnly).last?.rows.map {
                $0[0].integerValue
            } == [1])
    }
}
