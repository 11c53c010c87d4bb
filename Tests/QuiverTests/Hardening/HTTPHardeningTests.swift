import Foundation
import QuiverClient
import QuiverJSON
import Testing

/// Attacks on `quiver serve` over real sockets: web pages, hostile heads and bodies, slow
/// clients, runaway SQL, shutdown. Each test starts its own server process.
@Suite struct HTTPHardeningTests {
    func notesTable(_ client: QuiverClient) throws {
        try client.call(
            "POST", "/tables",
            [
                "name": "notes",
                "columns": [
                    ["name": "id", "type": "INTEGER", "primary_key": true], ["name": "body", "type": "TEXT"],
                    ["name": "e", "type": "VECTOR(2)"],
                ],
            ])
        try client.call(
            "POST", "/tables/notes/rows",
            [
                "rows": [
                    ["id": 1, "body": "first words", "e": [1, 0]],
                    ["id": 2, "body": "second words", "e": [0, 1]],
                ]
            ])
    }

    func tableNames(_ client: QuiverClient) throws -> [String] {
        try client.call("GET", "/tables")["tables"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    }

    static let drop = #"{"sql": "DROP TABLE notes"}"#

    // MARK: - A browser on the machine is not a client unless configured

    @Test func webPagesCannotReachAServerWithoutToken() throws {
        let directory = TemporaryDirectory("quiver-http")
        let server = try ServerProcess(
            database: directory.file("db"), ["--port", "0", "--socket", directory.file("q.sock")])
        let port = try #require(server.port)
        try notesTable(server.client())

        // The finding: a cross-site form post with a plain-text body.
        let plain = try RawHTTP.exchange(
            port: port, "POST", "/sql", headers: ["Content-Type: text/plain", "Origin: http://evil.example"],
            body: Self.drop, host: "attacker.example")
        #expect(plain.status == 421, "\(plain.status) \(plain.text)")
        for (type, name) in [
            ("text/plain", "plain text"), ("application/x-www-form-urlencoded", "a form"),
            ("multipart/form-data; boundary=x", "multipart"),
            ("text/plain; charset=application/json", "a disguised type"),
        ] {
            let answer = try RawHTTP.exchange(
                port: port, "POST", "/sql", headers: ["Content-Type: \(type)"], body: Self.drop)
            #expect(
                answer.status == 415 && answer.code == "unsupported_media_type",
                "\(name): \(answer.status) \(answer.text)")
            #expect(answer.message.contains("application/json"), "\(answer.message)")
        }
        let untyped = try RawHTTP.exchange(port: port, "POST", "/sql", body: Self.drop)
        #expect(untyped.status == 415, "no Content-Type: \(untyped.status) \(untyped.text)")
        let gzip = try RawHTTP.exchange(
            port: port, "POST", "/sql", headers: ["Content-Type: application/json", "Content-Encoding: gzip"],
            body: Self.drop)
        #expect(gzip.status == 415 && gzip.message.contains("gzip"), "\(gzip.status) \(gzip.text)")

        // A page's fetch with a JSON body carries its Origin.
        let origin = try RawHTTP.exchange(
            port: port, "POST", "/sql", headers: ["Content-Type: application/json", "Origin: http://evil.example"],
            body: Self.drop)
        #expect(origin.status == 403 && origin.message.contains("--allow-origin"), "\(origin.status) \(origin.text)")
        let nullOrigin = try RawHTTP.exchange(
            port: port, "POST", "/sql", headers: ["Content-Type: application/json", "Origin: null"], body: Self.drop)
        #expect(nullOrigin.status == 403, "Origin: null: \(nullOrigin.status)")

        // DNS rebinding: the page's own name resolves to 127.0.0.1; it must not even read.
        for host in ["attacker.example", "attacker.example:\(port)", "localhost.attacker.example", "127.0.0.1.nip.io"] {
            let read = try RawHTTP.exchange(port: port, "GET", "/tables", host: host)
            #expect(
                read.status == 421 && read.message.contains("--allow-host"), "Host \(host): \(read.status) \(read.text)"
            )
            let write = try RawHTTP.exchange(
                port: port, "POST", "/sql", headers: ["Content-Type: application/json"], body: Self.drop, host: host)
            #expect(write.status == 421, "Host \(host): \(write.status)")
        }
        // A second Host header cannot smuggle a foreign name past the first.
        let twoHosts = try RawHTTP.exchange(port: port, "GET", "/tables", headers: ["Host: attacker.example"])
        #expect(twoHosts.status == 421 || twoHosts.status == 400, "two Host headers: \(twoHosts.status)")
        #expect(try tableNames(server.client()) == ["notes"], "nothing was dropped")

