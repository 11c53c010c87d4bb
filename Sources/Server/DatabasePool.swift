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
    /// `timeout` (seconds, 0 for none) interrupts a job's statements when it runs longer;
    /// `maxResultBytes` bounds the results of one job's scripts (413 past it).
    init(path: String, readers readerCount: Int, timeout: Double = 0, maxResultBytes: Int? = nil) throws {
        self.readerCount = readerCount
        writer = try ConnectionThreads(name: "quiver-writer", count: 1, timeout: timeout) {
            let database = try Database(path: path)
            database.maxResultBytes = maxResultBytes
            return database
        }
        readers = try ConnectionThreads(name: "quiver-reader", count: readerCount, timeout: timeout) {
            let database = try Database(path: path, create: false)
            database.maxResultBytes = maxResultBytes
            return database
        }
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

    /// Interrupts what runs now and refuses the rest (see ConnectionThreads.stopRunningWork).
    func stopRunningWork() {
        readers.stopRunningWork()
        writer.stopRunningWork()
    }

    /// Lets the threads finish their queued jobs and exit.
    func close() {
        readers.close()
        writer.close()
    }
}

/// Threads that each own one `Database` and take jobs from one shared queue in order.
///
/// A watchdog thread interrupts (sqlite3_interrupt) the statements of a job that has run longer
/// than the timeout, or of every job once the server stops running work; the job then fails
/// with 503 and its transaction is rolled back.
final class ConnectionThreads: @unchecked Sendable {
    /// A job gets its connection (nil: dropped unrun at shutdown) and a `finish` call that ends
    /// the job's watch and tells whether, and why, the watchdog interrupted it.
    typealias Job = (Database?, () -> Interruption?) -> Void

    enum Interruption {
        case timeout
        case shutdown
    }

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var closed = false

    // Guarded by `activity`: what each worker runs since when, for the watchdog.
    private let activity = NSLock()
    private var databases: [Database?]
    private var startedAt: [UInt64?]
    private var interrupted: [Interruption?]
    private var stopping = false
    private let timeout: Double

    init(name: String, count: Int, timeout: Double = 0, open: @escaping @Sendable () throws -> Database) throws {
        self.timeout = timeout
        databases = Array(repeating: nil, count: count)
        startedAt = Array(repeating: nil, count: count)
        interrupted = Array(repeating: nil, count: count)
        for index in 0..<count {
            let opened = Opened()
            let ready = DispatchSemaphore(value: 0)
            let thread = Thread { [self] in
                // Opened on its own thread: the connection never changes threads.
                do { opened.database = try open() } catch { opened.error = error }
                let database = opened.database
                if let database { self.activity.withLock { self.databases[index] = database } }
                ready.signal()
                if let database { self.serve(database, worker: index) }
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
        let watchdog = Thread { [self] in self.watch() }
        watchdog.name = "\(name)-watchdog"
        watchdog.start()
    }

    /// Every quarter second: interrupts jobs past the time limit, or every job once the server
    /// is stopping. A stopped job is interrupted again at every tick until it ends: an interrupt
    /// reaches only the statements running at that moment, and a job may go on to start others
    /// (a planner that falls back to plain SQL after its own statement was stopped).
    /// The interrupt is sent under `activity`, which a job's `finish` also takes, so it can only
    /// reach the job it is meant for.
    private func watch() {
        while !isClosed {
            Thread.sleep(forTimeInterval: 0.25)
            activity.withLock {
                // Read under the lock: a job that started after a reading taken outside it would
                // make `now - started` negative, a trap in UInt64.
                let now = DispatchTime.now().uptimeNanoseconds
                for worker in startedAt.indices {
                    guard let started = startedAt[worker] else { continue }
                    if interrupted[worker] == nil {
                        if stopping {
                            interrupted[worker] = .shutdown
                        } else if timeout > 0 && Double(now - started) / 1e9 > timeout {
                            interrupted[worker] = .timeout
                        } else {
                            continue
                        }
                    }
                    databases[worker]?.interrupt()
                }
            }
        }
    }

    /// Stops the jobs running now (they fail with 503 and roll back) and refuses queued and
    /// new ones: the server is shutting down and its grace period for requests is over.
    func stopRunningWork() {
        activity.withLock { stopping = true }
        condition.lock()
        let abandoned = jobs[head...]
        jobs.removeAll()
        head = 0
        condition.unlock()
        for job in abandoned { job(nil, { .shutdown }) }
    }

    private var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
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
            let timeout = self.timeout
            let job: Job = { database, finish in
                let result = database.map { database in Result { try body(database) } }
                switch finish() {
                case .timeout?:
                    continuation.resume(
                        throwing: APIError.unavailable(
                            "the request ran longer than the limit of \(timeout) s (--statement-timeout) and was stopped; nothing of it was kept"
                        ))
                case .shutdown?:
                    continuation.resume(
                        throwing: APIError.unavailable(
                            "the server is shutting down and stopped this request; nothing of it was kept"))
                case nil:
                    continuation.resume(with: result ?? .failure(APIError.unavailable("the server is shutting down")))
                }
            }
            let refused = activity.withLock { stopping }
            condition.lock()
            if closed || refused {
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

    private func serve(_ database: Database, worker: Int) {
        while let job = next() {
            activity.withLock {
                startedAt[worker] = DispatchTime.now().uptimeNanoseconds
                interrupted[worker] = nil
            }
            job(database) {
                self.activity.withLock {
                    self.startedAt[worker] = nil
                    return self.interrupted[worker]
                }
            }
        }
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
