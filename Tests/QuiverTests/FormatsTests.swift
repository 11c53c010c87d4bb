import Foundation
import QuiverFormats
import QuiverStorage
import Testing

@Suite struct DisplayWidthTests {
    @Test(arguments: [
        ("hello", 5), ("", 0), ("世界", 4), ("한국어", 6), ("ひらがなカタカナ", 16), ("ｶﾀｶﾅ", 4), ("ＡＢ", 4),
        ("e\u{301}", 1), ("a\u{200B}b", 2), ("👍", 2), ("👍🏽", 2), ("👨‍👩‍👧", 2), ("🇯🇵", 2), ("❤", 1), ("❤️", 2),
        ("1️⃣", 2), ("mixed 中文 text", 15), ("\u{1100}\u{1161}\u{11A8}", 2),
    ])
    func widths(text: String, width: Int) {
        #expect(DisplayWidth.of(text) == width)
    }

    @Test func truncationKeepsWithinWidth() {
        #expect(DisplayWidth.truncate("hello world", toWidth: 5) == "hell…")
        #expect(DisplayWidth.truncate("hello", toWidth: 5) == "hello")
        #expect(DisplayWidth.truncate("世界你好", toWidth: 5) == "世界…")
        #expect(DisplayWidth.truncate("世界你好", toWidth: 6) == "世界…")
        #expect(DisplayWidth.truncate("世界你好", toWidth: 8) == "世界你好")
        #expect(DisplayWidth.truncate("abc", toWidth: 1) == "…")
        #expect(DisplayWidth.truncate("abc", toWidth: 0) == "")
        for width in 1...12 {
            #expect(DisplayWidth.of(DisplayWidth.truncate("a世b界c👍🏽d", toWidth: width)) <= width)
        }
    }
}

@Suite struct TableRenderingTests {
    func render(_ results: [ResultSet], maxCellWidth: Int = 60) -> String {
        ResultRenderer.render(results, as: .table, maxCellWidth: maxCellWidth)
    }

    /// Every bordered line must end at the same display column.
    func expectAligned(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { $0.hasPrefix("+") || $0.hasPrefix("|") }
        let widths = Set(lines.map { DisplayWidth.of(String($0)) })
        #expect(widths.count == 1, "line widths \(widths) in\n\(text)", sourceLocation: sourceLocation)
    }

    @Test func simpleTable() {
        let text = render([ResultSet(columns: ["id", "title"], rows: [[1, "hello"], [2, "世界"], [123, nil]])])
        #expect(
            text == """
                +-----+-------+
                | id  | title |
                +-----+-------+
                |   1 | hello |
                |   2 | 世界  |
                | 123 | NULL  |
                +-----+-------+
                (3 rows)

                """)
    }

    @Test func chineseEmojiAndMixedTextStayAligned() {
        let result = ResultSet(
            columns: ["编号", "标题", "score"],
            rows: [
                [1, "向量数据库", 0.5],
                [22, "ascii only", -1.25],
                [333, "한국어 テキスト 👍🏽 e\u{301}", nil],
                [4, "ｶﾀｶﾅ and ＡＢ", 1e-10],
            ])
        let text = render([result])
        expectAligned(text)
        #expect(text.hasSuffix("(4 rows)\n"))
    }

    @Test func footerAndEmptyResults() {
        #expect(render([ResultSet(columns: ["x"], rows: [[1]])]).hasSuffix("+\n(1 row)\n"))
        #expect(render([ResultSet(columns: ["x"], rows: [])]) == "+---+\n| x |\n+---+\n+---+\n(0 rows)\n")
        #expect(render([ResultSet(columns: [], rows: [])]) == "")
        #expect(render([]) == "")
    }

    @Test func severalResultSetsAreSeparatedByABlankLine() {
        let text = render([
            ResultSet(columns: ["a"], rows: [[1]]),
            ResultSet(columns: [], rows: []),
            ResultSet(columns: ["b"], rows: [["x"]]),
        ])
        #expect(text == "+---+\n| a |\n+---+\n| 1 |\n+---+\n(1 row)\n\n+---+\n| b |\n+---+\n| x |\n+---+\n(1 row)\n")
    }

    @Test func longCellsAreTruncatedAndControlCharactersFlattened() {
        let long = String(repeating: "长", count: 100)
        let text = render(
            [ResultSet(columns: ["t"], rows: [[.text(long)], ["line1\nline2\r\nend\ttab\u{1B}[31m"]])],
            maxCellWidth: 30)
        expectAligned(text)
        #expect(text.contains("| " + String(repeating: "长", count: 14) + "… |"))
        #expect(text.contains("| line1↵line2↵end tab␛[31m      |"))
        #expect(text.split(separator: "\n").count == 7)
    }

    @Test func vectorsAndBlobs() {
        var vector = [Float](repeating: 0.5, count: 384)
        vector[0] = 0.1234
        vector[1] = -0.0312
        let text = render(
            [
                ResultSet(
                    columns: ["v", "short", "b"],
                    rows: [
                        [.vector(vector), .vector([0.1, 2, -3]), .blob([0x01, 0xAB])],
                        [.vector([]), .vector([1, 2, 3, 4]), .blob(Array(repeating: 0xFF, count: 100))],
                    ])
            ], maxCellWidth: 30)
        expectAligned(text)
        #expect(text.contains("| [0.12, -0.03, … 384 dims] | [0.1, 2.0, -3.0]     | X'01AB'"))
        #expect(text.contains("| []                        | [1.0, 2.0, 3.0, 4.0] | X'FFFFFFFFFFFFFFFFFFFFFFFFFFF… |"))
    }
}

