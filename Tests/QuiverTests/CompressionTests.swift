import Foundation
import QuiverEngine
import QuiverStorage
import Testing

@Suite struct CompressionTests {
    let directory = TemporaryDirectory()

    /// Passages of the sample shipped in the repository (Python documentation).
    static func samplePassages() throws -> [String] {
        let path = repositoryRoot + "/Tools/sample/passages.jsonl"
        let data = try #require(
            FileManager.default.contents(atPath: path), "the sample \(path) is part of the repository")
        return try data.split(separator: UInt8(ascii: "\n")).map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            return object["text"] as! String
        }
    }

    @Test func compressedTextReadsBackAsTextEverywhere() throws {
        let db = try Database(path: directory.file("db"))
        _ = try db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, lang TEXT, body TEXT COMPRESSED)")
        let english = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 8)
        let chinese = String(repeating: "数据是大语言模型的基础，质量比数量更重要。", count: 6)
        _ = try db.execute(
            "INSERT INTO docs VALUES (1, 'en', ?), (2, 'zh', ?), (3, 'en', 'short'), (4, 'en', NULL)",
            SQLBindings([.text(english), .text(chinese)]))
        // Stored compressed, read as text by SELECT, *, filters, sorting and functions.
        #expect(
            try db.rows(
                "SELECT typeof(CAST(compressed_size(body) AS TEXT)), compressed_size(body) < length(body) FROM docs WHERE id IN (1, 2)"
            )
                == [[.text("text"), .integer(1)], [.text("text"), .integer(1)]])
        #expect(
            try db.rows("SELECT body FROM docs ORDER BY id") == [
                [.text(english)], [.text(chinese)], [.text("short")], [.null],
            ])
        #expect(try db.rows("SELECT * FROM docs WHERE id = 2") == [[.integer(2), .text("zh"), .text(chinese)]])
        #expect(try db.integers("SELECT id FROM docs WHERE body LIKE '%lazy dog%'") == [1])
        #expect(try db.integers("SELECT id FROM docs WHERE body LIKE '%语言模型%'") == [2])
        #expect(try db.integers("SELECT id FROM docs WHERE instr(body, 'fox') > 0 ORDER BY body DESC") == [1])
        #expect(try db.rows("SELECT length(body) FROM docs WHERE id = 2") == [[.integer(Int64(chinese.count))]])
        #expect(try db.rows("SELECT x FROM (SELECT body AS x FROM docs WHERE id = 1)") == [[.text(english)]])
        // Updates and upserts are compressed too.
        _ = try db.execute("UPDATE docs SET body = body || ' and again' WHERE id = 1")
        #expect(try db.rows("SELECT body FROM docs WHERE id = 1") == [[.text(english + " and again")]])
        _ = try db.execute(
            "INSERT INTO docs VALUES (2, 'zh', '替换') ON CONFLICT (id) DO UPDATE SET body = excluded.body || body")
        #expect(try db.rows("SELECT body FROM docs WHERE id = 2") == [[.text("替换" + chinese)]])
    }

    @Test func realTextTakesLessSpaceOnDisk() throws {
        let passages = try Self.samplePassages()
        var sizes: [String: Int] = [:]
        for type in ["TEXT", "TEXT COMPRESSED"] {
            let path = directory.file(type.replacingOccurrences(of: " ", with: "_"))
            let db = try Database(path: path)
            _ = try db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, body \(type))")
            // Two documents' worth of passages per row: real text, in the sizes RAG chunks come in.
            let chunks = stride(from: 0, to: passages.count, by: 2).map {
                passages[$0..<min($0 + 2, passages.count)].joined(separator: "\n")
            }
            try db.executeMany("INSERT INTO docs (body) VALUES (?)", chunks.map { SQLBindings([.text($0)]) })
            _ = try db.execute("VACUUM")
            sizes[type] = try db.rows("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")[0][0]
                .integerValue.map(Int.init)
            #expect(try db.rows("SELECT body FROM docs ORDER BY id").map { $0[0] } == chunks.map { .text($0) })
        }
        let plain = try #require(sizes["TEXT"])
        let compressed = try #require(sizes["TEXT COMPRESSED"])
        print(
            "sample text on disk: TEXT \(plain) bytes, TEXT COMPRESSED \(compressed) bytes (\(100 * compressed / plain)%)"
        )
        #expect(Double(compressed) < 0.8 * Double(plain))
    }

    @Test func damagedCompressedValuesGiveAClearError() throws {
        var value = try #require(TextCompression.compress(String(repeating: "abcdefgh", count: 20)))
        value[value.count - 3] ^= 0xFF
        value.removeLast(4)
        #expect(throws: TextCompression.CorruptValue.self) { try TextCompression.decompress(value) }
        #expect(TextCompression.compress("short") == nil, "short text stays text")
    }
}
