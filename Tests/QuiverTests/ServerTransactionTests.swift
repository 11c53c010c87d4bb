import Foundation
import QuiverClient
import QuiverEngine
import Testing

/// `POST /sql` and transaction control: a request is a transaction. A script may not begin or
/// end one (it would make the script no longer all or nothing), so an acknowledged write is
/// always committed and no pooled connection carries a transaction into another request.
@Suite struct ServerTransactionTests {
    @Test func transactionControlInAScriptIsRefusedAndNothingRuns() throws {
        let tmp = TemporaryDirectory("quiver-serve-tx")
        let db = tmp.file("db")
        let server = try ServerProcess(database: db)
        defer { _ = server.stop() }
        let client = server.client()
        _ = try client.sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")

        #expect { _ = try client.sql("BEGIN") } throws: { error in
            (error as? ClientError)?.status == 403 && "\(error)".contains("BEGIN is not allowed here")
        }
        #expect { _ = try client.sql("BEGIN; INSERT INTO t VALUES (1)") } throws: {
            ($0 as? ClientError)?.status == 403
        }
        #expect { _ = try client.sql("INSERT INTO t VALUES (2); COMMIT") } throws: {
            ($0 as? ClientError)?.status == 403
        }
        #expect { _ = try client.sql("BEGIN; INSERT INTO t VALUES (4); INSERT INTO t VALUES (5); COMMIT") } throws: {
            ($0 as? ClientError)?.status == 403
        }
        _ = try client.sql("INSERT INTO t VALUES (3)")
        _ = try client.sql("INSERT INTO t VALUES (4); INSERT INTO t VALUES (5)")

        // What another connection sees: exactly the acknowledged writes, committed.
        let reader = try Database(path: db)
        let ids = try reader.execute("SELECT id FROM t ORDER BY id").first?.rows.compactMap { $0.first?.integerValue }
        #expect(ids == [3, 4, 5])
        #expect(try client.sql("SELECT count(*) AS n FROM t").first?.rows.first?.first == .integer(3))
    }
}
