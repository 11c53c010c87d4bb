import Foundation
import QuiverFormats
import QuiverKernels
import Testing

/// End-to-end tests of the `quiver` executable: each runs the built binary as a child process
/// against its own temporary database directory and checks exit status, stdout and stderr.
@Suite struct CLITests {
    static let located = ProcessRunner.locateExecutable("quiver", repositoryRoot: repositoryRoot)

    /// Runs `quiver ARGS`, failing the test clearly when the executable has not been built.
    func quiver(_ arguments: [String], stdin: String? = nil) throws -> ProcessOutcome {
        let binary = try #require(
            Self.located.path,
            """
            the quiver executable was not found; build it with `swift build --build-tests` \
            (searched: \(Self.located.searched.joined(separator: ", ")))
            """)
        return try ProcessRunner.run(binary, arguments, stdin: stdin)
    }

    /// `quiver sql --db DB [--format F] SQL`, expected to succeed.
    @discardableResult
    func sql(
        _ db: String, _ statements: String, format: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String {
        let outcome = try quiver(["sql", "--db", db] + (format.map { ["--format", $0] } ?? []) + [statements])
        #expect(
            outcome.succeeded, "quiver sql \(statements.prefix(200)) failed: \(outcome)", sourceLocation: sourceLocation
        )
        return outcome.stdout
    }

    /// The rows of a single SELECT, via `--format json`.
    func jsonRows(_ db: String, _ select: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String:
        Any]]
    {
        let out = try sql(db, select, format: "json", sourceLocation: sourceLocation)
        let parsed = try JSONSerialization.jsonObject(with: Data(out.utf8))
        return try #require(
            parsed as? [[String: Any]], "not a JSON array of objects: \(out)", sourceLocation: sourceLocation)
    }

    func ids(_ db: String, _ select: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Int] {
        try jsonRows(db, select, sourceLocation: sourceLocation).map { ($0["id"] as? NSNumber)?.intValue ?? -999 }
    }

    static func numbers(_ any: Any?) -> [Double]? {
        (any as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue }
    }

    // MARK: - 1. quiver sql and its output formats

    @Test func sqlCreatesTheDatabaseAndPrintsEveryFormat() throws {
        let tmp = TemporaryDirectory("quiver-cli")
        let db = tmp.file("nested/db")
        #expect(!FileManager.default.fileExists(atPath: db))

        let created = try quiver([
            "sql", "--db", db,
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, embedding VECTOR(3));
            INSERT INTO docs VALUES (1, 'alpha', '[1, 2, 3]'), (2, 'beta, "quoted"', '[0.5,-1,0.25]'), (3, NULL, NULL);
            """,
        ])
        #expect(created.succeeded, "\(created)")
        #expect(created.stdout.isEmpty, "statements without rows print nothing in table format")
        var isDirectory: ObjCBool = false
        #expect(
            FileManager.default.fileExists(atPath: db, isDirectory: &isDirectory) && isDirectory.boolValue,
            "the database directory is created on first use")

        let select = "SELECT id, title, embedding FROM docs ORDER BY id"

        // table: bordered, aligned, with a row-count footer.
        let table = try sql(db, select)
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.last == "", "output ends with a newline")
        let body = lines.dropLast()
        #expect(body.last == "(3 rows)", "\(table)")
        let tableLines = body.dropLast()
        #expect(tableLines.count == 7, "border, header, border, 3 rows, border:\n\(table)")
        if tableLines.count == 7 {
            let border = tableLines[0]
            #expect(border.hasPrefix("+-") && border.hasSuffix("-+") && border.allSatisfy { $0 == "+" || $0 == "-" })
            #expect(tableLines[2] == border && tableLines[6] == border)
            #expect(tableLines.allSatisfy { $0.count == border.count }, "every line of the table is as wide:\n\(table)")
            let header = tableLines[1].split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(header == ["id", "title", "embedding"], "\(tableLines[1])")
            #expect(
                tableLines[3].hasPrefix("|") && tableLines[3].contains("alpha")
                    && tableLines[3].contains("[1.0, 2.0, 3.0]"),
                "\(tableLines[3])")
            #expect(tableLines[4].contains("beta, \"quoted\""))
            #expect(tableLines[5].contains("NULL"))
        }
        #expect(try sql(db, "SELECT id FROM docs WHERE id = 1").hasSuffix("(1 row)\n"))

        // json: one array of row objects, keys in column order; vectors as arrays of numbers.
        let json = try sql(db, select, format: "json")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]], "\(json)")
        #expect(rows.count == 3)
        if rows.count == 3 {
            #expect((rows[0]["id"] as? NSNumber)?.intValue == 1)
            #expect(rows[0]["title"] as? String == "alpha")
            #expect(Self.numbers(rows[0]["embedding"]) == [1, 2, 3])
            #expect(rows[1]["title"] as? String == "beta, \"quoted\"")
            #expect(Self.numbers(rows[1]["embedding"]) == [0.5, -1, 0.25])
            #expect(rows[2]["title"] is NSNull && rows[2]["embedding"] is NSNull)
        }
        if let idRange = json.range(of: "\"id\""), let titleRange = json.range(of: "\"title\""),
            let embeddingRange = json.range(of: "\"embedding\"")
        {
            #expect(
                idRange.lowerBound < titleRange.lowerBound && titleRange.lowerBound < embeddingRange.lowerBound,
                "keys keep the column order")
        }

        // json with two SELECTs: an array of two arrays.
        let twoJSON = try sql(
            db, "SELECT id FROM docs WHERE id <= 2 ORDER BY id; SELECT count(*) AS n, max(id) AS top FROM docs",
            format: "json")
        let two = try #require(
            try JSONSerialization.jsonObject(with: Data(twoJSON.utf8)) as? [[[String: Any]]], "\(twoJSON)")
        #expect(two.count == 2)
        if two.count == 2 {
            #expect(two[0].map { ($0["id"] as? NSNumber)?.intValue } == [1, 2])
            #expect(
                two[1].count == 1 && (two[1].first?["n"] as? NSNumber)?.intValue == 3
                    && (two[1].first?["top"] as? NSNumber)?.intValue == 3)
        }
        // A SELECT with no rows is an empty array.
        #expect(
            try JSONSerialization.jsonObject(
                with: Data(try sql(db, "SELECT id FROM docs WHERE id > 99", format: "json").utf8))
                as? [Any] != nil)

        // jsonl: one object per line, rows of every SELECT in order.
        let jsonl = try sql(db, "\(select); SELECT 'x' AS tag", format: "jsonl")
        let objects = try jsonl.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "line \($0)")
        }
        #expect(objects.count == 4, "\(jsonl)")
        #expect(objects.map { ($0["id"] as? NSNumber)?.intValue } == [1, 2, 3, nil])
        #expect(Self.numbers(objects.first?["embedding"]) == [1, 2, 3])
        #expect(objects.last?["tag"] as? String == "x")
        #expect(jsonl.hasSuffix("}\n"))

        // csv: a header, then one line per row (RFC 4180: CRLF, quotes only where needed).
        let csv = try sql(db, select, format: "csv")
        let csvLines = csv.components(separatedBy: "\r\n")
        #expect(
            Array(csvLines.prefix(4)) == [
                "id,title,embedding", "1,alpha,\"[1.0,2.0,3.0]\"",
                "2,\"beta, \"\"quoted\"\"\",\"[0.5,-1.0,0.25]\"", "3,,",
            ], "\(csv)")
        // The last record ends with one CRLF and nothing follows it (a stray "\n" after it
        // would read as an extra, empty record).
        #expect(
            csvLines.count == 5 && csvLines.last == "",
            "CSV output must end with exactly one CRLF: \(csv.debugDescription)")

        // Statements from standard input when no argument is given.
        let piped = try quiver(
            ["sql", "--db", db, "--format", "jsonl"],
            stdin: "INSERT INTO docs VALUES (4, 'delta', '[4,4,4]');\nSELECT count(*) AS n FROM docs;\n")
        #expect(piped.succeeded, "\(piped)")
        #expect(piped.stdout == "{\"n\":4}\n", "\(piped)")
        #expect(try ids(db, "SELECT id FROM docs ORDER BY id") == [1, 2, 3, 4])
    }

    // MARK: - 2. All or nothing

    @Test func scriptsAreAllOrNothing() throws {
        let tmp = TemporaryDirectory("quiver-cli")
        let db = tmp.file("db")
        try sql(
            db,
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, embedding VECTOR(3)); INSERT INTO docs VALUES (1, '[1,2,3]')")

        let failed = try quiver([
            "sql", "--db", db, "INSERT INTO docs VALUES (2, '[4,5,6]'); INSERT INTO docs VALUES (3, '[1,2]')",
        ])
        #expect(failed.status != 0, "\(failed)")
        #expect(failed.stdout.isEmpty)
        for part in ["docs.embedding", "row id=3", "expected 3 dimensions"] {
            #expect(failed.stderr.contains(part), "stderr should mention \(part): \(failed.stderr)")
        }
        #expect(
            try ids(db, "SELECT id FROM docs ORDER BY id") == [1], "the first INSERT of a failed script is not kept")

        // A script that manages its own transaction runs as written.
        try sql(db, "BEGIN; INSERT INTO docs VALUES (4, '[0,0,1]'); INSERT INTO docs VALUES (5, '[0,1,0]'); COMMIT;")
        #expect(try ids(db, "SELECT id FROM docs ORDER BY id") == [1, 4, 5])
        try sql(db, "BEGIN; INSERT INTO docs VALUES (6, '[1,0,0]'); ROLLBACK;")
        #expect(try ids(db, "SELECT id FROM docs ORDER BY id") == [1, 4, 5])

        // A syntax error: SQLite's message on stderr, nothing on stdout (not even earlier SELECTs).
        let syntax = try quiver(["sql", "--db", db, "SELECT id FROM docs; SELEC * FROM docs"])
        #expect(syntax.status != 0, "\(syntax)")
        #expect(syntax.stdout.isEmpty, "\(syntax)")
        #expect(syntax.stderr.contains("syntax error") && syntax.stderr.contains("SELEC"), "\(syntax.stderr)")

        let syntaxInWrite = try quiver([
            "sql", "--db", db, "INSERT INTO docs VALUES (7, '[7,7,7]'); INSERT INTO docs VALUE (8, '[8,8,8]')",
        ])
        #expect(syntaxInWrite.status != 0, "\(syntaxInWrite)")
        #expect(syntaxInWrite.stderr.contains("syntax error"), "\(syntaxInWrite.stderr)")
        #expect(try ids(db, "SELECT id FROM docs ORDER BY id") == [1, 4, 5])
    }

    // MARK: - 3. Bad vectors

    struct BadVector: CustomTestStringConvertible, Sendable {
        var literal: String
        var problem: String
        var testDescription: String { literal }
    }

    static let badVectors: [BadVector] = [
        BadVector(literal: "'[1,2]'", problem: "expected 3 dimensions"),
        BadVector(literal: "'[1,2,3,4]'", problem: "expected 3 dimensions"),
        BadVector(literal: "'[1,NaN,2]'", problem: "NaN"),
        BadVector(literal: "'[1,Inf,2]'", problem: "infinite"),
        BadVector(literal: "'[1,1e40,2]'", problem: "out of float32 range"),
        BadVector(literal: "'[1,abc,2]'", problem: "not a number"),
        BadVector(literal: "'hello'", problem: "vector literal"),
        BadVector(literal: "42", problem: "not a vector"),
        BadVector(literal: "X'0000803F00'", problem: "not a float32 vector"),
    ]

    @Test(arguments: badVectors)
    func badVectorsAreRefusedAndChangeNothing(_ bad: BadVector) throws {
        let tmp = TemporaryDirectory("quiver-cli")
        let db = tmp.file("db")
        try sql(
            db,
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, embedding VECTOR(3)); INSERT INTO docs VALUES (1, '[1,2,3]')")
        let select = "SELECT id, embedding FROM docs ORDER BY id"
        let before = try sql(db, select, format: "json")

        let statements = [
            ("INSERT INTO docs VALUES (2, \(bad.literal))", "row id=2"),
            ("UPDATE docs SET embedding = \(bad.literal) WHERE id = 1", "row id=1"),
            (
                "INSERT INTO docs VALUES (3, '[3,3,3]'); UPDATE docs SET embedding = \(bad.literal) WHERE id = 3",
                "row id=3"
            ),
        ]
        for (statement, row) in statements {
            let outcome = try quiver(["sql", "--db", db, statement])
            #expect(outcome.status != 0, "\(statement) should fail: \(outcome)")
            #expect(outcome.stdout.isEmpty)
            for part in ["docs.embedding", row, bad.problem] {
                #expect(outcome.stderr.contains(part), "\(statement): stderr should mention \(part): \(outcome.stderr)")
            }
        }
        #expect(try sql(db, select, format: "json") == before, "a refused vector changes nothing")
    }

    // MARK: - 4. Not a database

    @Test func aForeignDirectoryIsRefusedAndLeftUntouched() throws {
        let tmp = TemporaryDirectory("quiver-cli")
        let folder = tmp.file("photos")
        let files = FileManager.default
        try files.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "keep me\n".write(
            toFile: (folder as NSString).appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)

        for arguments in [
            ["sql", "--db", folder, "CREATE TABLE t (x)"], ["sql", "--db", folder, "SELECT 1"],
            ["demo", "--db", folder, "--sample", (repositoryRoot as NSString).appendingPathComponent("Tools/sample")],
        ] {
            let outcome = try quiver(arguments)
            #expect(outcome.status != 0, "\(arguments): \(outcome)")
            #expect(
                outcome.stderr.contains(folder) && outcome.stderr.contains("not a Quiver database"), "\(outcome.stderr)"
            )
            #expect(try files.contentsOfDirectory(atPath: folder) == ["notes.txt"], "the directory is left untouched")
        }
        #expect(
            try String(contentsOfFile: (folder as NSString).appendingPathComponent("notes.txt"), encoding: .utf8)
                == "keep me\n")

        // A plain file is refused too.
        let plain = (folder as NSString).appendingPathComponent("notes.txt")
        let onFile = try quiver(["sql", "--db", plain, "SELECT 1"])
        #expect(onFile.status != 0, "\(onFile)")
        #expect(onFile.stderr.contains("not a database directory"), "\(onFile.stderr)")
        #expect(try String(contentsOfFile: plain, encoding: .utf8) == "keep me\n")
    }

    // MARK: - 5. quiver search

    /// Runs one `quiver search`, checks the summary line and returns the hit keys (nq × k).
    func search(_ arguments: [String], out: String, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> NumPyMatrix<Int64>?
    {
        let outcome = try quiver(["search"] + arguments + ["--out", out])
        #expect(outcome.succeeded, "quiver search \(arguments) failed: \(outcome)", sourceLocation: sourceLocation)
        guard outcome.succeeded else { return nil }
        let line = outcome.stdout.hasSuffix("\n") ? String(outcome.stdout.dropLast()) : outcome.stdout
        #expect(
            line.wholeMatch(of: #/^qps=[0-9.]+ p50_ms=[0-9.]+ p99_ms=[0-9.]+$/#) != nil,
            "summary line: \(outcome.stdout)", sourceLocation: sourceLocation)
        return try NumPy.readInt64Matrix(path: out)
    }

    @Test func searchMatchesBruteForce() throws {
        let tmp = TemporaryDirectory("quiver-cli")
        let db = tmp.file("db")
        let dimension = 16
        let rowCount = 500
        let queryCount = 12
        let k = 5
        var random = SeededRandom(seed: 20_240_611)
        let languages = ["en", "zh", "ja"]
        var rows: [(id: Int64, lang: String, vector: [Float])] = []
        for i in 0..<rowCount {
            rows.append((Int64(7 + 3 * i), languages[Int(random.next() % 3)], random.vector(dimension)))
        }
        var script = "CREATE TABLE items (id INTEGER PRIMARY KEY, lang TEXT, embedding VECTOR(\(dimension)));\n"
        script += "INSERT INTO items VALUES\n"
        script +=
            rows.map { "(\($0.id), '\($0.lang)', '\(vectorLiteral($0.vector))')" }.joined(separator: ",\n") + ";\n"
        let load = try quiver(["sql", "--db", db], stdin: script)
        try #require(load.succeeded, "loading failed: \(load)")

        let queries = (0..<queryCount).flatMap { _ in random.vector(dimension) }
        let queryPath = tmp.file("queries.npy")
        try NumPy.writeFloatMatrix(path: queryPath, rows: queryCount, columns: dimension, values: queries)

        func expected(
            _ queries: [Float], metric: DistanceMetric, where keep: (String, Int64) -> Bool = { _, _ in true }
        ) -> [Int64] {
            let candidates = rows.filter { keep($0.lang, $0.id) }.map { (id: $0.id, vector: $0.vector) }
            return (0..<(queries.count / dimension)).flatMap { q in
                let query = Array(queries[(q * dimension)..<((q + 1) * dimension)])
                let hits = bruteForce(candidates, query: query, metric: metric, k: k).map(\.id)
                return hits + Array(repeating: -1, count: k - hits.count)
            }
        }
        func check(
            _ arguments: [String], queries: [Float] = queries, queryFile: String = queryPath,
            metric: DistanceMetric, where keep: @escaping (String, Int64) -> Bool = { _, _ in true },
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let out = tmp.file("result-\(UUID().uuidString).npy")
            let base = ["--db", db, "--table", "items", "--column", "embedding", "--queries", queryFile, "--k", "\(k)"]
            guard let result = try search(base + arguments, out: out, sourceLocation: sourceLocation) else { return }
            #expect(result.rows == queries.count / dimension && result.columns == k, sourceLocation: sourceLocation)
            let want = expected(queries, metric: metric, where: keep)
            #expect(
                result.values == want, "search \(arguments) differs from brute force", sourceLocation: sourceLocation)
        }

        try check([], metric: .cosine)
        try check(["--where", "lang = 'zh'"], metric: .cosine) { lang, _ in lang == "zh" }
        try check(["--metric", "l2", "--threads", "2"], metric: .l2)
        try check(["--metric", "l2", "--where", "lang = 'zh'", "--threads", "2"], metric: .l2) { lang, _ in lang == "zh"
        }
        try check(["--metric", "ip"], metric: .innerProduct)
        try check(["--metric", "cosine", "--exact", "--threads", "3"], metric: .cosine)
        // Fewer matching rows than k: the rest of each row is -1.
        try check(["--where", "id <= 13"], metric: .cosine) { _, id in id <= 13 }
        try check(["--where", "lang = 'xx'"], metric: .l2) { lang, _ in lang == "xx" }

        // float16 queries, written by numpy; the oracle uses the widened values quiver reads.
        let half = tmp.file("queries.f16.npy")
        let python = try? ProcessRunner.run(
            "/usr/bin/env",
            [
                "python3", "-c",
                "import sys, numpy; numpy.save(sys.argv[2], numpy.load(sys.argv[1]).astype(numpy.float16))", queryPath,
                half,
            ])
        if let python, python.succeeded {
            let widened = try NumPy.readFloatMatrix(path: half)
            #expect(widened.rows == queryCount && widened.columns == dimension)
            #expect(widened.values != queries, "float16 rounding should change some values")
            try check([], queries: widened.values, queryFile: half, metric: .cosine)
            try check(
                ["--metric", "l2", "--where", "lang = 'ja'"], queries: widened.values, queryFile: half, metric: .l2
            ) { lang, _ in
                lang == "ja"
            }
        } else {
            print(
                "CLITests: skipping float16 queries: python3 with numpy is not available (\(python.map { "\($0)" } ?? "cannot run python3"))"
            )
        }

        // Bad arguments: non-zero exit, a clear message, no output file.
        let wrongDimension = tmp.file("eight.npy")
        try NumPy.writeFloatMatrix(path: wrongDimension, rows: 2, columns: 8, values: Array(repeating: 0.5, count: 16))
        let missingFile = tmp.file("no-such-queries.npy")
        let base = ["search", "--db", db, "--table", "items", "--column", "embedding"]
        let badCases: [(arguments: [String], message: [String])] = [
            (base + ["--queries", queryPath, "--k", "0"], ["--k", "at least 1"]),
            (base + ["--queries", queryPath, "--k=-3"], ["--k", "at least 1"]),
            (base + ["--queries", queryPath, "--metric", "manhattan"], ["--metric", "manhattan"]),
            (base + ["--queries", queryPath, "--threads", "0"], ["--threads"]),
            (["search", "--db", db, "--table", "nosuch", "--column", "embedding", "--queries", queryPath], ["nosuch"]),
            (["search", "--db", db, "--table", "items", "--column", "nosuch", "--queries", queryPath], ["nosuch"]),
            (["search", "--db", db, "--table", "items", "--column", "lang", "--queries", queryPath], ["lang"]),
            (base + ["--queries", wrongDimension], ["8 dimensions", "VECTOR(16)"]),
            (base + ["--queries", missingFile], [missingFile, "no such file"]),
            (base + ["--queries", queryPath, "--where", "no_such_column = 1"], ["no_such_column"]),
        ]
        for bad in badCases {
            let out = tmp.file("bad-\(UUID().uuidString).npy")
            let outcome = try quiver(bad.arguments + ["--out", out])
            #expect(outcome.status != 0, "\(bad.arguments) should fail: \(outcome)")
            #expect(!outcome.stdout.contains("qps="), "\(bad.arguments): \(outcome)")
            for part in bad.message {
                #expect(
                    outcome.stderr.contains(part), "\(bad.arguments): stderr should mention \(part): \(outcome.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: out), "\(bad.arguments) wrote \(out)")
        }
    }

    // MARK: - 6. quiver demo

    @Test func demoLoadsTheSampleAndFindsTheExpectedPassages() throws {
        let tmp = TemporaryDirectory("quiver-cli")
        let db = tmp.file("demo-db")
        let sample = (repositoryRoot as NSString).appendingPathComponent("Tools/sample")

        for run in 1...2 {
            let demo = try quiver(["demo", "--db", db, "--sample", sample])
            #expect(demo.succeeded, "demo run \(run): \(demo)")
            #expect(
                demo.stdout.contains("+-") && demo.stdout.contains("| passages") && demo.stdout.contains("(1 row)")
                    && demo.stdout.contains("(3 rows)"), "demo run \(run) prints tables:\n\(demo.stdout)")
        }

        let counts = try jsonRows(
            db, "SELECT (SELECT count(*) FROM passages) AS passages, (SELECT count(*) FROM questions) AS questions")
        #expect((counts.first?["passages"] as? NSNumber)?.intValue == 1000, "\(counts)")

        let oracleData = try Data(
            contentsOf: URL(fileURLWithPath: (sample as NSString).appendingPathComponent("expected_top5.json")))
        let oracle = try #require(try JSONSerialization.jsonObject(with: oracleData) as? [String: Any])
        let results = try #require(oracle["results"] as? [[String: Any]])
        #expect(results.count == 8)
        #expect((counts.first?["questions"] as? NSNumber)?.intValue == results.count, "\(counts)")
        let expected: [(question: Int, top5: [Int])] = results.map { result in
            (
                (result["id"] as? NSNumber)?.intValue ?? -1,
                ((result["top5"] as? [[String: Any]]) ?? []).map { ($0["id"] as? NSNumber)?.intValue ?? -1 }
            )
        }
        // All eight searches in one call: a JSON array of eight arrays.
        let script = expected.map {
            "SELECT id FROM passages ORDER BY embedding <=> (SELECT embedding FROM questions WHERE id = \($0.question)) LIMIT 5"
        }.joined(separator: ";\n")
        let out = try sql(db, script, format: "json")
        let answers = try #require(
            try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[[String: Any]]], "\(out)")
        #expect(answers.count == expected.count)
        for (answer, want) in zip(answers, expected) {
            let got = answer.map { ($0["id"] as? NSNumber)?.intValue ?? -999 }
            #expect(got == want.top5, "question \(want.question): got \(got), expected \(want.top5)")
        }
    }
}
