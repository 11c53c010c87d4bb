// swift-tools-version:6.1
import PackageDescription

// Layers, each depending only on those above it (ARCHITECTURE.md's table, in the same order):
//   C shims (SQLite, LZ4, zlib, BLAS), CQuiverSIMD (SIMD distance kernels, CRC32C) and CQuiverICU (ICU's word break)
//   → QuiverProgress (how far long work has got) and QuiverJSON (the API's JSON value)
//   → QuiverClient (a blocking HTTP client for `quiver serve`)
//   → QuiverKernels (distances, BLAS scoring, top-k)
//   → QuiverWordBreak (CJK words by ICU's dictionary) → QuiverText (full-text terms: normalization,
//     CJK bigrams, query syntax)
//   → QuiverIndex (HNSW graph in a memory-mapped file)
//   → QuiverStorage (SQLite row store, VECTOR and COMPRESSED columns, transactions, errors)
//   → QuiverIndexing (index kinds kept in step with the rows: change log, catch-up, checkpoints)
//   → QuiverDedupe (text fingerprints, MinHash, all-pairs vector search, duplicate clusters)
//   → QuiverQuery (SQL tokenizer, rewriting, nearest-neighbour search and execution)
//   → QuiverEngine (the database facade)
//   → QuiverFormats (NumPy files, result rendering)
//   → QuiverReading (records from JSONL/CSV/TSV files, .npy/.fvecs side vectors, schema inference)
//   → QuiverImport (bulk import and export)
//   → QuiverShell (the interactive shell, embedded or over QuiverClient)
//   → QuiverServer (`quiver serve`: HTTP/1.1 and JSON on Hummingbird)
//   → the `quiver` executable.
let package = Package(
    name: "Quiver",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "quiver", targets: ["quiver"]),
        .library(name: "QuiverEngine", targets: ["QuiverEngine"]),
        .library(name: "QuiverDedupe", targets: ["QuiverDedupe"]),
        .library(name: "QuiverClient", targets: ["QuiverClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Hummingbird's own transport; named for the HTTP/1 connection rules the server adds.
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
                       providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS",
                       providers: [.apt(["libblas-dev", "libopenblas0-pthread"])]),
        .target(name: "CQuiverSIMD", path: "Sources/CQuiverSIMD",
                cSettings: [.unsafeFlags(["-O3"])]),
        // How far long work has got (Foundation only): reported by deduplication, index builds and imports.
        .target(name: "QuiverProgress", path: "Sources/Progress"),
        .target(name: "QuiverKernels", dependencies: ["CBLAS", "CQuiverSIMD"], path: "Sources/Kernels"),
        // How full-text search reads text (Foundation only): terms of documents and queries.
        // ICU's word break (libicu-dev) behind a C surface without ICU's types: its headers clash with the
        // ICU inside the toolchain's Foundation. QuiverWordBreak gives words of a CJK run by its dictionary.
        .target(name: "CQuiverICU", path: "Sources/CQuiverICU", linkerSettings: [.linkedLibrary("icuuc")]),
        .target(name: "QuiverWordBreak", dependencies: ["CQuiverICU"], path: "Sources/WordBreak"),
        .target(name: "QuiverText", dependencies: ["QuiverWordBreak"], path: "Sources/Text"),
        .target(name: "QuiverIndex", dependencies: ["QuiverKernels", "CQuiverSIMD"], path: "Sources/Index"),
        .target(name: "QuiverStorage", dependencies: ["CSQLite", "CLZ4", "QuiverKernels", "QuiverText"], path: "Sources/Storage"),
        // The index lifecycle every file-backed index kind shares (HNSW is one kind): builds, catch-up,
        // checkpoints; and full-text indexes, kept in the row store.
        .target(name: "QuiverIndexing", dependencies: ["QuiverStorage", "QuiverIndex", "QuiverText"], path: "Sources/Indexing"),
        .target(name: "QuiverDedupe", dependencies: ["QuiverKernels", "QuiverProgress"], path: "Sources/Dedupe"),
        .target(name: "QuiverQuery", dependencies: ["QuiverStorage", "QuiverIndex", "QuiverIndexing", "QuiverKernels", "QuiverDedupe",
                                                   "QuiverProgress", "QuiverText"],
                path: "Sources/Query"),
        .target(name: "QuiverEngine", dependencies: ["QuiverQuery", "QuiverIndex", "QuiverStorage", "QuiverKernels", "QuiverDedupe",
                                                    "QuiverProgress"],
                path: "Sources/Engine"),
        .target(name: "QuiverFormats", dependencies: ["QuiverStorage"], path: "Sources/Formats"),
        // Records from JSONL/CSV/TSV files (gzip too) and side vector files, and the table they suggest.
        .target(name: "QuiverReading", dependencies: ["QuiverStorage", "QuiverFormats", "QuiverKernels", "CZlib"],
                path: "Sources/Reading"),
        .target(name: "QuiverImport", dependencies: ["QuiverEngine", "QuiverDedupe", "QuiverFormats", "QuiverProgress", "QuiverReading",
                                                     "QuiverStorage"],
                path: "Sources/Import"),
        .target(name: "QuiverShell", dependencies: ["QuiverEngine", "QuiverFormats", "QuiverQuery", "QuiverStorage", "QuiverDedupe",
                                                    "QuiverImport", "QuiverClient", "QuiverJSON", "QuiverProgress"],
                path: "Sources/Shell"),
        // `quiver serve`: HTTP/1.1 + JSON over TCP or a Unix socket (Hummingbird on SwiftNIO).
        .target(name: "QuiverServer", dependencies: ["QuiverEngine", "QuiverQuery", "QuiverIndex", "QuiverStorage", "QuiverKernels", "QuiverJSON",
                                                     .product(name: "Hummingbird", package: "hummingbird"),
                                                     .product(name: "NIOCore", package: "swift-nio"),
                                                     .product(name: "NIOHTTP1", package: "swift-nio"),
                                                     .product(name: "Logging", package: "swift-log")],
                path: "Sources/Server"),
        // A blocking client for `quiver serve` (plain sockets, no NIO): the shell and the tests use it.
        .target(name: "QuiverClient", dependencies: ["QuiverJSON"], path: "Sources/Client"),
        // The JSON value the server and its client share (Foundation only).
        .target(name: "QuiverJSON", path: "Sources/JSON"),
        .executableTarget(name: "quiver",
                          dependencies: ["QuiverEngine", "QuiverFormats", "QuiverDedupe", "QuiverImport", "QuiverReading", "QuiverShell", "QuiverServer",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/quiver"),
        // The Quiver side of the side-by-side benchmarks (Tools/bench drives it); not a test.
        .executableTarget(name: "quiver-bench", dependencies: ["QuiverEngine", "QuiverFormats", "QuiverIndex", "QuiverKernels",
                                                                 "QuiverStorage", "CQuiverSIMD", "QuiverClient", "QuiverDedupe"],
                          path: "Tools/Bench"),
        // kill -9 at random moments of a mixed workload, then checks what is left (RELIABILITY.md).
        .executableTarget(name: "quiver-crashloop", dependencies: ["QuiverEngine", "QuiverIndex", "QuiverKernels", "QuiverStorage",
                                                                     .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Tools/CrashLoop"),
        // Readers and a writer through `quiver serve`, with kill -9 and restart (RELIABILITY.md).
        .executableTarget(name: "quiver-stress", dependencies: ["QuiverClient", "QuiverJSON", "QuiverKernels", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Tools/Stress"),
        .testTarget(name: "QuiverTests",
                    dependencies: ["QuiverEngine", "QuiverFormats", "QuiverImport", "QuiverIndex", "QuiverIndexing", "QuiverKernels", "QuiverQuery",
                                   "QuiverStorage", "QuiverDedupe", "QuiverClient", "QuiverJSON", "QuiverProgress", "QuiverShell",
                                   "QuiverText"],
                    path: "Tests/QuiverTests"),
        // The server's internals (with @testable), apart from the end-to-end tests.
        .testTarget(name: "QuiverServerTests", dependencies: ["QuiverServer", "QuiverStorage"],
                    path: "Tests/QuiverServerTests"),
    ]
)
