import Foundation
import Glibc

/// One HTTP/1.1 keep-alive connection over a blocking socket (TCP or Unix domain).
///
/// Plain sockets rather than SwiftNIO: the client's users (the shell, tests, the load
/// generator's threads) are synchronous, one request at a time per connection, and a blocking
/// socket serves that with no event loop, no extra threads and no NIO dependency for them.
final class HTTPConnection {
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private let endpoint: QuiverClient.Endpoint
    private let timeout: TimeInterval

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: Data
    }

    init(endpoint: QuiverClient.Endpoint, timeout: TimeInterval) {
        self.endpoint = endpoint
        self.timeout = timeout
    }

    deinit { disconnect() }

    func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
        buffer.removeAll()
    }

    /// Sends one request and reads its response. A kept-alive connection that the server has
    /// closed meanwhile is reopened once, when nothing of the response had arrived.
    func send(method: String, path: String, headers: [(String, String)], body: Data?) throws -> Response {
        let reused = fd >= 0
        if !reused { try connect() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(endpoint.hostHeader)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body?.count ?? 0)\r\n\r\n"
        var request = Data(head.utf8)
        if let body { request.append(body) }
        do {
            try write(request)
            return try readResponse(allowEmpty: reused)
        } catch ConnectionClosed.beforeResponse where reused {
            disconnect()
            try connect()
            try write(request)
            return try readResponse(allowEmpty: false)
        }
    }

    private enum ConnectionClosed: Error { case beforeResponse }

    private func connect() throws {
        switch endpoint {
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            let rc = getaddrinfo(host, String(port), &hints, &list)
            guard rc == 0, let list else {
                throw ClientError(message: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
            }
            defer { freeaddrinfo(list) }
            var lastError = ECONNREFUSED
            var entry: UnsafeMutablePointer<addrinfo>? = list
            while let info = entry {
                let socketFD = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
                if socketFD >= 0 {
                    configure(socketFD)
                    if Glibc.connect(socketFD, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                        var one: Int32 = 1
                        setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                        fd = socketFD
                        return
                    }
                    lastError = errno
                    close(socketFD)
                }
                entry = info.pointee.ai_next
            }
            throw ClientError(message: "cannot connect to \(host):\(port): \(String(cString: strerror(lastError)))")
        case .unix(let path):
            let socketFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard socketFD >= 0 else { throw ClientError(message: "socket: \(String(cString: strerror(errno)))") }
            configure(socketFD)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
                close(socketFD)
                throw ClientError(message: "socket path too long: \(path)")
            }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes + [0]) }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard rc == 0 else {
                let error = errno
                close(socketFD)
                throw ClientError(message: "cannot connect to unix:\(path): \(String(cString: strerror(error)))")
            }
            fd = socketFD
        }
    }

    private func configure(_ socketFD: Int32) {
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socketFD, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    private func write(_ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    let error = errno
                    if error == EPIPE || error == ECONNRESET { throw ConnectionClosed.beforeResponse }
                    disconnect()
                    throw ClientError(message: "send failed: \(String(cString: strerror(error)))")
                }
                offset += n
            }
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
            if n == 0 { return false }
            if errno == EINTR { continue }
            let error = errno
            disconnect()
            if error == EAGAIN || error == EWOULDBLOCK {
                throw ClientError(message: "no response within \(timeout) s")
            }
            if error == ECONNRESET { return false }
            throw ClientError(message: "receive failed: \(String(cString: strerror(error)))")
        }
    }

    private func readResponse(allowEmpty: Bool) throws -> Response {
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = Self.find([13, 10, 13, 10], in: buffer)
            if headerEnd == nil {
                guard try fill() else {
                    let empty = buffer.isEmpty
                    disconnect()
                    if empty && allowEmpty { throw ConnectionClosed.beforeResponse }
                    throw ClientError(message: "the server closed the connection before answering")
                }
            }
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        buffer.removeFirst(headerEnd! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            disconnect()
            throw ClientError(message: "malformed status line from the server")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        var body = Data()
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                let lineEnd = try awaitBytes([13, 10])
                let sizeText = String(decoding: buffer[0..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                    disconnect()
                    throw ClientError(message: "malformed chunk from the server")
                }
                buffer.removeFirst(lineEnd + 2)
                if size == 0 {
                    _ = try awaitBytes([13, 10]) // (no trailers expected)
                    buffer.removeFirst(2)
                    break
                }
                while buffer.count < size + 2 { guard try fill() else { throw truncated() } }
                body.append(contentsOf: buffer[0..<size])
                buffer.removeFirst(size + 2)
            }
        } else if let length = headers["content-length"].flatMap({ Int($0) }) {
            while buffer.count < length { guard try fill() else { throw truncated() } }
            body.append(contentsOf: buffer[0..<length])
            buffer.removeFirst(length)
        } else if status != 204 && status != 304 {
            while try fill() {}
            body.append(contentsOf: buffer)
            buffer.removeAll()
            disconnect()
        }
        if headers["connection"]?.lowercased() == "close" { disconnect() }
        return Response(status: status, headers: headers, body: body)
    }

    private func truncated() -> ClientError {
        disconnect()
        return ClientError(message: "the server closed the connection in the middle of a response")
    }

    private func awaitBytes(_ pattern: [UInt8]) throws -> Int {
        while true {
            if let index = Self.find(pattern, in: buffer) { return index }
            guard try fill() else { throw truncated() }
        }
    }

    private static func find(_ pattern: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        outer: for start in 0...(bytes.count - pattern.count) {
            for (offset, byte) in pattern.enumerated() where bytes[start + offset] != byte { continue outer }
            return start
        }
        return nil
    }
}
