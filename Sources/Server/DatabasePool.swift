import Foundation
import QuiverEngine

/// The server's connections to one database: a pool of readers and one writer, each a
/// `Database` owned by its own thread (a `Database` is not Sendable).
///
/// SQLite in WAL mode lets readers run beside the writer and each reader sees only committed
/// transactions, so a batch written in one transaction is seen whole or not at all. Writes go
/// through the single writer thread in arrival order, so they never wait on SQLite's lock.
/// Work runs on these threads rather than on Swift's cooperative pool, which SQLite calls
/// (blocking, CPU-bound) would otherwise starve.
final class DatabasePool: Sendable {
    let readerCount: Int
    private let readers: ConnectionThreads
    private let writer: ConnectionThreads

    /// Opens every connection now, so a bad directory fails before the server listens.
    init(path: String, readers readerCount: Int) throws {
        self.readerCount = readerCount
        writer = try ConnectionThreads(name: "quiver-writer", count: 1) { try Database(path: path) }
        readers = try ConnectionThreads(name: "quiver-reader", count: readerCount) { try Database(path: path, create: false) }
    }

    /// Runs `body` on a free reader connection.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await readers.run(body)
    }

    /// Runs `body` on the writer connection, after every write submitted before it.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writer.run(body)
    }

    /// Jobs waiting for a reader and for the writer (for metrics).
    var queued: (readers: Int, writer: Int) { (readers.queued, writer.queued) }

    /// Lets the threads finish their queued jobs and exit.
    func close() {
        readers.close()
        writer.close()
    }
}

/// Threads that each own one `Database` and take jobs from one shared queue in order.
final class ConnectionThreads: @unchecked Sendable {
    typealias Job = (Database) -> Void

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var closed = false

    init(name: String, count: Int, open: @escaping @Sendable () throws -> Database) throws {
        for index in 0..<count {
            let opened = Opened()
            let ready = DispatchSemaphore(value: 0)
            let thread = Thread { [self] in
                // Opened on its own thread: the connection never changes threads.
                do { opened.database = try open() } catch { opened.error = error }
                let database = opened.database
                ready.signal()
                if let database { self.serve(database) }
            }
            thread.name = count == 1 ? name : "\(name)-\(index)"
            thread.stackSize = 4 << 20
            thread.start()
            ready.wait()
            if let error = opened.error {
                close()
                throw error
            }
        }
    }

    private final class Opened: @unchecked Sendable {
        var database: Database?
        var error: (any Error)?
    }

    var queued: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count - head
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job: Job = { database in continuation.resume(with: Result { try body(database) }) }
            condition.lock()
            if closed {
                condition.unlock()
                continuation.resume(throwing: APIError.unavailable("the server is shutting down"))
                return
            }
            jobs.append(job)
            condition.signal()
            condition.unlock()
        }
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    private func serve(_ database: Database) {
        while let job = next() { job(database) }
    }

    /// The next job, waiting for one; nil once closed and drained.
    private func next() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count {
            if closed { return nil }
            condition.wait()
        }
        let job = jobs[head]
        head += 1
        if head > 1024 && head * 2 > jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }
}
