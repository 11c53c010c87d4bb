import ArgumentParser
import Foundation
import QuiverEngine
import QuiverFormats
import QuiverStorage

/// The quick start's main job: load a small real sample (Python documentation passages with
/// MiniLM embeddings) into the embedded database and run nearest-neighbour queries over it.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Load the sample passages into a demo table and run nearest-neighbour queries.")

    @OptionGroup var database: DatabaseOption

    @Option(help: "Folder with passages.jsonl, passages.f16.npy, questions.jsonl, questions.f32.npy.")
    var sample: String = "Tools/sample"

    func run() throws {
        // Check the sample before creating anything, so a wrong directory leaves no database behind.
        guard FileManager.default.fileExists(atPath: "\(sample)/passages.jsonl") else {
            throw SampleError("cannot read \(sample)/passages.jsonl; run from the repository root or pass --sample DIR")
        }
        let db = try Database(path: database.path)
        try load(into: db)

        let stats = try db.execute(
            """
            SELECT count(*) AS passages, count(DISTINCT doc) AS documents,
                   sum(length(CAST(body AS BLOB))) AS text_bytes,
                   sum(compressed_size(body)) AS stored_bytes
            FROM passages
            """)
        print("Database \(database.path): table passages (body TEXT COMPRESSED, embedding VECTOR(384))")
        show(stats)

        let questions = try db.execute("SELECT id, text FROM questions ORDER BY id LIMIT 3")
        for row in questions.first?.rows ?? [] {
            guard case .integer(let id) = row[0], case .text(let text) = row[1] else { continue }
            print("\nNearest passages to question \(id): \"\(text.prefix(100))…\"")
            let sql = """
                SELECT id, doc, substr(body, 1, 70) AS passage,
                       round(embedding <=> (SELECT embedding FROM questions WHERE id = ?), 4) AS distance
                FROM passages
                ORDER BY embedding <=> (SELECT embedding FROM questions WHERE id = ?)
                LIMIT 3
                """
            show(try db.execute(sql, SQLBindings([.integer(id), .integer(id)])))
        }

        print("\nThe same search, filtered with SQL (only the tutorial pages):")
        show(
            try db.execute(
                """
                SELECT id, doc, round(embedding <=> (SELECT embedding FROM questions WHERE id = 1), 4) AS distance
                FROM passages WHERE doc LIKE 'tutorial/%'
                ORDER BY embedding <=> (SELECT embedding FROM questions WHERE id = 1) LIMIT 3
                """))
        print(
            "\nTry: quiver sql --db \(database.path) \"SELECT doc, count(*) FROM passages GROUP BY doc ORDER BY 2 DESC LIMIT 5\""
        )
    }

    private func show(_ results: [ResultSet]) {
        print(ResultRenderer.render(results, as: .table), terminator: "")
    }

    private func load(into db: Database) throws {
        let existing = try db.execute("SELECT count(*) FROM sqlite_schema WHERE name IN ('passages', 'questions')")
        if existing.first?.rows.first?.first == .integer(2) { return }
        let passages = try readJSONLines(path: "\(sample)/passages.jsonl")
        let passageVectors = try NumPy.readFloatMatrix(path: "\(sample)/passages.f16.npy")
        let questions = try readJSONLines(path: "\(sample)/questions.jsonl")
        let questionVectors = try NumPy.readFloatMatrix(path: "\(sample)/questions.f32.npy")
        guard passageVectors.rows == passages.count, questionVectors.rows == questions.count else {
            throw SampleError("the sample in \(sample) is inconsistent: vectors and rows differ in number")
        }
        try db.transaction(.immediate) {
            _ = try db.execute(
                """
                CREATE TABLE passages (id INTEGER PRIMARY KEY, doc TEXT NOT NULL, section INTEGER, lang TEXT,
                                       position INTEGER, body TEXT COMPRESSED, embedding VECTOR(384));
                CREATE TABLE questions (id INTEGER PRIMARY KEY, text TEXT, embedding VECTOR(384));
                CREATE INDEX passages_doc ON passages (doc);
                """)
            try db.executeMany(
                "INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?)",
                passages.enumerated().map { i, row in
                    SQLBindings([
                        value(row["id"]), value(row["doc"]), value(row["section"]), value(row["lang"]),
                        value(row["position"]), value(row["text"]), .vector(Array(passageVectors[row: i])),
                    ])
                })
            try db.executeMany(
                "INSERT INTO questions VALUES (?, ?, ?)",
                questions.enumerated().map { i, row in
                    SQLBindings([value(row["id"]), value(row["text"]), .vector(Array(questionVectors[row: i]))])
                })
        }
    }

    private func readJSONLines(path: String) throws -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SampleError("cannot read \(path); run from the repository root or pass --sample DIR")
        }
        return try data.split(separator: UInt8(ascii: "\n")).enumerated().map { line, bytes in
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw SampleError("\(path):\(line + 1): not a JSON object")
            }
            return object
        }
    }

    private func value(_ any: Any?) -> SQLValue {
        switch any {
        case let n as NSNumber where n.doubleValue == n.doubleValue.rounded(): .integer(n.int64Value)
        case let n as NSNumber: .real(n.doubleValue)
        case let s as String: .text(s)
        default: .null
        }
    }
}

/// A problem with the sample files (not with the command line, so no usage text).
struct SampleError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
