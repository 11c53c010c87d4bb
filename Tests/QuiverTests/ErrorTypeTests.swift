import Foundation
import QuiverEngine
import QuiverStorage
import Testing

/// Failures are told apart by type and code: SQLite's result codes match as GRDB's do (a primary
/// code covers its extended codes, an extended code only itself).
@Suite struct ErrorTypeTests {
    let directory = TemporaryDirectory()

    @Test func primaryCodesMatchTheirExtendedCodes() {
        let notNull = ResultCode.SQLITE_CONSTRAINT_NOTNULL
        #expect(notNull.primaryResultCode == .SQLITE_CONSTRAINT)
        #expect(!notNull.isPrimary && ResultCode.SQLITE_CONSTRAINT.isPrimary)
        #expect(ResultCode.SQLITE_CONSTRAINT ~= notNull)
        #expect(ResultCode.SQLITE_CONSTRAINT_NOTNULL ~= notNull)
        #expect(!(ResultCode.SQLITE_CONSTRAINT_UNIQUE ~= notNull))
        #expect(!(ResultCode.SQLITE_CONSTRAINT_NOTNULL ~= .SQLITE_CONSTRAINT))
        #expect(!(ResultCode.SQLITE_IOERR ~= notNull))
        switch ResultCode.SQLITE_IOERR_FSYNC {
        case .SQLITE_IOERR_WRITE: Issue.record("an extended code matched another extended code")
        case .SQLITE_IOERR: break
        default: Issue.record("an extended code did not match its primary code")
        }
    }

    @Test func sqliteFailuresCarryTheirExtendedCode() throws {
        let db = try Database(path: directory.file("db"))
        _ = try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
        _ = try db.execute("INSERT INTO t VALUES (1, 'a')")

        let missing = try #require(failure(of: "INSERT INTO t (id) VALUES (2)", in: db))
        #expect(missing.code == .SQLITE_CONSTRAINT_NOTNULL && missing.isConstraint)
        let duplicate = try #require(failure(of: "INSERT INTO t VALUES (3, 'a')", in: db))
        #expect(duplicate.code == .SQLITE_CONSTRAINT_UNIQUE && duplicate.isConstraint)
        let syntax = try #require(failure(of: "SELEC 1", in: db))
        #expect(syntax.code == .SQLITE_ERROR && !syntax.isConstraint && !syntax.isBusy && !syntax.isInterrupt)
    }

    @Test func anInterruptedStatementIsAnInterruptByCode() throws {
        #expect(SQLiteError.interrupted.isInterrupt)
        #expect(!SQLiteError(code: .SQLITE_IOERR_WRITE, message: "interrupted").isInterrupt)
        #expect(SQLiteError(code: .SQLITE_BUSY_SNAPSHOT, message: "").isBusy)
        #expect(SQLiteError(code: .SQLITE_LOCKED, message: "").isBusy)
    }

    @Test func quiversRefusalsAreCasesCarriedByTheStatementsError() throws {
        let db = try Database(path: directory.file("db"))
        _ = try db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT, embedding VECTOR(3))")
        let missing = try #require(failure(of: "DEDUPE nowhere ON body EXACT", in: db))
        #expect(missing.refusal == .noSuchTable("nowhere", statement: "DEDUPE"))
        #expect(missing.message == "DEDUPE: no such table: nowhere")
        let index = try #require(failure(of: "CREATE INDEX ix ON docs USING hnsw (nope vector_cosine_ops)", in: db))
        #expect(index.refusal == .noSuchColumn(table: "docs", column: "nope"))
        // Raised inside Quiver's SQL functions (a trigger here), and still a case, not text.
        let short = try #require(failure(of: "INSERT INTO docs VALUES (1, 'a', '[1, 2]')", in: db))
        guard case .dimensionMismatch(_, let expected, let got)? = short.refusal else {
            Issue.record("not a dimension mismatch: \(short)")
            return
        }
        #expect(expected == 3 && got == 2)
        let zero = try #require(failure(of: "SELECT id FROM docs ORDER BY embedding <=> '[0, 0, 0]' LIMIT 1", in: db))
        guard case .unrankableQueryVector? = zero.refusal else {
            Issue.record("not a refused query vector: \(zero)")
            return
        }
        // SQLite's own failures carry none.
        #expect(try #require(failure(of: "SELECT nope FROM docs", in: db)).refusal == nil)
    }

    @Test func aDenialIsTheFailingStatementsAndNoLaterOnes() throws {
        let db = try Database(path: directory.file("db"))
        _ = try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        _ = try db.execute("INSERT INTO t VALUES (1)")
        let denied = try #require(failure(of: "PRAGMA foreign_keys = OFF", in: db, access: .readWrite))
        guard case .accessDenied? = denied.refusal else {
            Issue.record("not a denial: \(denied)")
            return
        }
        let duplicate = try #require(failure(of: "INSERT INTO t VALUES (1)", in: db, access: .readWrite))
        #expect(duplicate.refusal == nil && duplicate.isConstraint, "\(duplicate)")
    }

    /// Text an error shows may change; decisions must not follow it. A decision on a message's
    /// text (or an HTTP reason phrase, or a result code's low byte) anywhere in Sources fails.
    @Test func noDecisionInSourcesFollowsAnErrorsText() throws {
        #expect(
            !Self.decisionsOnText(in: "if error.message.hasPrefix(\"no such column\") { }").isEmpty,
            "the scan must see a decision on text")
        #expect(!Self.decisionsOnText(in: "guard code & 0xff == 19 else { }").isEmpty)
        #expect(Self.decisionsOnText(in: "throw SQLiteError(.noSuchTable(name))").isEmpty)

        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        #expect(files.count > 100, "read the Sources tree at \(sources.path)")
        for file in files where file != "Storage/ResultCode.swift" { // where the low byte is the primary code
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for line in Self.decisionsOnText(in: text) {
                Issue.record("Sources/\(file): a decision on an error's text: \(line)")
            }
        }
    }

    /// Lines of `text` that decide on an error's message, a reason phrase or a code's low byte.
    static func decisionsOnText(in text: String) -> [String] {
        let patterns = [
            #"message\s*\.\s*(contains|hasPrefix|hasSuffix|range|starts|firstRange)\b"#,
            #"message\s*[!=]=\s*""#,
            #"hasPrefix\("no such"#,
            #""incomplete input""#,
            #"&\s*0x[fF]{2}\s*[!=]="#,
            #"code\s*&\s*0x"#,
            #"reasonPhrase\s*[!=]="#,
            #"[!=]=\s*[\w.]*reasonPhrase"#,
            #"== SQLiteError\.\w+\.message"#,
        ].map { try! NSRegularExpression(pattern: $0) }
        return text.split(separator: "\n").map(String.init).filter { line in
            let range = NSRange(line.startIndex..., in: line)
            return patterns.contains { $0.firstMatch(in: line, range: range) != nil }
        }
    }

    private func failure(of sql: String, in db: Database, access: SQLAccess = .unrestricted) -> SQLiteError? {
        do {
            _ = try db.execute(sql, access: access)
            return nil
        } catch let error as Database.StatementError {
            return error.underlying
        } catch {
            return nil
        }
    }
}
