import Foundation
import QuiverEngine
import QuiverStorage
import QuiverText
import Testing

/// The terms full-text search indexes and the queries it runs, checked through SQLite's FTS5
/// with the `quiver` tokenizer against oracles: every substring of Chinese text of 1–4
/// characters is found in exactly the rows that contain it, English words in exactly the rows
/// that hold them as words, after NFKC and case folding.
@Suite struct FullTextTokenizerTests {
    let tokenizer = FullTextTokenizer()

    private func terms(_ text: String, _ mode: FullTextTokenizer.Mode = .document) -> String {
        tokenizer.terms(of: text, mode: mode).map { ($0.colocated ? "+" : "") + $0.term }.joined(separator: " ")
    }

    @Test func chineseRunsBecomeBigramsAndTheirLastCharacter() {
        #expect(terms("钢铁价格下跌，语料") == "钢铁 铁价 价格 格下 下跌 +跌 语料 +料")
        #expect(terms("钢铁价格下跌，语料", .query) == "钢铁 铁价 价格 格下 下跌 语料")
        #expect(terms("月") == "月")
        #expect(terms("x月亮y") == "x 月亮 +亮 y")
        #expect(terms("한국어 テスト") == "한국 국어 +어 テス スト +ト")
    }

    @Test func wordsAreFoldedAfterCompatibilityNormalization() {
        #expect(terms("Hello ＷＯＲＬＤ, Straße!") == "hello world strasse")
        #expect(terms("ｶﾞｷﾞ") == "ガギ +ギ", "half-width kana with their sound marks compose")
        #expect(terms("e\u{301}te") == terms("\u{E9}te"), "decomposed and precomposed forms are one term")
        #expect(terms("①②") == "1 2" || terms("①②") == "12")
        #expect(terms("don't stop—now") == "don t stop now")
    }

    @Test func invalidBytesSeparateTerms() {
        let bytes: [UInt8] = Array("ab".utf8) + [0xFF, 0xC0, 0x80] + Array("cd".utf8)
        var found: [String] = []
        bytes.withUnsafeBufferPointer { buffer in
            tokenizer.tokenize(buffer, mode: .document) { term, _, source, _ in
                found.append(String(decoding: term, as: UTF8.self) + "@\(source.lowerBound)")
            }
        }
        #expect(found == ["ab@0", "cd@5"])
    }

