import Foundation
import Testing

/// `quiver shell --connect` against a real `quiver serve` on a Unix socket and on TCP.
@Suite struct RemoteShellTests {
    let shellTests = ShellTests()

    /// A server on `db` listening on a Unix socket and a free TCP port, with a token.
    final class Server {
        let process: PseudoTerminal
        let socket: String
        let port: Int
        static let token = "shell-test-token"

        init(binary: String, db: String, socket: String) throws {
            process = try PseudoTerminal(
                binary, ["serve", "--db", db, "--socket", socket, "--port", "0", "--token", Self.token],
                environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
            try process.wait {
                $0.contains("listening on unix:") && $0.contains("listening on http://127.0.0.1:")
                    && $0.unicodeScalars.last == "\n"
            }
            let started = process.transcript
            let tcp = try #require(started.range(of: "http://127.0.0.1:"), "no TCP address in: \(started)")
            port = try #require(Int(started[tcp.upperBound...].prefix { $0.isNumber }))
            self.socket = socket
        }

        /// The server is killed (it may be busy with an abandoned statement) and leaves its socket file.
        deinit { unlink(socket) }
    }

    func makeServer(_ tmp: TemporaryDirectory) throws -> Server {
        let db = tmp.file("db")
        let setup = try shellTests.script([
            "--db", db, "-c",
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, embedding VECTOR(3));
            INSERT INTO docs VALUES (1, '向量', '[1, 0, 0]'), (2, NULL, '[0, 1, 0]');
            """,
        ])
        #expect(setup.succeeded, "\(setup)")
        // Unix socket paths are short (108 bytes); the temporary directory's may be long.
        let socket = "/tmp/quiver-shell-\(UUID().uuidString.prefix(8)).sock"
        return try Server(binary: try shellTests.binary(), db: db, socket: socket)
    }

    @Test func scriptsOverUnixSocketAndTCP() throws {
        let tmp = TemporaryDirectory("quiver-remote-shell")
        let server = try makeServer(tmp)
        for url in ["unix:\(server.socket)", "http://127.0.0.1:\(server.port)"] {
            let out = try shellTests.script(
                ["--connect", url, "--token", Server.token],
                stdin: """
                    INSERT INTO docs VALUES (\(url.hasPrefix("unix") ? 3 : 4), 'over \(url.prefix(4))', '[0, 0, 1]');
                    SELECT id, title, embedding FROM docs WHERE id <= 2 ORDER BY id;
                    .mode jsonl
                    SELECT count(*) AS n FROM docs;
                    SELECT id FROM docs ORDER BY embedding <-> '[1, 0, zz]' LIMIT 1;
                    """)
            #expect(out.status == 1, "the bad vector fails the script: \(out)")
            #expect(
                out.stdout.contains("|  1 | 向量  | [1.0, 0.0, 0.0] |")
                    && out.stdout.contains("|  2 | NULL  | [0.0, 1.0, 0.0] |"),
                "\(out.stdout)")
            #expect(out.stdout.contains(url.hasPrefix("unix") ? "{\"n\":3}" : "{\"n\":4}"), "\(out.stdout)")
            #expect(
                out.stderr.contains("LINE 5: SELECT id FROM docs ORDER BY embedding <-> '[1, 0, zz]' LIMIT 1;"),
                "\(out.stderr)")
            let caret = try #require(out.stderr.split(separator: "\n").last)
            #expect(
                caret.count - 1 == "LINE 5: SELECT id FROM docs ORDER BY embedding <-> '[1, 0, ".count, "\(out.stderr)")
            #expect(!out.stderr.contains("at byte"), "the position becomes the caret: \(out.stderr)")
        }
        // A transaction cannot span requests: BEGIN is refused with the reason, and nothing runs.
        let begin = try shellTests.script([
            "--connect", "unix:\(server.socket)", "--token", Server.token, "--bail", "-c",
            "BEGIN;\nINSERT INTO docs VALUES (9, 'never', NULL);",
        ])
        #expect(
            begin.status == 1 && begin.stderr.contains("BEGIN: over --connect every statement is its own transaction"),
            "\(begin)")
        let nine = try shellTests.script([
            "--connect", "unix:\(server.socket)", "--token", Server.token, "-c",
            ".mode csv\nSELECT count(*) AS n FROM docs WHERE id = 9;",
        ])
        #expect(nine.stdout == "n\r\n0\r\n", "\(nine)")

        let refused = try shellTests.script([
            "--connect", "unix:\(server.socket)", "--token", "wrong", "-c", "SELECT 1;",
        ])
        #expect(refused.status != 0 && refused.stderr.contains("token"), "\(refused)")
        let both = try shellTests.script([
            "--connect", "unix:\(server.socket)", "--db", tmp.file("db"), "-c", "SELECT 1;",
        ])
        #expect(both.status != 0 && both.stderr.contains("not both"), "\(both)")
    }

    @Test func interactiveOverTheServerWithCompletionAndCtrlC() throws {
        let tmp = TemporaryDirectory("quiver-remote-shell")
        let server = try makeServer(tmp)
        let environment = [
            "HOME": tmp.path, "TERM": "xterm-256color", "LANG": "C.UTF-8", "QUIVER_TOKEN": Server.token,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        let shell = try PseudoTerminal(
            try shellTests.binary(), ["shell", "--connect", "unix:\(server.socket)"], environment: environment)
        try shell.expect("server unix:")
        try shell.expect("quiver> ")
        // Completion knows the server's tables and columns.
        shell.send("SELECT tit\t")
        try shell.expect("title ")
        shell.send("FROM do\t")
        try shell.expect("docs ")
        shell.send("WHERE id = 1;\r")
        try shell.expect("| 向量  |")
        // Ctrl-C gives the prompt back while the server is busy; the next statement works.
        shell.send("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c;\r")
        try shell.expect("Ctrl-C cancels")
        shell.send(PseudoTerminal.ctrlC)
        try shell.expect("interrupted")
        try shell.expect("quiver> ")
        shell.send("SELECT count(*) AS n FROM docs;\r")
        try shell.expect("| 2 |")
        shell.send(PseudoTerminal.ctrlD)
        #expect(try shell.waitForExit() == 0)
    }
}
