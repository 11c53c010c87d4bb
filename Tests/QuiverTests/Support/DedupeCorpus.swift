import Foundation
import QuiverEngine
import QuiverStorage

/// A small generated corpus with planted duplicates, in English and Chinese, for the DEDUPE
/// tests. Every planted group is recorded, so tests know the answer without asking Quiver.
///
/// - exact copies: the same text with changed case, runs of white space, line breaks,
///   full-width letters and full-width/half-width punctuation;
/// - near copies: the same long notice re-posted with a different date or a few characters
///   changed (character 3-gram Jaccard ≥ 0.85, far above unrelated texts);
/// - semantic copies: vectors within a small angle of each other (cosine ≥ 0.97), beside
///   "related" vectors (cosine about 0.85) that must not count at 0.95.
struct DedupeCorpus {
    struct Row {
        var id: Int64
        var lang: String
        var source: String
        var body: String
        var vector: [Float]
        var score: Int64
    }

    static let dimension = 32
    private(set) var rows: [Row] = []
    /// Planted groups of ids, by kind.
    private(set) var exactGroups: [[Int64]] = []
    private(set) var nearGroups: [[Int64]] = []
    private(set) var vectorGroups: [[Int64]] = []

    static let words = [
        "data", "model", "vector", "index", "query", "table", "search", "library", "release", "python",
        "function", "return", "value", "string", "memory", "thread", "network", "server", "client", "socket",
        "build", "compile", "error", "warning", "option", "default", "manual", "section", "example", "format",
        "parse", "token", "stream", "buffer", "signal", "process", "kernel", "module", "package", "version",
    ]
    static let hanzi = Array("数据模型向量索引查询表格搜索发布函数返回数值字符内存线程网络服务客户端口编译错误警告选项默认手册章节例子格式解析流缓冲信号进程内核模块版本大语言训练语料清洗去重质量过滤")

