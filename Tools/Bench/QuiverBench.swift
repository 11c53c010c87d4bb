import Dispatch
import Foundation
import QuiverEngine
import QuiverFormats
import QuiverIndex
import QuiverStorage

/// The Quiver side of the HNSW benchmark (Tools/bench/run-hnsw drives it beside hnswlib).
///
///     quiver-bench kernels [--dim 384]
///     quiver-bench build-modes --base B.npy --db DIR [--n 20000]
///     quiver-bench filtered --data DIR --db DIR [--ef 40] [--reuse]
///     quiver-bench fulltext --data DIR --db DIR --terms TERMS.json --out OUT.json
///     quiver-bench http-load --url URL --path PATH --bodies B.jsonl --connections 1,8,64 [--responses OUT]
///     quiver-bench dedupe --base B.npy --db DIR --out-dir DIR [--thresholds 0.95,0.9] [--n N] [--texts T.jsonl]
///     quiver-bench hnsw --base BASE.npy --queries Q.npy --db DIR --m 16 --ef-construction 200
///                       --efs 16,32,64 --threads 2 --k 10 --out-dir DIR
///
/// Goes through the product path: rows loaded into a table, `CREATE INDEX … USING hnsw` (timed
/// as the build), a fresh mapping of the index file (timed as the open), then `BatchSearch` —
/// what `quiver search --ef` runs — one thread, one query at a time, per ef. Writes the hit ids
/// of each ef as int64 .npy and prints one JSON object with the timings.
@main
struct QuiverBench {
    static func main() throws {
        var options: [String: String] = [:]
        var arguments = CommandLine.arguments.dropFirst()
        if arguments.first == "kernels" {
            KernelBench.run(dimension: arguments.count >= 3 ? Int(arguments[arguments.startIndex + 2]) ?? 384 : 384)
            return
        }
        if arguments.first == "build-modes" {
            var o: [String: String] = [:]
            var rest = arguments.dropFirst()
            while rest.count >= 2 {
                o[String(rest.first!.dropFirst(2))] = rest.dropFirst().first!
                rest = rest.dropFirst(2)
            }
            try BuildModesBench.run(
                base: o["base"] ?? "", db: o["db"] ?? "/tmp/quiver-build-modes", count: Int(o["n"] ?? "") ?? 20_000,
                m: Int(o["m"] ?? "") ?? 16, efConstruction: Int(o["ef-construction"] ?? "") ?? 200)
            return
        }
        if arguments.first == "http-load" {
            var o: [String: String] = [:]
            var rest = arguments.dropFirst()
            while let key = rest.first, key.hasPrefix("--"), rest.count >= 2 {
                o[String(key.dropFirst(2))] = rest.dropFirst().first!
                rest = rest.dropFirst(2)
            }
            try HTTPLoadBench.run(o)
            return
        }
        if arguments.first == "dedupe" {
            var o: [String: String] = [:]
            var rest = arguments.dropFirst()
            while rest.count >= 2 {
                o[String(rest.first!.dropFirst(2))] = rest.dropFirst().first!
                rest = rest.dropFirst(2)
            }
            try DedupeBench.run(
                base: o["base"] ?? "../shared/data/base_f16.npy", db: o["db"] ?? "/tmp/quiver-dedupe-bench",
                outDirectory: o["out-dir"] ?? "Tools/bench/.cache",
                thresholds: (o["thresholds"] ?? "0.95,0.9").split(separator: ",").map { Double($0)! },
                limit: o["n"].flatMap { Int($0) }, texts: o["texts"], quick: o["quick"] == "1")
            return
        }
        if arguments.first == "fulltext" {
            var o: [String: String] = [:]
            var rest = arguments.dropFirst()
            while let key = rest.first, key.hasPrefix("--"), rest.count >= 2 {
                o[String(key.dropFirst(2))] = rest.dropFirst().first!
                rest = rest.dropFirst(2)
            }
            try FullTextBench.run(
                data: o["data"] ?? "../shared/data", db: o["db"] ?? "/tmp/quiver-fulltext-bench",
                terms: o["terms"] ?? "", out: o["out"] ?? "Tools/bench/.cache/fts/quiver.json")
            return
        }
        if arguments.first == "filtered" {
            var o: [String: String] = [:]
            var rest = arguments.dropFirst()
            while let key = rest.first, key.hasPrefix("--") {
                if key == "--reuse" {
                    o["reuse"] = "1"
                    rest = rest.dropFirst()
                    continue
                }
                guard rest.count >= 2 else { break }
                o[String(key.dropFirst(2))] = rest.dropFirst().first!
                rest = rest.dropFirst(2)
            }
            try FilteredBench.run(
                data: o["data"] ?? "../shared/data", db: o["db"] ?? "/tmp/quiver-filtered",
                ef: Int(o["ef"] ?? "") ?? 40, reuse: o["reuse"] != nil)
            return
        }
        guard arguments.first == "hnsw" else {
            FileHandle.standardError.write(
                "usage: quiver-bench hnsw --base B.npy --queries Q.npy --db DIR --out-dir DIR [--m 16 --ef-construction 200 --efs 16,32,64,128,256 --threads 2 --k 10 --metric cosine]\n"
                    .data(using: .utf8)!)
            exit(2)
        }
        arguments = arguments.dropFirst()
        while let key = arguments.first, key.hasPrefix("--"), arguments.count >= 2 {
            options[String(key.dropFirst(2))] = arguments.dropFirst().first!
            arguments = arguments.dropFirst(2)
        }
        func option(_ name: String, _ fallback: String? = nil) -> String {
            guard let value = options[name] ?? fallback else { fatalError("missing --\(name)") }
            return value
        }
        let base = try NumPy.readFloatMatrix(path: option("base"))
        let queries = try NumPy.readFloatMatrix(path: option("queries"))
        let m = Int(option("m", "16"))!
        let efConstruction = Int(option("ef-construction", "200"))!
        let k = Int(option("k", "10"))!
        let threads = Int(option("threads", "2"))!
        let efs = option("efs", "16,32,64,128,256").split(separator: ",").map { Int($0)! }
        let metric = option("metric", "cosine")
        let dbPath = option("db")
        let outDirectory = option("out-dir")
        try? FileManager.default.removeItem(atPath: dbPath)
        try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)

        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }

        let db = try Database(path: dbPath)
        let dimension = base.columns
        _ = try db.execute("CREATE TABLE base (id INTEGER PRIMARY KEY, embedding VECTOR(\(dimension)))")
        let load = try seconds {
            try db.executeMany(
                "INSERT INTO base VALUES (?, ?)",
                (0..<base.rows).map {
                    SQLBindings([.integer(Int64($0)), .vector(Array(base[row: $0]))])
                })
        }
        let rssBefore = residentBytes()
        let build = try seconds {
            _ = try db.execute(
                "CREATE INDEX base_embedding ON base USING hnsw (embedding vector_\(metric)_ops) WITH (m = \(m), ef_construction = \(efConstruction))"
            )
        }
        let file = try db.execute("SELECT file FROM _quiver_indexes")[0].rows[0][0].textValue!
        let indexPath = dbPath + "/indexes/" + file
        var reopened: HNSWIndex?
        let open = try seconds { reopened = try HNSWIndex.open(path: indexPath) }
        _ = reopened!.search(Array(queries[row: 0]), k: k, ef: 16)
        if ProcessInfo.processInfo.environment["QUIVER_BENCH_CHECK"] != nil {
            FileHandle.standardError.write("index check: \(reopened!.check())\n".data(using: .utf8)!)
        }
        let fileBytes = (try FileManager.default.attributesOfItem(atPath: indexPath)[.size] as? NSNumber)?.intValue ?? 0

        var runs: [String] = []
        for ef in efs {
            let search = BatchSearch(table: "base", column: "embedding", k: k, threads: 1, ef: ef)
            _ = try search.run(
                on: db, queries: Array(queries.values.prefix(dimension * min(20, queries.rows))),
                queryCount: min(20, queries.rows))
            var best: BatchSearch.Outcome?
            for _ in 0..<3 {
                let outcome = try search.run(on: db, queries: queries.values, queryCount: queries.rows)
                precondition(outcome.strategy == "hnsw index", "the benchmark must go through the index")
                if best == nil || outcome.elapsed < best!.elapsed { best = outcome }
            }
            let outcome = best!
            try NumPy.writeInt64Matrix(
                path: "\(outDirectory)/quiver-ef\(ef).npy", rows: queries.rows, columns: k, values: outcome.keys)
            runs.append(
                "{\"ef\":\(ef),\"qps\":\(outcome.queriesPerSecond),\"p50_ms\":\(outcome.latencyPercentile(50) * 1000),\"p99_ms\":\(outcome.latencyPercentile(99) * 1000),\"ids\":\"quiver-ef\(ef).npy\"}"
            )
        }
        let rssAfter = residentBytes()
        print(
            "{\"engine\":\"quiver\",\"n\":\(base.rows),\"dim\":\(dimension),\"m\":\(m),\"ef_construction\":\(efConstruction),\"threads\":\(threads),\"load_seconds\":\(load),\"build_seconds\":\(build),\"open_seconds\":\(open),\"file_bytes\":\(fileBytes),\"memory_bytes\":\(max(0, rssAfter - rssBefore)),\"runs\":[\(runs.joined(separator: ","))]}"
        )
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}
