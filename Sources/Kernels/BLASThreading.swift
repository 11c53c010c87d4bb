#if canImport(Glibc)
    import Glibc
#endif

/// How many threads the BLAS library may start for one call.
///
/// OpenBLAS (which serves `-lblas` when installed) splits each call across its own threads,
/// which wait for work by spinning. A program that already runs many calls at once on its own
/// threads — the server's readers — loses to that: measured on `quiver serve` at 8 connections,
/// 38% of its CPU went to OpenBLAS's spinning (`exec_blas_async`). Reference BLAS has no threads;
/// the call then does nothing.
public enum BLASThreading {
    /// Makes each BLAS call run on the calling thread. Returns false when the BLAS library has no
    /// such setting (reference BLAS).
    @discardableResult
    public static func useCallingThreadOnly() -> Bool {
        typealias SetThreads = @convention(c) (Int32) -> Void
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "openblas_set_num_threads") else {
            return false
        }
        unsafeBitCast(symbol, to: SetThreads.self)(1)
        return true
    }
}