    init(seed: UInt64 = 2024, unrelated: Int = 120) {
        var random = SeededRandom(seed: seed)
        var nextID: Int64 = 1
        func englishText(_ words: Int) -> String {
            (0..<words).map { _ in Self.words[Int(random.next() % UInt64(Self.words.count))] }.joined(separator: " ")
                + "."
        }
        func chineseText(_ length: Int) -> String {
            var s = ""
            for i in 0..<length {
                s.append(Self.hanzi[Int(random.next() % UInt64(Self.hanzi.count))])
                if i % 17 == 16 { s.append("，") }
            }
            return s + "。"
        }
        func unit(_ v: [Float]) -> [Float] {
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
        /// A vector at cosine ≈ `similarity` from `base` (unit): base·s + orthogonal noise·√(1−s²).
        func near(_ base: [Float], similarity: Float) -> [Float] {
            var noise = random.vector(Self.dimension)
            let along = zip(noise, base).reduce(0) { $0 + $1.0 * $1.1 }
            noise = unit(zip(noise, base).map { $0 - along * $1 })
            return unit(zip(base, noise).map { $0 * similarity + $1 * (1 - similarity * similarity).squareRoot() })
        }
        func add(_ lang: String, _ body: String, _ vector: [Float], source: String = "web") -> Int64 {
            defer { nextID += 1 }
            rows.append(
                Row(
                    id: nextID, lang: lang, source: source, body: body, vector: vector,
                    score: Int64(random.next() % 1000)))
            return nextID
        }

        // Exact copies (text), each with its own distinct vector.
        let english = englishText(40)
        let shouted = english.uppercased().replacingOccurrences(of: " ", with: "   \n ")
        let fullWidth = String(
            String.UnicodeScalarView(
                english.unicodeScalars.map { s in
                    (0x21...0x7E).contains(s.value) ? Unicode.Scalar(s.value + 0xFEE0)! : s
                }))
        exactGroups.append([
            add("en", english, unit(random.vector(Self.dimension))),
            add("en", "  " + shouted + "\t", unit(random.vector(Self.dimension))),
            add("en", fullWidth, unit(random.vector(Self.dimension))),
        ])
        let chinese = chineseText(120)
        let halfWidthPunctuation = chinese.replacingOccurrences(of: "，", with: ",").replacingOccurrences(
            of: "。", with: "｡")
        exactGroups.append([
            add("zh", chinese, unit(random.vector(Self.dimension))),
            add("zh", halfWidthPunctuation, unit(random.vector(Self.dimension))),
            add("zh", " " + chinese + "\n", unit(random.vector(Self.dimension))),
        ])

        // Near copies: a long notice re-posted with another date; Chinese with two characters changed.
        let notice = "Notice: " + englishText(110) + " Posted on 2024-03-01 by the maintainers."
        let reposted = notice.replacingOccurrences(of: "2024-03-01", with: "2024-05-17")
        nearGroups.append([
            add("en", notice, unit(random.vector(Self.dimension))),
            add("en", reposted, unit(random.vector(Self.dimension))),
        ])
        let chineseNotice = "通知：" + chineseText(260) + "发布于二〇二四年三月一日。"
        let chineseReposted = chineseNotice.replacingOccurrences(of: "三月一日", with: "五月七日")
        nearGroups.append([
            add("zh", chineseNotice, unit(random.vector(Self.dimension))),
            add("zh", chineseReposted, unit(random.vector(Self.dimension))),
        ])

        // Semantic copies: different texts (a passage and its translation, a paraphrase) whose
        // vectors are within cosine 0.97–0.995; each group has a related row at about 0.85.
        for group in 0..<6 {
            let base = unit(random.vector(Self.dimension))
            let lang = group % 2 == 0 ? "en" : "zh"
            var ids = [add(lang, lang == "en" ? englishText(30) : chineseText(60), base, source: "wiki")]
            for copy in 0..<(1 + group % 3) {
                let other = copy % 2 == 0 ? (lang == "en" ? "zh" : "en") : lang
                ids.append(
                    add(
                        other, other == "en" ? englishText(30) : chineseText(60),
                        near(base, similarity: 0.97 + 0.01 * Float(copy)), source: "wiki"))
            }
            vectorGroups.append(ids)
            _ = add(lang, englishText(30), near(base, similarity: 0.85), source: "wiki")
        }

        // Unrelated rows.
        for i in 0..<unrelated {
            let lang = i % 3 == 0 ? "zh" : "en"
            _ = add(
                lang, lang == "en" ? englishText(25 + i % 30) : chineseText(50 + i % 40),
                unit(random.vector(Self.dimension)))
        }
    }

    /// A database with table `docs` holding the corpus (body compressed, as bulk loaders store it).
    func load(into path: String) throws -> Database {
        let db = try Database(path: path)
        _ = try db.execute(
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, lang TEXT, source TEXT, body TEXT COMPRESSED, embedding VECTOR(\(Self.dimension)), score INTEGER)"
        )
        try db.executeMany(
            "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?)",
            rows.map {
                SQLBindings([
                    .integer($0.id), .text($0.lang), .text($0.source), .text($0.body), .vector($0.vector),
                    .integer($0.score),
                ])
            })
        return db
    }

    func row(_ id: Int64) -> Row { rows[Int(id - 1)] }
}

/// A DEDUPE result as comparable values: cluster → (kept, duplicates).
struct DedupeOutcome: Equatable, CustomStringConvertible {
    var kept: [Int64: Set<Int64>]

    init(_ result: ResultSet) {
        var kept: [Int64: Set<Int64>] = [:]
        for row in result.rows { kept[row[1].integerValue!, default: []].insert(row[2].integerValue!) }
        self.kept = kept
    }

    init(groups: [[Int64]], keep: ([Int64]) -> Int64 = { $0.min()! }) {
        var kept: [Int64: Set<Int64>] = [:]
        for group in groups {
            let k = keep(group)
            kept[k] = Set(group).subtracting([k])
        }
        self.kept = kept
    }

    var description: String {
        kept.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.sorted())" }.joined(separator: "; ")
    }
}
