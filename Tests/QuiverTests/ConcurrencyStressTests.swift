import Dispatch
import Foundation
import QuiverEngine
import QuiverStorage
import Testing

/// One writer and several readers, each its own `Database` on the same directory, for a few
/// seconds. The writer moves money between accounts (the total never changes) and adds batches
/// of three rows with their count in another table, deleting old batches now and then; it
/// publishes each batch once `execute` has returned. Readers check, every round: the total
/// (no torn read inside one statement), rows against counts (none across the statements of one
/// script), that every published batch is visible (no lost acknowledged write) and found by an
/// index search for its own vector. A watchdog turns a deadlock into a failure.
@Suite struct ConcurrencyStressTests {
    static let accounts = 20
    static let total: Int64 = 20 * 1_000
    static let readers = 4
    static let seconds = 6.0

    static func vector(batch: Int64, row: Int64) -> [Float] {
        var random = SeededRandom(seed: UInt64(batch) &* 1_000_003 &+ UInt64(row))
        return random.vector(8)
    }

    /// What the threads share: published batches, the batches deleted, problems found.
    final class Shared: @unchecked Sendable {
        let lock = NSLock()
        var published: Int64 = 0
        var deleted = Set<Int64>()
        var problems: [String] = []
        var readRounds = 0, searches = 0, searchMisses = 0
        var activity: [String: String] = [:]

        func problem(_ text: String) { lock.withLock { if problems.count < 20 { problems.append(text) } } }
        func doing(_ who: String, _ what: String) { lock.withLock { activity[who] = what } }
    }

