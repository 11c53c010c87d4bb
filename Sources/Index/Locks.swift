#if canImport(Glibc)
    import Glibc
#endif

/// Many readers or one writer (searches vs. changes to the graph).
final class ReadWriteLock: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    init() { pthread_rwlock_init(lock, nil) }
    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func read<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    func write<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}

/// A fixed set of mutexes, one chosen per node id: lets parallel inserts lock the neighbour
/// lists they touch without a mutex per node (hnswlib keeps one per node; millions of
/// pthread mutexes cost 40 bytes each).
final class StripedLocks: @unchecked Sendable {
    private let count = 4096
    private let locks: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        locks = .allocate(capacity: count)
        for i in 0..<count { pthread_mutex_init(locks + i, nil) }
    }

    deinit {
        for i in 0..<count { pthread_mutex_destroy(locks + i) }
        locks.deallocate()
    }

    @inline(__always)
    func withLock<T>(_ node: UInt32, _ body: () throws -> T) rethrows -> T {
        let lock = locks + Int(node & UInt32(count - 1))
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return try body()
    }
}