        // What names this server is accepted, with JSON bodies in any parameter spelling.
        for host in ["127.0.0.1:\(port)", "localhost:\(port)", "LOCALHOST", "[::1]:\(port)", "127.0.0.1"] {
            let read = try RawHTTP.exchange(port: port, "GET", "/tables", host: host)
            #expect(read.status == 200, "Host \(host): \(read.status) \(read.text)")
        }
        let json = try RawHTTP.exchange(
            port: port, "POST", "/sql", headers: ["Content-Type: Application/JSON; charset=utf-8"],
            body: #"{"sql": "SELECT count(*) AS n FROM notes"}"#)
        #expect(json.status == 200, "\(json.status) \(json.text)")

        // The Unix socket: no browser reaches it and clients send any Host (curl sends localhost),
        // but bodies must still be JSON and an Origin is still refused.
        let socket = try #require(server.socketPath)
        func unix(_ head: String, _ body: String) throws -> RawHTTP.Response {
            let connection = try RawHTTP(unixPath: socket)
            connection.send(head + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
            return try connection.readResponse()
        }
        #expect(try unix("GET /tables HTTP/1.1\r\nHost: anything.example\r\n", "").status == 200)
        #expect(
            try unix("POST /sql HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n", Self.drop).status == 415)
        #expect(
            try unix(
                "POST /sql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nOrigin: http://evil.example\r\n",
                Self.drop
            ).status == 403)
        #expect(try tableNames(server.client()) == ["notes"], "nothing was dropped")
    }

    @Test func allowedHostsAndOriginsAreLetIn() throws {
        let directory = TemporaryDirectory("quiver-http")
        let server = try ServerProcess(
            database: directory.file("db"),
            [
                "--port", "0", "--allow-host", "Quiver.Internal",
                "--allow-origin", "http://localhost:3000/",
            ])
        let port = try #require(server.port)
        try notesTable(server.client())
        let named = try RawHTTP.exchange(port: port, "GET", "/tables", host: "quiver.internal:\(port)")
        #expect(named.status == 200, "\(named.status) \(named.text)")
        #expect(try RawHTTP.exchange(port: port, "GET", "/tables", host: "other.internal").status == 421)

        let preflight = try RawHTTP.exchange(
            port: port, "OPTIONS", "/sql",
            headers: [
                "Origin: http://localhost:3000", "Access-Control-Request-Method: POST",
                "Access-Control-Request-Headers: content-type",
            ])
        #expect((200..<300).contains(preflight.status), "\(preflight.status) \(preflight.text)")
        #expect(preflight.headers["access-control-allow-origin"] == "http://localhost:3000")
        let call = try RawHTTP.exchange(
            port: port, "POST", "/sql", headers: ["Content-Type: application/json", "Origin: http://localhost:3000"],
            body: #"{"sql": "SELECT 1 AS one"}"#)
        #expect(
            call.status == 200 && call.headers["access-control-allow-origin"] == "http://localhost:3000",
            "\(call.status) \(call.headers)")
        let other = try RawHTTP.exchange(
            port: port, "POST", "/sql", headers: ["Content-Type: application/json", "Origin: http://localhost:3001"],
            body: Self.drop)
        #expect(other.status == 403 && other.headers["access-control-allow-origin"] == nil)
        #expect(try tableNames(server.client()) == ["notes"])
    }

    // MARK: - Tokens that cannot mean what they say are refused at start

    @Test func emptyOrSharedTokensAreRefused() throws {
        let directory = TemporaryDirectory("quiver-http")
        let binary = try #require(ServerProcess.located.path)
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "QUIVER_READ_TOKEN")
        for (arguments, variables, expected) in [
            ([String](), ["QUIVER_TOKEN": ""], "QUIVER_TOKEN is set but empty"),
            (["--token", "w"], ["QUIVER_READ_TOKEN": ""], "QUIVER_READ_TOKEN is set but empty"),
            (["--token", "same", "--read-token", "same"], [:], "same as the token"),
            (["--read-token", "same"], ["QUIVER_TOKEN": "same"], "same as the token"),
            (["--token", "w", "--read-token", ""], [:], "--read-token must not be empty"),
        ] {
            var env = environment
            env.removeValue(forKey: "QUIVER_TOKEN")
            for (key, value) in variables { env[key] = value }
            let outcome = try ProcessRunner.run(
                binary, ["serve", "--db", directory.file("db"), "--port", "0"] + arguments,
                environment: env, timeout: 30)
            #expect(!outcome.succeeded && !outcome.timedOut, "\(arguments) \(variables) started: \(outcome)")
            #expect(outcome.stderr.contains(expected), "\(arguments) \(variables): \(outcome.stderr)")
        }
    }

    // MARK: - Statuses and messages say what happened

    @Test func bodiesPastTheLimitAndBrokenChunksAreClientErrors() throws {
        let directory = TemporaryDirectory("quiver-http")
        let server = try ServerProcess(database: directory.file("db"), ["--port", "0", "--max-body-bytes", "1000"])
        let port = try #require(server.port)

        let chunked = try RawHTTP(port: port)
        let chunk = String(repeating: " ", count: 600)
        chunked.send(
            "POST /sql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n0\r\n\r\n")
        let tooLarge = try chunked.readResponse()
        #expect(tooLarge.status == 413 && tooLarge.code == "too_large", "\(tooLarge.status) \(tooLarge.text)")
        #expect(tooLarge.message.contains("1000 bytes"), "\(tooLarge.message)")

        let broken = try RawHTTP(port: port)
        broken.send(
            "POST /sql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
        )
        let badChunk = try broken.readResponse()
        #expect(badChunk.status == 400, "\(badChunk.status) \(badChunk.text)")

        // Both framings at once is a smuggling attempt.
        let both = try RawHTTP(port: port)
        both.send(
            "POST /sql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        #expect(try both.readResponse().status == 400)

        // Heads past the decoder's limits are refused, and the server goes on.
        let huge = try RawHTTP.exchange(
            port: port, "GET", "/health", headers: ["X-Big: " + String(repeating: "a", count: 100_000)])
        #expect((400..<500).contains(huge.status), "huge header: \(huge.status)")
        let many = try RawHTTP.exchange(port: port, "GET", "/health", headers: (0..<1_100).map { "X-H\($0): v" })
        #expect((400..<500).contains(many.status), "many headers: \(many.status)")
        #expect(try server.client().health())
    }

    @Test func malformedBodiesSayWhatIsWrongAndWhere() throws {
        let directory = TemporaryDirectory("quiver-http")
        let server = try ServerProcess(database: directory.file("db"))
        let client = server.client()
        try notesTable(client)
        func post(_ path: String, _ body: String) throws -> ClientError? {
            do {
                _ = try client.call("POST", path, try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)))
            } catch let error as ClientError {
                return error
            } catch {
                // The client cannot even parse it: send the text as it is.
                let answer = try client.send("POST", path, body: Data(body.utf8))
                return ClientError(status: answer.status, code: nil, message: answer.text)
            }
            return nil
        }
        func raw(_ path: String, _ body: String) throws -> (Int, String) {
            let answer = try client.send("POST", path, body: Data(body.utf8))
            return (answer.status, answer.text)
        }

        let fraction = try raw("/tables/notes/query", #"{"vector": [1, 0], "k": 1.5}"#)
        #expect(fraction.0 == 400 && fraction.1.contains("k") && !fraction.1.contains("malformed"), "\(fraction)")

        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        let nested = try raw("/sql", #"{"sql": "SELECT 1", "params": "# + deep + "}")
        #expect(nested.0 == 400 && nested.1.contains("nested deeper than") && nested.1.contains("params"), "\(nested)")

        // Duplicate keys: the second "rows" would silently replace the first.
        let duplicate = try raw("/tables/notes/rows", #"{"rows": [{"id": 9, "body": "x"}], "rows": []}"#)
        #expect(
            duplicate.0 == 400 && duplicate.1.contains("duplicate key") && duplicate.1.contains("rows")
                && duplicate.1.contains("the top level"), "\(duplicate)")
        let inner = try raw("/tables/notes/rows", #"{"rows": [{"id": 9}, {"id": 10, "body": "a", "bo\u0064y": "b"}]}"#)
        #expect(inner.0 == 400 && inner.1.contains("\\\"body\\\"") && inner.1.contains("rows[1]"), "\(inner)")
        let filter = try raw("/tables/notes/query", #"{"vector": [1, 0], "filter": {"id": 1, "id": 2}}"#)
        #expect(filter.0 == 400 && filter.1.contains("filter"), "\(filter)")
        #expect(
            try client.call("POST", "/tables/notes/rows/get", ["ids": [9, 10]])["missing"]?.arrayValue?.count == 2,
            "nothing of the refused bodies was written")
        // The same keys in different objects are fine.
        #expect(try raw("/tables/notes/rows", #"{"rows": [{"id": 9, "body": "x"}, {"id": 10, "body": "y"}]}"#).0 == 200)
    }

    /// A real full disk: the database on a 2 MB tmpfs (mounting needs root).
    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
    func aFullDiskIs507AndKeepsNothing() throws {
        let directory = TemporaryDirectory("quiver-http")
        let mount = directory.file("small")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let mounted = try ProcessRunner.run(
            "/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mount], timeout: 30)
        try #require(mounted.succeeded, "\(mounted)")
        defer { _ = try? ProcessRunner.run("/bin/umount", ["-l", mount], timeout: 30) }
        let server = try ServerProcess(database: mount + "/db")
        let client = server.client()
        try notesTable(client)
        var status: Int?
        var message = ""
        let text = String(repeating: "x", count: 100_000)
        for batch in 0..<40 {
            do {
                try client.call(
                    "POST", "/tables/notes/rows",
                    [
                        "rows": .array(
                            (0..<5).map { i in
                                ["id": .integer(Int64(100 + batch * 5 + i)), "body": .string(text)]
                            })
                    ])
            } catch let error as ClientError {
                status = error.status
                message = error.message
                break
            }
        }
        #expect(status == 507, "\(String(describing: status)): \(message)")
        #expect(message.contains("full"), "\(message)")
        #expect(try client.health(), "the server still answers")
    }

    // MARK: - HTTP semantics

    @Test func headIsAnsweredWhereverGetIs() throws {
        let directory = TemporaryDirectory("quiver-http")
        let server = try ServerProcess(database: directory.file("db"), ["--port", "0", "--token", "w"])
        let port = try #require(server.port)
        try notesTable(server.client(token: "w"))
        for (path, auth) in [
            ("/health", [String]()), ("/tables", ["Authorization: Bearer w"]),
            ("/tables/notes", ["Authorization: Bearer w"]),
            ("/metrics", ["Authorization: Bearer w"]),
        ] {
            let get = try RawHTTP.exchange(port: port, "GET", path, headers: auth)
            let connection = try RawHTTP(port: port)
            connection.send("HEAD \(path) HTTP/1.1\r\nHost: localhost\r\n" + auth.map { $0 + "\r\n" }.joined() + "\r\n")
            let head = try connection.readResponse(head: true)
            #expect(head.status == 200, "HEAD \(path): \(head.status)")
            if path != "/metrics" { // metrics change between the two requests
                #expect(
                    head.headers["content-length"] == get.headers["content-length"], "HEAD \(path): \(head.headers)")
            }
            #expect(head.headers["content-type"] == get.headers["content-type"])
            // No body followed: the connection answers the next request cleanly.
            connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try connection.readResponse().status == 200, "after HEAD \(path)")
        }
        let unauthorized = try RawHTTP(port: port)
        unauthorized.send("HEAD /tables HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try unauthorized.readResponse(head: true).status == 401)
        let post = try RawHTTP(port: port)
        post.send("HEAD /sql HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer w\r\n\r\n")
        let notAllowed = try post.readResponse(head: true)
        #expect(
            notAllowed.status == 405 && notAllowed.headers["allow"] == "POST",
            "\(notAllowed.status) \(notAllowed.headers)")
    }

    @Test func http10ConnectionsCloseUnlessKeptAlive() throws {
        let directory = TemporaryDirectory("quiver-http")
        let server = try ServerProcess(database: directory.file("db"))
        let port = try #require(server.port)
        let plain = try RawHTTP(port: port)
        plain.send("GET /health HTTP/1.0\r\n\r\n")
        #expect(try plain.readResponse().status == 200)
        #expect(
            plain.closedByServer(within: 10), "an HTTP/1.0 connection without keep-alive is closed after the answer")

        let kept = try RawHTTP(port: port)
        kept.send("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try kept.readResponse().status == 200)
        kept.send("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try kept.readResponse().status == 200, "keep-alive asked for, kept")

        let closing = try RawHTTP(port: port)
        closing.send("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        #expect(try closing.readResponse().status == 200)
        #expect(closing.closedByServer(within: 10))
    }

    @Test func slowClientsAreCutOff() throws {
        let directory = TemporaryDirectory("quiver-http")
        let server = try ServerProcess(database: directory.file("db"), ["--port", "0", "--read-timeout", "2"])
        let port = try #require(server.port)

        // A head trickled a byte every half second never completes in time.
        let slowHead = try RawHTTP(port: port)
        let started = Date()
        var cutOff = false
        for byte in "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Padding: \(String(repeating: "a", count: 60))\r\n\r\n"
            .utf8
        {
            if !slowHead.send(Data([byte])) || slowHead.closedByServer(within: 0.5) {
                cutOff = true
                break
            }
        }
        #expect(cutOff, "the slow head was answered or left open")
        #expect(Date().timeIntervalSince(started) < 20)

        // A body trickled after a complete head, likewise.
        let slowBody = try RawHTTP(port: port)
        slowBody.send(
            "POST /sql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
        var bodyCut = false
        for _ in 0..<40 {
            if !slowBody.send(" ") || slowBody.closedByServer(within: 0.5) {
                bodyCut = true
                break
            }
        }
        #expect(bodyCut, "the slow body was not cut off")

        // An idle kept-alive connection is closed too; a prompt client is served throughout.
        let idle = try RawHTTP(port: port)
        idle.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try idle.readResponse().status == 200)
        #expect(idle.closedByServer(within: 15))
        #expect(try server.client().health())
    }

    @Test func pathAndMethodTricksFindNothing() throws {
        let directory = TemporaryDirectory("quiver-http")
        let server = try ServerProcess(database: directory.file("db"))
        let port = try #require(server.port)
        try notesTable(server.client())
        for path in [
            "/tables/%2e%2e", "/tables/..%2fsql", "/tables/notes%00", "/tables/%2e%2e/rows", "/tables/notes/../../sql",
            "//tables", "/tables/notes?x=%00", "/tables/%ZZ",
        ] {
            let answer = try RawHTTP.exchange(port: port, "GET", path)
            #expect([200, 400, 404, 405].contains(answer.status), "GET \(path): \(answer.status) \(answer.text)")
            if answer.status == 200 { #expect(answer.text.contains("\"notes\""), "GET \(path): \(answer.text)") }
        }
        let delete = try RawHTTP.exchange(port: port, "DELETE", "/tables/%2e%2e")
        #expect(delete.status == 404, "\(delete.status) \(delete.text)")
        #expect(try tableNames(server.client()) == ["notes"])
    }

    // MARK: - Rows and tables

    @Test func upsertsWithoutACallerKeyAreRefused() throws {
        let directory = TemporaryDirectory("quiver-http")
        let server = try ServerProcess(database: directory.file("db"))
        let client = server.client()
        try client.call(
            "POST", "/tables",
            [
                "name": "docs",
                "columns": [
                    ["name": "slug", "type": "TEXT", "primary_key": true], ["name": "body", "type": "TEXT"],
                ],
            ])
        for row: JSONValue in [["body": "no key"], ["slug": nil, "body": "null key"]] {
            do {
                try client.call("POST", "/tables/docs/rows", ["rows": [["slug": "a", "body": "fine"], row]])
                Issue.record("an upsert without the key was accepted: \(row)")
            } catch let error as ClientError {
                #expect(
                    error.status == 400 && error.message.contains("rows[1]") && error.message.contains("slug"),
                    "\(error)")
            }
        }
        #expect(
            try client.sql("SELECT count(*) FROM docs").first?.rows.first?.first?.integerValue == 0, "all or nothing")
        // Sent twice, a keyed batch is one row.
        for _ in 0..<2 { try client.call("POST", "/tables/docs/rows", ["rows": [["slug": "a", "body": "fine"]]]) }
        #expect(try client.sql("SELECT count(*) FROM docs").first?.rows.first?.first?.integerValue == 1)
        // INTEGER PRIMARY KEY: SQLite assigns the id (documented: such a row is new each time).
        try notesTable(client)
        try client.call("POST", "/tables/notes/rows", ["rows": [["body": "assigned"]]])
        #expect(try client.sql("SELECT count(*) FROM notes").first?.rows.first?.first?.integerValue == 3)
    }

    @Test func rowidAliasesAreRefusedAsColumnNames() throws {
        let directory = TemporaryDirectory("quiver-http")
        let server = try ServerProcess(database: directory.file("db"))
        let client = server.client()
        for name in ["rowid", "ROWID", "_rowid_", "oid", "OiD"] {
            do {
                try client.call(
                    "POST", "/tables",
                    [
                        "name": "t",
                        "columns": [
                            ["name": "x", "type": "TEXT"],
                            ["name": .string(name), "type": "TEXT", "primary_key": true],
                            ["name": "e", "type": "VECTOR(2)"],
                        ],
                    ])
                Issue.record("a column named \(name) was accepted")
            } catch let error as ClientError {
                #expect(
                    error.status == 400 && error.message.contains("columns[1].name")
                        && error.message.contains("row id"), "\(error)")
            }
        }
        #expect(try tableNames(client).isEmpty)
    }

    // MARK: - Every route's SQL runs under the watchdog; shutdown ends running work

    static let forever =
        "id IN (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT n FROM c WHERE n < 0)"

    func searchable(_ client: QuiverClient) throws {
        try notesTable(client)
        try client.sql(
            "CREATE VIRTUAL TABLE notes_fts USING fts5(body); INSERT INTO notes_fts(rowid, body) SELECT id, body FROM notes"
        )
        try client.sql("CREATE INDEX notes_e ON notes USING hnsw (e vector_cosine_ops)")
    }

    @Test func neverEndingWhereClausesAreStoppedOnEveryRoute() throws {
        let directory = TemporaryDirectory("quiver-http")
        let server = try ServerProcess(database: directory.file("db"), ["--port", "0", "--statement-timeout", "1"])
        let client = server.client(timeout: 60)
        try searchable(client)
        let requests: [(String, JSONValue)] = [
            ("/tables/notes/hybrid", ["vector": [1, 0], "text": "words", "where": .string(Self.forever)]),
            ("/tables/notes/query", ["vector": [1, 0], "where": .string(Self.forever)]),
            ("/tables/notes/query", ["vector": [1, 0], "where": .string(Self.forever), "exact": true]),
            ("/tables/notes/query/batch", ["queries": [["vector": [1, 0], "where": .string(Self.forever)]]]),
            ("/sql", ["sql": .string("SELECT count(*) FROM notes WHERE \(Self.forever)")]),
        ]
        for (path, body) in requests {
            let started = Date()
            do {
                let answer = try client.call("POST", path, body)
                Issue.record("\(path) answered \(answer)")
            } catch let error as ClientError {
                #expect(error.status == 503 && error.message.contains("--statement-timeout"), "\(path): \(error)")
            }
            #expect(Date().timeIntervalSince(started) < 30, "\(path) was not stopped")
        }
        let after = try client.call("POST", "/tables/notes/hybrid", ["vector": [1, 0], "text": "words"])
        #expect(after["results"]?.arrayValue?.count == 2, "the server answers after the stopped requests")
    }

    @Test func sigtermStopsRunawayWorkAndExits() throws {
        let directory = TemporaryDirectory("quiver-http")
        let server = try ServerProcess(
            database: directory.file("db"), ["--port", "0", "--statement-timeout", "0", "--shutdown-grace", "1"])
        try searchable(server.client())
        let answered = DispatchSemaphore(value: 0)
        final class Outcome: @unchecked Sendable { var status: Int? }
        let outcome = Outcome()
        Thread.detachNewThread {
            do {
                _ = try server.client(timeout: 60).call(
                    "POST", "/tables/notes/hybrid",
                    ["vector": [1, 0], "text": "words", "where": .string(Self.forever)])
            } catch let error as ClientError {
                outcome.status = error.status
            } catch {}
            answered.signal()
        }
        Thread.sleep(forTimeInterval: 1.5)
        let exit = server.stop(signal: SIGTERM, timeout: 40)
        #expect(
            exit == 0, "quiver serve did not exit on SIGTERM (status \(String(describing: exit)))\n\(server.stderr)")
        #expect(answered.wait(timeout: .now() + 40) == .success)
        // 503 when the answer got out before the connection closed; a closed connection otherwise.
        #expect(
            outcome.status == 503 || outcome.status == nil, "the stopped request: \(String(describing: outcome.status))"
        )
    }
}