    @Test func queriesBecomeFTS5Expressions() throws {
        #expect(try FullTextQuery("价格").expression == "\"价格\"")
        #expect(try FullTextQuery("月").expression == "\"月\" *")
        #expect(try FullTextQuery("钢铁 价格").expression == "(\"钢铁\" AND \"价格\")")
        #expect(try FullTextQuery("\"Price of  Steel\"").expression == "\"price of steel\"")
        #expect(try FullTextQuery("steel OR iron NOT copper").expression == "(\"steel\" OR (\"iron\" NOT \"copper\"))")
        #expect(try FullTextQuery("(a OR b) AND c").expression == "((\"a\" OR \"b\") AND \"c\")")
        #expect(try FullTextQuery("x月").expression == "(\"x\" AND \"月\" *)", "a bare term's CJK and other pieces")
        #expect(try FullTextQuery("e-mail").expression == "\"e mail\"")
        #expect(FullTextQuery.anyTerm(of: "钢铁价格走势如何？")?.expression == "\"钢铁\" OR \"价格\" OR \"走势\" OR \"如何\"")
        #expect(try FullTextQuery("钢铁价格走势").expression == "(\"钢铁\" AND \"价格\" AND \"走势\")")
        #expect(try FullTextQuery("\"钢铁价格走势\"").expression == "\"钢铁 铁价 价格 格走 走势\"")
        #expect(
            try FullTextQuery("语料库建设").expression == "(\"语料 料库\" AND \"建设\")", "unknown single characters stay together"
        )
        #expect(FullTextQuery.anyTerm(of: "？！") == nil)
    }

    @Test(arguments: [
        ("", "the query is empty", 1),
        ("  ，。 ", "the query has no word to search for", 1),
        ("NOT steel", "NOT needs a term before it", 1),
        ("steel NOT", "NOT needs a term after it", 7),
        ("steel OR", "OR needs a term after it", 7),
        ("OR steel", "OR needs a term before it", 1),
        ("价格 \"钢铁", "the quote is not closed", 4),
        ("(steel iron", "( is not closed", 1),
        ("steel) iron", ") without a matching (", 6),
    ])
    func badQueriesNameWhatAndWhere(query: String, message: String, character: Int) {
        #expect(throws: FullTextQuery.SyntaxError.self) { try FullTextQuery(query) }
        do {
            _ = try FullTextQuery(query)
        } catch let error as FullTextQuery.SyntaxError {
            #expect(error.message.hasPrefix(message))
            #expect(error.position + 1 == character)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    // MARK: through FTS5, against oracles

    /// Random rows of Chinese (from a small alphabet, so that words repeat), English words in
    /// any case and width, punctuation and spaces.
    private static func corpus(rows: Int, seed: UInt64) -> [String] {
        var random = SeededRandom(seed: seed)
        let han = Array("价格钢铁语料库月山水中国数据的是在年")
        let words = ["steel", "Price", "ＰＲＩＣＥ", "data", "Straße", "strasse", "moon", "corpus", "月光"]
        let separators = ["，", " ", "。", "、", "—", " (", ") ", "\n"]
        return (0..<rows).map { _ in
            var text = ""
            for _ in 0..<Int.random(in: 3...12, using: &random) {
                switch Int.random(in: 0..<3, using: &random) {
                case 0: text += words[Int.random(in: 0..<words.count, using: &random)]
                default:
                    text += String(
                        (0..<Int.random(in: 1...8, using: &random)).map { _ in han.randomElement(using: &random)! })
                }
                text += separators[Int.random(in: 0..<separators.count, using: &random)]
            }
            return text
        }
    }

    private func index(_ rows: [String]) throws -> Database {
        let db = try Database(path: TemporaryDirectory("quiver-fts-tokenizer").file("db"))
        _ = try db.execute("CREATE VIRTUAL TABLE f USING fts5(body, tokenize = 'quiver')")
        try db.transaction(.immediate) {
            for (i, row) in rows.enumerated() {
                _ = try db.execute(
                    "INSERT INTO f(rowid, body) VALUES (?, ?)", SQLBindings([.integer(Int64(i)), .text(row)]))
            }
        }
        return db
    }

    private func matching(_ db: Database, _ query: String) throws -> Set<Int64> {
        Set(
            try db.integers(
                "SELECT rowid FROM f WHERE f MATCH ?", SQLBindings([.text(try FullTextQuery(query).expression)])))
    }

    private static func normalized(_ text: String) -> String {
        text.precomposedStringWithCompatibilityMapping.folding(options: [.caseInsensitive], locale: nil)
    }

    @Test func everyChineseSubstringOfOneToFourCharactersIsFoundExactly() throws {
        let rows = Self.corpus(rows: 400, seed: 7)
        let db = try index(rows)
        let normalizedRows = rows.map(Self.normalized)
        var random = SeededRandom(seed: 11)
        let han = Array("价格钢铁语料库月山水中国数据的是在年")
        var checked = 0
        for length in 1...4 {
            for _ in 0..<40 {
                let query = String((0..<length).map { _ in han.randomElement(using: &random)! })
                // Quoted: as written, a substring (bare, a run would be split into words).
                let expected = Set(normalizedRows.indices.filter { normalizedRows[$0].contains(query) }.map(Int64.init))
                #expect(try matching(db, "\"" + query + "\"") == expected, "\(query)")
                checked += expected.count
            }
        }
        #expect(checked > 500, "the queries found too few rows to show anything")
    }

    @Test func englishWordsAreFoundAsWholeWordsInAnyCaseAndWidth() throws {
        let rows = Self.corpus(rows: 300, seed: 3)
        let db = try index(rows)
        let wordsOfRows = rows.map { row in
            Set(
                Self.normalized(row).split { !$0.isLetter && !$0.isNumber || $0.unicodeScalars.first!.value >= 0x3000 }
                    .map(String.init))
        }
        for word in ["steel", "price", "PRICE", "ｄａｔａ", "strasse", "STRAẞE", "moon", "corpus", "stee"] {
            let folded = Self.normalized(word)
            let expected = Set(wordsOfRows.indices.filter { wordsOfRows[$0].contains(folded) }.map(Int64.init))
            #expect(try matching(db, word) == expected, "\(word)")
        }
        #expect(try matching(db, "price").count > 20)
        #expect(try matching(db, "stee").isEmpty, "a word is not found by its prefix")
    }

    @Test func phrasesOperatorsWordsAndRankingWorkThroughFTS5() throws {
        let db = try index(["钢铁价格今年持续下跌", "价格上涨，钢铁", "steel price falls", "the price of steel", "月亮", "价格上涨"])
        #expect(try matching(db, "\"钢铁价格\"") == [0])
        #expect(try matching(db, "钢铁价格") == [0, 1], "a bare run is its words, all required")
        #expect(try matching(db, "钢铁 价格") == [0, 1])
        #expect(try matching(db, "\"steel price\"") == [2])
        #expect(try matching(db, "steel price") == [2, 3])
        #expect(try matching(db, "价格 NOT 钢铁") == [5])
        #expect(try matching(db, "下跌 OR 月") == [0, 4])
        #expect(try matching(db, "亮") == [4])
        let question = try #require(FullTextQuery.anyTerm(of: "钢铁价格走势如何"))
        let ranked = try db.integers(
            "SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f)", SQLBindings([.text(question.expression)]))
        #expect(Set(ranked) == [0, 1, 5] && ranked.last == 5, "any word matches; more of them ranks first")
    }
}