    @Test func readersNeverSeeTornOrLostWritesAndNothingDeadlocks() throws {
        let directory = TemporaryDirectory("quiver-stress")
        let path = directory.file("db")
        do {
            let db = try Database(path: path)
            _ = try db.execute(
                """
                CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
                CREATE TABLE items (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, emb VECTOR(8));
                CREATE TABLE batches (batch INTEGER PRIMARY KEY, n INTEGER NOT NULL);
                """)
            try db.executeMany(
                "INSERT INTO accounts VALUES (?, 1000)", (1...Self.accounts).map { SQLBindings([.integer(Int64($0))]) })
            _ = try db.execute(
                "CREATE INDEX items_emb ON items USING hnsw (emb vector_l2_ops) WITH (m = 12, ef_construction = 48)")
        }
        let shared = Shared()
        let deadline = Date().addingTimeInterval(Self.seconds)
        let group = DispatchGroup()

        let writer = Thread {
            defer { group.leave() }
            do {
                let db = try Database(path: path)
                var random = SeededRandom(seed: 99)
                var batch: Int64 = 0
                while Date() < deadline {
                    batch += 1
                    let from = Int64(1 + random.next() % UInt64(Self.accounts))
                    let to = Int64(1 + random.next() % UInt64(Self.accounts))
                    let amount = Int64(random.next() % 50)
                    var values: [SQLValue] = [.integer(amount), .integer(from), .integer(amount), .integer(to)]
                    for row in Int64(0)..<3 {
                        values += [
                            .integer(batch * 4 + row), .integer(batch), .vector(Self.vector(batch: batch, row: row)),
                        ]
                    }
                    values.append(.integer(batch))
                    shared.doing("writer", "batch \(batch)")
                    _ = try db.execute(
                        """
                        UPDATE accounts SET balance = balance - ?1 WHERE id = ?2;
                        UPDATE accounts SET balance = balance + ?3 WHERE id = ?4;
                        INSERT INTO items VALUES (?5, ?6, ?7), (?8, ?9, ?10), (?11, ?12, ?13);
                        INSERT INTO batches VALUES (?14, 3);
                        """, SQLBindings(values))
                    if batch > 20, random.next() % 5 == 0 {
                        // An old batch goes, in one transaction: its rows and its count.
                        let victim = Int64(1 + random.next() % UInt64(batch - 10))
                        shared.doing("writer", "deleting batch \(victim)")
                        // Announced before it commits, so no reader takes its absence for a loss.
                        shared.lock.withLock { _ = shared.deleted.insert(victim) }
                        _ = try db.execute(
                            "DELETE FROM items WHERE batch = ?1; DELETE FROM batches WHERE batch = ?1",
                            SQLBindings([.integer(victim)]))
                    }
                    shared.lock.withLock { shared.published = batch }
                }
                shared.doing("writer", "done")
            } catch {
                shared.problem("writer: \(error)")
            }
        }

        func reader(_ number: Int) -> Thread {
            Thread {
                defer { group.leave() }
                let me = "reader \(number)"
                do {
                    let db = try Database(path: path)
                    var random = SeededRandom(seed: UInt64(number))
                    while Date() < deadline {
                        let (published, deleted) = shared.lock.withLock { (shared.published, shared.deleted) }
                        shared.doing(me, "sum")
                        let sum = try db.execute("SELECT sum(balance), count(*) FROM accounts").first?.rows.first
                        if sum?[0].integerValue != Self.total || sum?[1].integerValue != Int64(Self.accounts) {
                            shared.problem("\(me): torn read: accounts total \(String(describing: sum))")
                        }
                        // Two statements of one script read one snapshot.
                        shared.doing(me, "counts")
                        let counts = try db.execute(
                            "SELECT count(*) FROM items; SELECT coalesce(sum(n), 0), coalesce(max(batch), 0) FROM batches"
                        )
                        let rows = counts[0].rows[0][0].integerValue ?? -1
                        let claimed = counts[1].rows[0][0].integerValue ?? -2
                        let newest = counts[1].rows[0][1].integerValue ?? -1
                        if rows != claimed {
                            shared.problem("\(me): torn read: \(rows) rows but batches count \(claimed)")
                        }
                        if newest < published {
                            shared.problem(
                                "\(me): batch \(published) was acknowledged but the newest visible is \(newest)")
                        }
                        // A published, undeleted batch is there and its rows are found by the index.
                        if published > 0 {
                            let batch = max(1, published - Int64(random.next() % 5))
                            if !deleted.contains(batch) {
                                let row = Int64(random.next() % 3)
                                shared.doing(me, "search batch \(batch)")
                                let hits =
                                    try db.execute(
                                        "SELECT id FROM items ORDER BY emb <-> ? LIMIT 3",
                                        SQLBindings([.vector(Self.vector(batch: batch, row: row))])
                                    ).first?.rows.compactMap { $0[0].integerValue } ?? []
                                let present = try db.execute(
                                    "SELECT count(*) FROM items WHERE id = ?", SQLBindings([.integer(batch * 4 + row)])
                                ).first?.rows.first?.first?.integerValue
                                // The writer may have deleted the batch since this round began.
                                if shared.lock.withLock({ shared.deleted.contains(batch) }) { continue }
                                if present != 1 {
                                    shared.problem(
                                        "\(me): row \(batch * 4 + row) of acknowledged batch \(batch) is missing")
                                }
                                shared.lock.withLock {
                                    shared.searches += 1
                                    if !hits.contains(batch * 4 + row) { shared.searchMisses += 1 }
                                }
                            }
                        }
                        shared.lock.withLock { shared.readRounds += 1 }
                    }
                    shared.doing(me, "done")
                } catch {
                    shared.problem("\(me): \(error)")
                }
            }
        }

        let threads = [writer] + (1...Self.readers).map(reader)
        for thread in threads {
            group.enter()
            thread.start()
        }
        // The watchdog: everyone stops at the deadline, so still running well after it is a deadlock.
        if group.wait(timeout: .now() + Self.seconds + 30) == .timedOut {
            Issue.record(
                "deadlock: threads still running 30 s after the deadline: \(shared.lock.withLock { shared.activity })")
            return
        }
        for problem in shared.problems { Issue.record("\(problem)") }

        // Afterwards, a new connection: every acknowledged batch not deleted, whole; nothing deleted back.
        let db = try Database(path: path)
        let (published, deleted) = (shared.published, shared.deleted)
        let batches = Set(try db.integers("SELECT batch FROM batches"))
        let expected = Set(Int64(1)...max(1, published)).subtracting(deleted)
        #expect(published > 50, "the writer committed only \(published) batches")
        #expect(
            batches == (published > 0 ? expected : []),
            "lost: \(expected.subtracting(batches).sorted().prefix(10)), back: \(batches.subtracting(expected).sorted().prefix(10))"
        )
        #expect(try db.integers("SELECT count(*) FROM items") == [Int64(batches.count * 3)])
        #expect(try db.integers("SELECT sum(balance) FROM accounts") == [Self.total])
        let (rounds, searches, misses) = shared.lock.withLock {
            (shared.readRounds, shared.searches, shared.searchMisses)
        }
        #expect(rounds > 4 * Self.readers, "readers made only \(rounds) rounds")
        // Own-vector searches may miss what recall allows: 2%.
        #expect(misses * 50 <= max(searches, 50), "\(misses) of \(searches) searches missed their own row")
        print(
            "ConcurrencyStressTests: \(published) batches committed (\(deleted.count) deleted), \(rounds) reader rounds, \(searches) index searches (\(misses) missed own row)"
        )
    }
}
