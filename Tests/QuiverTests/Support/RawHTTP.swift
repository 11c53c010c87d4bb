import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A raw HTTP/1 connection over a plain socket (TCP on 127.0.0.1, or a Unix socket), for the
/// requests QuiverClient never sends: hand-written heads, chunked or broken bodies, HTTP/1.0,
/// bytes sent slowly. Every read has a bounded wait.
final class RawHTTP {
    struct Response {
        var status: Int
        /// Header names lowercased; the last value of a repeated header.
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        /// The `error.message` of a JSON error answer, or the body.
        var message: String {
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                let error = object["error"] as? [String: Any], let message = error["message"] as? String
            else { return text }
            return message
        }
        var code: String? {
            ((try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"] as? [String: Any])?["code"]
                as? String
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(description: "connect to port \(port): errno \(errno)")
        }
    }

    init(unixPath: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in unixPath.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(description: "connect to \(unixPath): errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// Sends the bytes; false when the server has closed the connection.
    @discardableResult
    func send(_ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Data(text.utf8)) }

    /// Waits up to `timeout` for bytes; nil on timeout, an empty array when the server closed.
    private func receive(timeout: TimeInterval) -> [UInt8]? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) > 0 else { return nil }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        return n <= 0 ? [] : Array(chunk[0..<n])
    }

    /// Reads one response (its body by Content-Length; none for a HEAD request).
    func readResponse(timeout: TimeInterval = 30, head: Bool = false) throws -> Response {
        let deadline = Date().addingTimeInterval(timeout)
        func fill() throws {
            guard let bytes = receive(timeout: max(0.01, deadline.timeIntervalSinceNow)) else {
                throw Failure(
                    description:
                        "no complete response within \(timeout) s; got \(String(decoding: buffer, as: UTF8.self).prefix(300))"
                )
            }
            if bytes.isEmpty {
                throw Failure(
                    description: "connection closed; got \(String(decoding: buffer, as: UTF8.self).prefix(300))")
            }
            buffer += bytes
        }
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var end: Int?
        while end == nil {
            end = buffer.indices.dropLast(3).first { Array(buffer[$0..<$0 + 4]) == separator }
            if end == nil { try fill() }
        }
        let headText = String(decoding: buffer[0..<end!], as: UTF8.self)
        buffer.removeFirst(end! + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw Failure(description: "bad status line in \(headText)")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = head ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < length { try fill() }
        let body = Data(buffer.prefix(length))
        buffer.removeFirst(length)
        return Response(status: status, headers: headers, body: body)
    }

    /// Whether the server closes the connection within `timeout` (reading and dropping whatever it sends).
    func closedByServer(within timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let bytes = receive(timeout: max(0.01, deadline.timeIntervalSinceNow)) else { return false }
            if bytes.isEmpty { return true }
        }
        return false
    }

    /// One request on a new connection; `headers` are written as given, then Content-Length for the body.
    static func exchange(
        port: Int, _ method: String, _ path: String, headers: [String] = [], body: String? = nil,
        host: String? = nil
    ) throws -> Response {
        let connection = try RawHTTP(port: port)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\n"
        for header in headers { head += header + "\r\n" }
        if let body { head += "Content-Length: \(body.utf8.count)\r\n" }
        connection.send(head + "\r\n" + (body ?? ""))
        return try connection.readResponse(head: method == "HEAD")
    }
}