@Suite struct JSONRenderingTests {
    @Test func rowsAreObjectsInColumnOrder() throws {
        let result = ResultSet(
            columns: ["z", "a", "m"], rows: [[1, 2.5, "x"], [nil, .real(.nan), .blob([0, 1, 2, 255])]])
        let text = ResultRenderer.render([result], as: .json)
        #expect(text == "[\n{\"z\":1,\"a\":2.5,\"m\":\"x\"},\n{\"z\":null,\"a\":null,\"m\":\"AAEC/w==\"}\n]\n")
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
        #expect(parsed?.count == 2)
        #expect(ResultRenderer.render([ResultSet(columns: ["a"], rows: [])], as: .json) == "[]\n")
    }

    @Test func stringsAreEscaped() throws {
        let tricky = "quote\" backslash\\ newline\n tab\t nul\u{0} bell\u{7} 中文 emoji👍 ls\u{2028}"
        let text = ResultRenderer.render([ResultSet(columns: ["s\"k"], rows: [[.text(tricky)]])], as: .json)
        #expect(
            text.contains(
                #""s\"k":"quote\" backslash\\ newline\u000A tab\u0009 nul\u0000 bell\u0007 中文 emoji👍 ls\u2028""#))
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: String]]
        #expect(parsed?.first?["s\"k"] == tricky)
    }

    @Test func numbersRoundTrip() throws {
        let reals: [Double] = [0.1, 1.0 / 3, -0.0, 1e300, .leastNonzeroMagnitude, 123456789.123, -2.5e-8]
        let text = ResultRenderer.render([ResultSet(columns: ["r"], rows: reals.map { [.real($0)] })], as: .jsonl)
        let lines = text.split(separator: "\n")
        #expect(lines.count == reals.count)
        for (line, value) in zip(lines, reals) {
            let number = line.dropFirst("{\"r\":".count).dropLast()
            #expect(Double(String(number))?.bitPattern == value.bitPattern, "\(line)")
        }
        let big = ResultRenderer.render(
            [ResultSet(columns: ["i"], rows: [[.integer(.max)], [.integer(.min)]])], as: .jsonl)
        #expect(big == "{\"i\":9223372036854775807}\n{\"i\":-9223372036854775808}\n")
    }

    @Test func vectorsParseBackBitForBit() throws {
        var generator = SeededRandom(seed: 42)
        var vector: [Float] = [
            0.1, 1.0 / 3, -0.0, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
            -1e-8, 16_777_215, 0.30000001,
        ]
        for _ in 0..<2000 {
            vector.append(Float(bitPattern: UInt32(truncatingIfNeeded: generator.next())))
        }
        vector = vector.filter(\.isFinite)
        let text = ResultRenderer.render([ResultSet(columns: ["v"], rows: [[.vector(vector)]])], as: .json)
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: [Double]]]
        #expect(parsed?.first?["v"]?.count == vector.count)
        // Parsed as text by Float itself, and as a JSON reader does (Double, then Float).
        let body = text.split(separator: "[").last!.split(separator: "]").first!
        let floats = body.split(separator: ",").map { Float(String($0))! }
        #expect(floats.map(\.bitPattern) == vector.map(\.bitPattern))
        #expect(parsed?.first?["v"]?.map { Float($0).bitPattern } == vector.map(\.bitPattern))
        let special = ResultRenderer.render(
            [ResultSet(columns: ["v"], rows: [[.vector([.nan, .infinity, 1])]])], as: .jsonl)
        #expect(special == "{\"v\":[null,null,1.0]}\n")
    }

    @Test func severalResultSetsNestAndLinesFlatten() throws {
        let results = [
            ResultSet(columns: ["a"], rows: [[1], [2]]),
            ResultSet(columns: [], rows: []),
            ResultSet(columns: ["b"], rows: [["x"]]),
        ]
        let json = ResultRenderer.render(results, as: .json)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[[String: Any]]]
        #expect(parsed?.count == 2)
        #expect(parsed?[0].count == 2 && parsed?[1].count == 1)
        #expect(ResultRenderer.render(results, as: .jsonl) == "{\"a\":1}\n{\"a\":2}\n{\"b\":\"x\"}\n")
        #expect(ResultRenderer.render([], as: .json) == "[]\n")
        #expect(ResultRenderer.render([], as: .jsonl) == "")
    }
}

@Suite struct CSVRenderingTests {
    @Test func quotingFollowsRFC4180() {
        let result = ResultSet(
            columns: ["id", "text, with comma", "v"],
            rows: [
                [1, "plain", nil],
                [2, "say \"hi\"", .vector([0.5, -1])],
                [3, "two\nlines", .blob([0xFB, 0xFF])],
                [4, "", .real(0.1)],
                [nil, "cr\rhere", "中文"],
            ])
        #expect(
            ResultRenderer.render([result], as: .csv) == """
                id,"text, with comma",v\r
                1,plain,\r
                2,"say ""hi""\","[0.5,-1.0]"\r
                3,"two
                lines",+/8=\r
                4,"",0.1\r
                ,"cr\rhere",中文\r

                """)
    }

    @Test func severalResultSetsAreSeparatedByABlankLine() {
        let text = ResultRenderer.render(
            [
                ResultSet(columns: ["a"], rows: [[1]]),
                ResultSet(columns: ["b", "c"], rows: [["x", 2]]),
            ], as: .csv)
        #expect(text == "a\r\n1\r\n\r\nb,c\r\nx,2\r\n")
    }

    @Test func formatNamesMatchTheCommandLine() {
        #expect(OutputFormat.allCases.map(\.rawValue) == ["table", "json", "jsonl", "csv"])
        #expect(OutputFormat(rawValue: "jsonl") == .jsonl)
    }
}
