import Foundation
import QuiverQuery
import Testing

@Suite struct RewriterTests {
    func rewrite(_ sql: String, compressed: Set<String> = []) throws -> String {
        let statement = StatementSplitter.split(sql)[0]
        return try Rewriter(compressedColumns: compressed).rewrite(statement).text
    }

    @Test func distanceOperatorsBecomeFunctions() throws {
        // An unaliased select item keeps the name it was written with.
        #expect(try rewrite("SELECT a <-> b FROM t") == "SELECT l2_distance(a, b) AS \"a <-> b\" FROM t")
        #expect(try rewrite("SELECT t.e <=> '[1,2]' AS d FROM t") == "SELECT cosine_distance(t.e, '[1,2]') AS d FROM t")
        #expect(try rewrite("SELECT e<#>:q AS d FROM t") == "SELECT negative_inner_product(e, :q) AS d FROM t")
        #expect(
            try rewrite("SELECT 1 + (f(x) <=> (SELECT e FROM u LIMIT 1)) FROM t")
                == "SELECT 1 + (cosine_distance(f(x), (SELECT e FROM u LIMIT 1))) AS \"1 + (f(x) <=> (SELECT e FROM u LIMIT 1))\" FROM t"
        )
        #expect(
            try rewrite("SELECT id FROM t WHERE e <=> '[1,2]'::vector < 1")
                == "SELECT id FROM t WHERE cosine_distance(e, '[1,2]') < 1")
    }

    @Test func orderingTermsSortRowsWithoutVectorsLast() throws {
        #expect(
            try rewrite("SELECT id FROM t ORDER BY e <=> ?1 LIMIT 3")
                == "SELECT id FROM t ORDER BY cosine_distance(e, ?1) NULLS LAST LIMIT 3")
        #expect(
            try rewrite("SELECT id FROM t ORDER BY e <=> ?1 DESC LIMIT 3")
                == "SELECT id FROM t ORDER BY cosine_distance(e, ?1) DESC LIMIT 3")
        #expect(
            try rewrite("SELECT id FROM t WHERE e <-> ?1 < 0.5")
                == "SELECT id FROM t WHERE l2_distance(e, ?1) < 0.5")
    }

    @Test func anonymousParametersAreNumbered() throws {
        // Named as written: SQLite calls the column of a `?` "?".
        #expect(try rewrite("SELECT ?, :x, ?, ?7, ?") == "SELECT ?1 AS \"?\", :x, ?3 AS \"?\", ?7, ?8 AS \"?\"")
        #expect(try rewrite("SELECT id FROM t WHERE a = ? AND b = ?") == "SELECT id FROM t WHERE a = ?1 AND b = ?2")
    }

    @Test func operatorWithoutOperandIsAClearError() {
        #expect(throws: Rewriter.SyntaxError.self) { try rewrite("SELECT <=> e FROM t") }
        do {
            _ = try rewrite("SELECT id FROM t ORDER BY e <=>")
        } catch let error as Rewriter.SyntaxError {
            #expect(error.message.contains("needs an operand"))
            #expect(error.offset == 28)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func stringsAndCommentsAreLeftAlone() throws {
        #expect(
            try rewrite("SELECT 'a <-> b', \"x<=>y\" -- c <#> d\nFROM t")
                == "SELECT 'a <-> b', \"x<=>y\" -- c <#> d\nFROM t")
    }

    @Test func compressedColumnsAreReadAsTextInExpressions() throws {
        let c: Set<String> = ["body"]
        #expect(
            try rewrite("SELECT body FROM docs WHERE body LIKE '%x%'", compressed: c)
                == "SELECT quiver_text(body) AS \"body\" FROM docs WHERE quiver_text(body) LIKE '%x%'")
        #expect(
            try rewrite("SELECT d.body AS b, length(body) FROM docs d ORDER BY body", compressed: c)
                == "SELECT quiver_text(d.body) AS b, length(quiver_text(body)) AS \"length(body)\" FROM docs d ORDER BY quiver_text(body)"
        )
        // Assignment targets, column lists and conflict targets are names, not values.
        #expect(
            try rewrite(
                "INSERT INTO docs (id, body) VALUES (1, 'x') ON CONFLICT (body) DO UPDATE SET body = excluded.body || body",
                compressed: c)
                == "INSERT INTO docs (id, body) VALUES (1, 'x') ON CONFLICT (body) DO UPDATE SET body = quiver_text(excluded.body) || quiver_text(body)"
        )
        #expect(
            try rewrite("UPDATE docs SET body = upper(body), n = 1 WHERE body = 'a'", compressed: c)
                == "UPDATE docs SET body = upper(quiver_text(body)), n = 1 WHERE quiver_text(body) = 'a'")
        #expect(try rewrite("CREATE INDEX i ON docs(body)", compressed: c) == "CREATE INDEX i ON docs(body)")
        #expect(
            try rewrite("SELECT compressed_size(body) FROM docs", compressed: c)
                == "SELECT compressed_size(body) FROM docs")
    }

    @Test func scriptsSplitAtSemicolonsButNotInsideTriggers() {
        let script = """
            CREATE TABLE t (a); CREATE TRIGGER tr AFTER INSERT ON t BEGIN
              UPDATE t SET a = CASE WHEN a > 1 THEN 1 END; INSERT INTO t VALUES (';');
            END; SELECT 1;
            ;
            """
        let statements = StatementSplitter.split(script)
        #expect(statements.count == 3)
        #expect(statements[1].leadingKeywords(2) == ["CREATE", "TRIGGER"])
        #expect(statements[1].text.hasSuffix("END"))
        #expect(statements[2].text.trimmingCharacters(in: .whitespaces) == "SELECT 1")
    }
}
