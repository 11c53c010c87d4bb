import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Readies a Unix socket path for listening: a socket file left by a server that died is
/// removed; one that a live server answers on, or any other kind of file, is refused.
enum UnixSocketPath {
    static func prepare(_ path: String) throws {
        guard path.utf8.count < 104 else {
            throw ServerError("socket path too long (\(path.utf8.count) bytes; the limit is 103)")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw ServerError("\(path) exists and is not a socket; refusing to replace it")
        }
        if isAnswered(path) { throw ServerError("another server is listening on \(path)") }
        unlink(path)
    }

    private static func isAnswered(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes + [0])
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}
