import Foundation
import QuiverQuery
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `quiver shell` driven as a person drives it: through a pseudo-terminal (typing, editing keys,
/// history, completion, Ctrl-C, Ctrl-D), and as a script runner through pipes and `-c`.
@Suite struct ShellTests {
    static let located = ProcessRunner.locateExecutable("quiver", repositoryRoot: repositoryRoot)

    func binary() throws -> String {
        try #require(
            Self.located.path,
            """
            the quiver executable was not found; build it with `swift build --build-tests` \
            (searched: \(Self.located.searched.joined(separator: ", ")))
            """)
    }

    /// An interactive shell on `db`, with `home` as $HOME (where history lives).
    func interactive(db: String, home: String, columns: UInt16 = 100) throws -> PseudoTerminal {
        let environment = [
            "HOME": home, "TERM": "xterm-256color", "LANG": "C.UTF-8",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        let terminal = try PseudoTerminal(
            try binary(), ["shell", "--db", db], environment: environment, columns: columns)
        try terminal.expect("quiver> ")
        return terminal
    }

    func script(_ arguments: [String], stdin: String? = nil) throws -> ProcessOutcome {
        try ProcessRunner.run(try binary(), ["shell"] + arguments, stdin: stdin)
    }

    /// Display width per glibc's wcwidth in a UTF-8 locale: an oracle independent of Quiver's own.
    static func terminalWidth(_ text: String) -> Int {
        _ = setlocale(LC_CTYPE, "C.UTF-8")
        return text.unicodeScalars.reduce(0) { $0 + max(0, Int(LibC.wcwidth(Int32(bitPattern: $1.value)))) }
    }

    // MARK: - Typing and editing

    @Test func typingEditingAndMultiLineStatements() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let shell = try interactive(db: tmp.file("db"), home: tmp.path)

        // Cursor movement: the missing letter goes in the middle, a missing first word at Home.
        shell.send(
            "SELECT 'ac' AS word;" + String(repeating: PseudoTerminal.left, count: 11) + "b" + PseudoTerminal.enter)
        try shell.expect("| abc  |")
        shell.send("ELECT 40 + 2 AS answer;" + PseudoTerminal.home + "S" + PseudoTerminal.enter)
        try shell.expect("|     42 |")
        // Ctrl-A, Ctrl-E, backspace and a wide character edited around.
        shell.send(
            "SELECT '中文' AS t;" + PseudoTerminal.ctrlA + PseudoTerminal.ctrlE
                + String(repeating: PseudoTerminal.left, count: 8) + "\u{7F}x" + PseudoTerminal.enter)
        try shell.expect("| x文 |")

        // A statement over several lines runs at the `;` that ends it, not at one in a string.
        shell.send("SELECT 'a;b' AS s,\r")
        try shell.expect("...> ")
        shell.send("  -- a comment; still going\r")
        try shell.expect("...> ")
        shell.send("  7 * 6 AS n;\r")
        let out = try shell.expect("(1 row)")
        #expect(out.contains("a;b") && out.contains("42"), "\(PseudoTerminal.readable(out))")

        // Ctrl-C at the prompt clears a half-typed line (it never runs); the shell carries on.
        // (Typed while a statement still runs, Ctrl-C would cancel that instead: wait for the prompt.)
        try shell.expect("quiver> ")
        shell.send("SELECT no_such_column FROM nowhere")
        shell.send(PseudoTerminal.ctrlC)
        try shell.expect("^C")
        shell.send("SELECT 5 AS five;\r")
        let after = try shell.expect("(1 row)")
        #expect(!after.contains("Error"), "\(PseudoTerminal.readable(after))")

        shell.send(PseudoTerminal.ctrlD)
        #expect(try shell.waitForExit() == 0)
    }

    // MARK: - History

    @Test func historyRecallWithinAndAcrossSessions() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let db = tmp.file("db")
        do {
            let shell = try interactive(db: db, home: tmp.path)
            shell.send("SELECT 'first' AS w;\r")
            try shell.expect("(1 row)")
            shell.send("SELECT\r  'multi' AS w;\r")
            try shell.expect("(1 row)")
            // Up twice: the first statement again.
            shell.send(PseudoTerminal.up + PseudoTerminal.up + PseudoTerminal.enter)
            try shell.expect("| first |")
            shell.send(PseudoTerminal.ctrlD)
            #expect(try shell.waitForExit() == 0)
        }
        let saved = try String(contentsOfFile: tmp.file(".quiver_history"), encoding: .utf8)
        #expect(saved.contains("SELECT 'first' AS w;") && saved.contains("SELECT\\n  'multi' AS w;"), "\(saved)")

        // A new session recalls the last session's statements, a multi-line one whole.
        let shell = try interactive(db: db, home: tmp.path)
        shell.send(PseudoTerminal.up + PseudoTerminal.up + PseudoTerminal.enter)
        try shell.expect("| multi |")
        shell.send(PseudoTerminal.up + PseudoTerminal.down + "SELECT 'typed' AS w;\r")
        try shell.expect("| typed |")
        shell.send(PseudoTerminal.ctrlD)
        #expect(try shell.waitForExit() == 0)
    }

    // MARK: - Completion

    @Test func tabCompletesKeywordsTablesAndColumns() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let db = tmp.file("db")
        _ = try script([
            "--db", db, "-c",
            "CREATE TABLE inventory_items (id INTEGER PRIMARY KEY, quantity_on_hand INTEGER); INSERT INTO inventory_items VALUES (1, 17);",
        ])
        let shell = try interactive(db: db, home: tmp.path)
        shell.send("sel\t")
        try shell.expect("select ")
        shell.send("quantity_o\t")
        try shell.expect("quantity_on_hand ")
        shell.send("FROM inv\t")
        try shell.expect("inventory_items ")
        shell.send("WHERE inventory_items.i\t")
        try shell.expect("inventory_items.id ")
        shell.send("= 1;\r")
        let out = try shell.expect("(1 row)")
        #expect(
            out.contains("| quantity_on_hand |") && out.contains("|               17 |"),
            "\(PseudoTerminal.readable(out))")
        // Meta-commands complete at the start of a line; two tabs list the choices.
        shell.send(".ta\t")
        try shell.expect(".tables ")
        shell.send("\r")
        try shell.expect("inventory_items")
        shell.send("SELECT * FROM x;" + PseudoTerminal.ctrlU + ".e\t\t")
        let listing = try shell.expect(".exit")
        #expect(listing.contains(".explain") && listing.contains(".export"), "\(PseudoTerminal.readable(listing))")
        shell.send(PseudoTerminal.ctrlU + ".quit\r")
        #expect(try shell.waitForExit() == 0)
    }

    // MARK: - Ctrl-C and Ctrl-D

    @Test func ctrlCCancelsALongQueryAndTheShellGoesOn() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let shell = try interactive(db: tmp.file("db"), home: tmp.path)
        shell.send(
            """
            WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) SELECT count(*) FROM c;\r
            """)
        // The progress line shows the statement is under way.
        try shell.expect("Ctrl-C cancels")
        shell.send(PseudoTerminal.ctrlC)
        try shell.expect("interrupted", timeout: 10)
        try shell.expect("quiver> ")
        shell.send("SELECT 6 * 7 AS n;\r")
        try shell.expect("| 42 |")
        // A second long statement can be cancelled too (the handler stays armed).
        shell.send("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c;\r")
        try shell.expect("Ctrl-C cancels")
        shell.send(PseudoTerminal.ctrlC)
        try shell.expect("interrupted", timeout: 10)
        try shell.expect("quiver> ")
        shell.send(PseudoTerminal.ctrlD)
        #expect(try shell.waitForExit() == 0)
    }

    @Test func ctrlCCancelsAnIndexBuildShownWithItsProgress() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let db = tmp.file("db")
        let setup = try script([
            "--db", db, "-c",
            """
            CREATE TABLE t (id INTEGER PRIMARY KEY, v VECTOR(32));
            WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 6000),
                           d(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM d WHERE j < 32)
            INSERT INTO t SELECT i, (SELECT '[' || group_concat(((i * 7919 + j * 104729 + i * j * 31) % 1009) / 1009.0, ',') || ']' FROM d) FROM r;
            """,
        ])
        #expect(setup.succeeded, "\(setup)")
        let shell = try interactive(db: db, home: tmp.path)
        shell.send("CREATE INDEX t_v ON t USING hnsw (v vector_l2_ops) WITH (m = 32, ef_construction = 400);\r")
        try shell.expect("building index")
        shell.send(PseudoTerminal.ctrlC)
        try shell.expect("interrupted")
        try shell.expect("quiver> ")
        shell.send(".indexes\r")
        let indexes = try shell.expect("(0 rows)")
        #expect(!indexes.contains("t_v"), "\(PseudoTerminal.readable(indexes))")
        let files =
            (try? FileManager.default.contentsOfDirectory(atPath: (db as NSString).appendingPathComponent("indexes")))
            ?? []
        #expect(files.isEmpty, "a cancelled build leaves no file: \(files)")
        shell.send(PseudoTerminal.ctrlD)
        #expect(try shell.waitForExit() == 0)
    }

    @Test func ctrlCStopsAnImportAndKeepsNothingOfIt() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let db = tmp.file("db")
        let input = tmp.file("big.jsonl")
        // Big enough that the import is still running when the progress line appears after a second.
        var random = SeededRandom(seed: 8)
        let vectors = (0..<97).map { _ in
            (0..<16).map { _ in String(Float.random(in: -1...1, using: &random)) }.joined(separator: ", ")
        }
        var text = ""
        text.reserveCapacity(40 << 20)
        for id in 1...200_000 {
            text += "{\"id\": \(id), \"title\": \"row \(id)\", \"embedding\": [\(vectors[id % 97])]}\n"
        }
        try text.write(toFile: input, atomically: false, encoding: .utf8)
        let shell = try interactive(db: db, home: tmp.path)
        shell.send(".import \(input) docs\r")
        try shell.expect("Ctrl-C cancels")
        shell.send(PseudoTerminal.ctrlC)
        let stopped = try shell.expect("quiver> ")
        #expect(
            stopped.contains("interrupted at \(input):") && stopped.contains("nothing was loaded")
                && !stopped.contains("imported"),
            "\(PseudoTerminal.readable(stopped))")
        shell.send(".tables\rSELECT 'still here' AS s;\r")
        let after = try shell.expect("(1 row)")
        #expect(
            !after.contains("docs") && after.contains("still here"),
            "nothing of the import was kept: \(PseudoTerminal.readable(after))")
        shell.send(PseudoTerminal.ctrlD)
        #expect(try shell.waitForExit() == 0)
    }

    @Test func terminalSettingsComeBackOnExitAndOnSIGTERM() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let cooked = tcflag_t(ECHO | ICANON | ISIG)
        for ending in ["Ctrl-D", "SIGTERM"] {
            let shell = try interactive(db: tmp.file("db"), home: tmp.path)
            #expect(shell.localModes & tcflag_t(ECHO | ICANON) == 0, "raw at the prompt")
            if ending == "Ctrl-D" {
                shell.send(PseudoTerminal.ctrlD)
                #expect(try shell.waitForExit() == 0)
            } else {
                kill(shell.pid, SIGTERM)
                #expect(try shell.waitForExit() == 128 + SIGTERM)
            }
            #expect(shell.localModes & cooked == cooked, "echo and line editing are back after \(ending)")
        }
    }

    // MARK: - Output

    @Test func wideCharactersLineUpAndValuesReadWell() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let db = tmp.file("db")
        let vector = (0..<384).map { String(format: "%.3f", sin(Double($0))) }.joined(separator: ",")
        let setup = try script([
            "--db", db, "-c",
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, body TEXT, embedding VECTOR(384));
            INSERT INTO docs VALUES (1, '向量数据库', 'short', '[\(vector)]'),
                                    (2, 'mixed 中文 and English ｆｕｌｌ', NULL, NULL),
                                    (3, 'plain', '\(String(repeating: "长文本", count: 40))', NULL);
            """,
        ])
        #expect(setup.succeeded, "\(setup)")
        let shell = try interactive(db: db, home: tmp.path)
        shell.send("SELECT * FROM docs ORDER BY id;\r")
        let out = try shell.expect("(3 rows)")
        let lines = PseudoTerminal.plainLines(out).filter { $0.hasPrefix("+") || $0.hasPrefix("|") }
        #expect(lines.count == 7, "\(lines.joined(separator: "\n"))")
        let widths = Set(lines.map(Self.terminalWidth))
        #expect(
            widths.count == 1,
            "every line of the table ends at the same column: \(widths)\n\(lines.joined(separator: "\n"))")
        let text = lines.joined(separator: "\n")
        #expect(text.contains("[0.00, 0.84, … 384 dims]"), "vectors abbreviated:\n\(text)")
        #expect(
            text.contains("…") && !text.contains(String(repeating: "长文本", count: 40)), "long cells cut with an ellipsis"
        )
        #expect(out.contains("\u{1B}[2mNULL\u{1B}[22m"), "NULL drawn dim on a terminal")

        // .timer adds the time; .mode line shows one column per line.
        shell.send(".timer on\r.mode line\rSELECT title FROM docs WHERE id = 1;\r")
        let line = try shell.expect("Time: ")
        #expect(line.contains("title = 向量数据库"), "\(PseudoTerminal.readable(line))")
        shell.send(PseudoTerminal.ctrlD)
        #expect(try shell.waitForExit() == 0)
    }

    // MARK: - Errors

    @Test func errorsShowACaretUnderTheProblemAndTheShellKeepsGoing() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let shell = try interactive(db: tmp.file("db"), home: tmp.path)
        shell.send("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v VECTOR(3));\r")
        shell.send("SELECT '名前' AS n, * FORM t;\r")
        let syntax = PseudoTerminal.plainLines(try shell.expect("^"))
        let statementLine = try #require(syntax.first { $0.hasPrefix("LINE 1: ") }, "\(syntax)")
        let caretLine = try #require(syntax.last)
        let formColumn = Self.terminalWidth(String(statementLine[..<statementLine.range(of: "FORM")!.lowerBound]))
        #expect(Self.terminalWidth(caretLine) - 1 == formColumn, "caret under FORM:\n\(statementLine)\n\(caretLine)")
        #expect(syntax.contains { $0.contains("Error: near \"FORM\": syntax error") }, "\(syntax)")

        // The vector parser's position: the bad element of the literal, after a rewritten operator.
        shell.send("SELECT id FROM t ORDER BY v <-> '[1, 2, zz]' LIMIT 1;\r")
        let vector = PseudoTerminal.plainLines(try shell.expect("^"))
        let vectorLine = try #require(vector.first { $0.hasPrefix("LINE 1: ") }, "\(vector)")
        let zzColumn = Self.terminalWidth(String(vectorLine[..<vectorLine.range(of: "zz")!.lowerBound]))
        #expect(Self.terminalWidth(try #require(vector.last)) - 1 == zzColumn, "\(vector.joined(separator: "\n"))")

        // Still working.
        shell.send("INSERT INTO t VALUES (1, 'ok', '[1,2,3]');\rSELECT count(*) AS n FROM t;\r")
        try shell.expect("| 1 |")
        shell.send(PseudoTerminal.ctrlD)
        #expect(try shell.waitForExit() == 0)
    }

    @Test func aLineWiderThanTheTerminalIsShownAsAWindowAroundTheError() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let shell = try interactive(db: tmp.file("db"), home: tmp.path, columns: 60)
        let columns = (1...12).map { "'第\($0)列' AS c\($0)" }.joined(separator: ", ")
        shell.send("SELECT \(columns) FORM nowhere WHERE 1 = 1 AND 2 = 2 AND 3 = 3;\r")
        let lines = PseudoTerminal.plainLines(try shell.expect("^"))
        let statementLine = try #require(lines.first { $0.hasPrefix("LINE 1: ") }, "\(lines)")
        let caretLine = try #require(lines.last)
        #expect(Self.terminalWidth(statementLine) < 60, "fits the terminal: \(statementLine)")
        #expect(statementLine.contains("…"), "cut ends are marked: \(statementLine)")
        let form = try #require(statementLine.range(of: "FORM"), "\(statementLine)")
        let formColumn = Self.terminalWidth(String(statementLine[..<form.lowerBound]))
        #expect(Self.terminalWidth(caretLine) - 1 == formColumn, "caret under FORM:\n\(statementLine)\n\(caretLine)")
        shell.send(PseudoTerminal.ctrlD)
        #expect(try shell.waitForExit() == 0)
    }

    // MARK: - Scripts

    @Test func scriptsRunWithoutChromeAndReportFailureInTheExitStatus() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let db = tmp.file("db")
        let good = try script(
            ["--db", db],
            stdin: """
                CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
                INSERT INTO t VALUES (1, 'one'),
                                     (2, 'two');
                .mode csv
                SELECT * FROM t ORDER BY id;
                """)
        #expect(good.succeeded, "\(good)")
        #expect(
            good.stdout == "id,name\r\n1,one\r\n2,two\r\n",
            "no prompt, banner or colour: \(good.stdout.debugDescription)")
        #expect(good.stderr.isEmpty, "\(good)")
        #expect(!FileManager.default.fileExists(atPath: tmp.file(".quiver_history")))

        // An error: reported with its line in the script, later statements still run, exit 1.
        let bad = try script(["--db", db], stdin: "SELECT 1 AS a;\n\nSELECT * FROM t WHERE;\nSELECT 2 AS b;\n")
        #expect(bad.status == 1, "\(bad)")
        #expect(bad.stderr.contains("LINE 3: SELECT * FROM t WHERE;"), "\(bad.stderr)")
        #expect(bad.stdout.contains("| 1 |") && bad.stdout.contains("| 2 |"), "\(bad)")
        #expect(!bad.stderr.contains("\u{1B}"), "no colour in scripts")

        let bail = try script(["--db", db, "--bail"], stdin: "SELECT * FROM nope;\nSELECT 2 AS b;\n")
        #expect(bail.status == 1 && !bail.stdout.contains("| 2 |"), "\(bail)")

        // -c, with a last statement lacking its semicolon.
        let command = try script(["--db", db, "-c", ".mode jsonl\nSELECT name FROM t WHERE id = 2"])
        #expect(command.succeeded && command.stdout == "{\"name\":\"two\"}\n", "\(command)")
        #expect(try script(["--db", db, "-c", "SELECT nope FROM t;"]).status == 1)
        #expect(try script(["--db", db, "-c", ".mode xml"]).status == 1)
        let settings = try script(["--db", db, "-c", ".mode line\n.timer on\n.mode\n.timer\n.explain"])
        #expect(settings.succeeded && settings.stdout == "mode line\ntimer on\nexplain off\n", "\(settings)")
    }

    /// A checkpoint that cannot be written (a directory squats on its temporary name) fails no
    /// statement: the shell warns once, the rows are there, and the index still finds them.
    @Test func aFailingIndexCheckpointIsAWarningOnceAndLosesNothing() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let db = tmp.file("db")
        let setup = try script([
            "--db", db, "-c",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, emb VECTOR(2)); CREATE INDEX t_emb ON t USING hnsw (emb vector_l2_ops);",
        ])
        #expect(setup.succeeded, "\(setup)")
        let indexFile = try #require(
            try FileManager.default.contentsOfDirectory(atPath: db + "/indexes").first { $0.hasSuffix(".hnsw") })
        try FileManager.default.createDirectory(
            atPath: "\(db)/indexes/\(indexFile).tmp", withIntermediateDirectories: false)
        // 10,500 changes make a checkpoint due; each later statement fails it again, told once.
        let insert =
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10500) INSERT INTO t SELECT x, '[' || (x % 97) || ', ' || (x % 89) || ']' FROM c;"
        let run = try script(
            ["--db", db],
            stdin: insert + "\nINSERT INTO t VALUES (20000, '[1000, 1000]');\nSELECT count(*) AS n FROM t;\n")
        #expect(run.succeeded, "\(run)")
        #expect(run.stdout.contains("10501"), "\(run)")
        #expect(
            run.stderr.components(separatedBy: "warning: the index checkpoint after this commit failed").count == 2,
            "\(run.stderr)")
        #expect(run.stderr.contains("\(indexFile).tmp"), "the warning names the file: \(run.stderr)")
        try FileManager.default.removeItem(atPath: "\(db)/indexes/\(indexFile).tmp")
        let after = try script([
            "--db", db, "-c", ".mode csv\nSELECT id FROM t ORDER BY emb <-> '[1000, 1000]' LIMIT 1;",
        ])
        #expect(after.succeeded && after.stdout == "id\r\n20000\r\n" && after.stderr.isEmpty, "\(after)")
    }

    @Test func metaCommands() throws {
        let tmp = TemporaryDirectory("quiver-shell")
        let db = tmp.file("db")
        let csv = tmp.file("in.csv")
        try "id,title,embedding\n1,\"Hello, world\",\"[1,0,0]\"\n2,你好,\"[0,1,0]\"\n3,,\n".write(
            toFile: csv, atomically: true, encoding: .utf8)
        let jsonl = tmp.file("more.jsonl")
        let out = try script([
            "--db", db, "-c",
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, embedding VECTOR(3));
            CREATE INDEX docs_embedding ON docs USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32);
            .import \(csv) docs
            .export docs \(jsonl)
            .import \(jsonl) copy
            .tables
            .schema docs
            .indexes
            .mode json
            SELECT count(*) AS n FROM copy WHERE title IS NOT NULL;
            """,
        ])
        #expect(out.succeeded, "\(out)")
        #expect(out.stdout.contains("copy\ndocs\n"), "\(out.stdout)")
        #expect(out.stdout.contains("CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, embedding VECTOR(3));"))
        #expect(
            out.stdout.contains(
                "CREATE INDEX docs_embedding ON docs USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32);"
            ),
            "\(out.stdout)")
        #expect(
            out.stdout.contains("| docs_embedding | docs  | hnsw | embedding l2, m=8, ef_construction=32 |"),
            "\(out.stdout)")
        #expect(out.stdout.contains("[\n{\"n\":2}\n]"), "\(out.stdout)")
        let exported = try String(contentsOfFile: jsonl, encoding: .utf8)
        #expect(
            exported.contains("\"title\":\"Hello, world\"") && exported.contains("\"embedding\":[1,0,0]")
                || exported.contains("\"embedding\":[1.0,0.0,0.0]"),
            "\(exported)")

        // .explain on: the planner's plan before a nearest-neighbour query's rows, SQLite's for others.
        let explained = try script([
            "--db", db, "-c",
            """
            .explain on
            SELECT id FROM docs ORDER BY embedding <-> '[1, 0, 0]' LIMIT 1;
            SELECT count(*) AS n FROM docs WHERE id > 1;
            """,
        ])
        #expect(explained.succeeded, "\(explained)")
        #expect(
            explained.stdout.contains("| strategy  | hnsw index")
                && explained.stdout.contains("docs_embedding (hnsw, m=8, ef_construction=32)"),
            "\(explained.stdout)")
        #expect(
            explained.stdout.contains("QUERY PLAN\n`--SEARCH docs USING INTEGER PRIMARY KEY (rowid>?)"),
            "\(explained.stdout)")

        // A bad row stops the import, names its line, and leaves the table as it was.
        try "id,title,embedding\n10,ok,\"[1,1,1]\"\n11,bad,\"[1,1]\"\n".write(
            toFile: csv, atomically: true, encoding: .utf8)
        let failed = try script(["--db", db, "-c", ".import \(csv) docs\nSELECT count(*) AS n FROM docs;"])
        #expect(
            failed.status == 1 && failed.stderr.contains("in.csv:3: ")
                && failed.stderr.contains("expected 3 dimensions"), "\(failed)")
        #expect(failed.stdout.contains("| 3 |"), "nothing of the failed import was kept: \(failed.stdout)")

        // .read runs a file; .output sends results to a file and back.
        let script = tmp.file("s.sql")
        let results = tmp.file("out.txt")
        try ".output \(results)\nSELECT title FROM docs WHERE id = 1;\n.output\n".write(
            toFile: script, atomically: true, encoding: .utf8)
        let read = try self.script(["--db", db, "-c", ".read \(script)\nSELECT 'screen' AS s;"])
        #expect(read.succeeded && read.stdout.contains("screen") && !read.stdout.contains("Hello"), "\(read)")
        #expect(try String(contentsOfFile: results, encoding: .utf8).contains("Hello, world"))
    }
}

/// When interactive input is a whole statement: the shell runs it at that point.
@Suite struct StatementCompletenessTests {
    @Test func aStatementEndsAtATopLevelSemicolon() {
        let complete = [
            "SELECT 1;", "SELECT 1;  ", "SELECT 1; -- done", "SELECT 1; /* done */", "SELECT 'a;b';",
            "SELECT\n  1\n;", "SELECT (1);", "SELECT 1; SELECT 2;",
            "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; SELECT 2; END;",
        ]
        let incomplete = [
            "", "SELECT 1", "SELECT 'a;", "SELECT \"a;", "SELECT 1 -- ;", "SELECT 1 /* ; */", "SELECT 1; /* open",
            "SELECT (1;", "SELECT 1; SELECT 2", "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1;",
            "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT CASE WHEN 1 THEN 2 END; SELECT 2;",
        ]
        for sql in complete { #expect(StatementSplitter.isComplete(sql), "\(sql.debugDescription) is complete") }
        for sql in incomplete { #expect(!StatementSplitter.isComplete(sql), "\(sql.debugDescription) is not complete") }
    }
}
