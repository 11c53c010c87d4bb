import Foundation
import QuiverJSON

/// A client for `quiver serve`: HTTP/1.1 + JSON over TCP or a Unix domain socket, one
/// keep-alive connection, blocking calls. Not Sendable: use one per thread.
///
///     let client = try QuiverClient(url: "http://127.0.0.1:7070", token: "secret")
///     let sets = try client.sql("SELECT id, title FROM docs LIMIT 3")
///     print(sets[0].columns, sets[0].rows)
///
/// URLs: `http://HOST:PORT`, `unix:/path/to/socket`, `unix:///path/to/socket`, or
/// `http+unix://%2Fpath%2Fto%2Fsocket`.
public final class QuiverClient {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)

        var hostHeader: String {
            switch self {
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix: "localhost"
            }
        }
    }

    public let endpoint: Endpoint
    /// Called with the method, path and answer of every request (for logging or contract checks).
    public var onResponse: ((_ method: String, _ path: String, _ response: Response) -> Void)?
    private let token: String?
    private let connection: HTTPConnection

    public init(endpoint: Endpoint, token: String? = nil, timeout: TimeInterval = 60) {
        self.endpoint = endpoint
        self.token = token
        self.connection = HTTPConnection(endpoint: endpoint, timeout: timeout)
    }

    public convenience init(url: String, token: String? = nil, timeout: TimeInterval = 60) throws {
        self.init(endpoint: try Self.endpoint(url), token: token, timeout: timeout)
    }

    /// Parses a server URL into where to connect.
    public static func endpoint(_ url: String) throws -> Endpoint {
        if url.hasPrefix("unix:") && !url.hasPrefix("unix://") { return .unix(path: String(url.dropFirst(5))) }
        if url.hasPrefix("unix://") { return .unix(path: String(url.dropFirst(7))) }
        if url.hasPrefix("http+unix://") {
            let rest = url.dropFirst("http+unix://".count)
            let encoded = rest.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
            guard let path = encoded.removingPercentEncoding, !path.isEmpty else {
                throw ClientError(message: "no socket path in \(url)")
            }
            return .unix(path: path)
        }
        guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host,
            !host.isEmpty
        else {
            throw ClientError(message: "expected http://HOST:PORT or unix:/path/to/socket, got \(url)")
        }
        return .tcp(host: host, port: components.port ?? 7070)
    }

    /// Runs a script of SQL (all or nothing) and returns the rows of each statement that
    /// returns rows. Parameters bind `?`/`?N` in order.
    @discardableResult
    public func sql(_ sql: String, parameters: [JSONValue] = []) throws -> [ResultSet] {
        var body: [String: JSONValue] = ["sql": .string(sql)]
        if !parameters.isEmpty { body["params"] = .array(parameters) }
        return try resultSets(call("POST", "/sql", .object(body)))
    }

    /// As `sql(_:parameters:)` with named parameters (`:name`, `@name`, `$name`).
    @discardableResult
    public func sql(_ sql: String, named: [String: JSONValue]) throws -> [ResultSet] {
        try resultSets(call("POST", "/sql", .object(["sql": .string(sql), "params": .object(named)])))
    }

    /// True when the server answers `GET /health`.
    public func health() throws -> Bool {
        try call("GET", "/health")["status"]?.stringValue == "ok"
    }

    /// Calls an endpoint with a JSON body and returns the JSON answer; a non-2xx answer throws
    /// a `ClientError` carrying the server's status, error code and message.
    @discardableResult
    public func call(_ method: String, _ path: String, _ body: JSONValue? = nil) throws -> JSONValue {
        let response = try send(method, path, body: try body.map { try JSONEncoder().encode($0) })
        guard (200..<300).contains(response.status) else {
            let error = (try? JSONDecoder().decode(JSONValue.self, from: response.body))?["error"]
            var failure = ClientError(
                status: response.status, code: error?["code"]?.stringValue,
                message: error?["message"]?.stringValue ?? String(decoding: response.body, as: UTF8.self))
            if let sql = error?["sql"], let message = sql["message"]?.stringValue {
                failure.sql = .init(
                    statement: sql["statement"]?.integerValue.map(Int.init),
                    offset: sql["offset"]?.integerValue.map(Int.init), message: message)
            }
            throw failure
        }
        guard !response.body.isEmpty else { return .null }
        if response.contentType.hasPrefix("application/json") {
            return try JSONDecoder().decode(JSONValue.self, from: response.body)
        }
        return .string(String(decoding: response.body, as: UTF8.self))
    }

    /// One raw request; the body is sent as given (JSON unless `contentType` says otherwise).
    public func send(
        _ method: String, _ path: String, body: Data? = nil, contentType: String = "application/json",
        headers extra: [(String, String)] = []
    ) throws -> Response {
        var headers: [(String, String)] = []
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil { headers.append(("Content-Type", contentType)) }
        headers += extra
        let raw = try connection.send(method: method, path: path, headers: headers, body: body)
        let response = Response(status: raw.status, headers: raw.headers, body: raw.body)
        onResponse?(method, path, response)
        return response
    }

    /// Closes the connection (the next call opens a new one).
    public func close() { connection.disconnect() }

    /// A raw HTTP answer.
    public struct Response: Sendable {
        public var status: Int
        /// Header names lowercased.
        public var headers: [String: String]
        public var body: Data

        public var contentType: String { headers["content-type"] ?? "" }
        public var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: body) }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// The rows one statement returned.
    public struct ResultSet: Sendable, Equatable {
        public var columns: [String]
        public var rows: [[JSONValue]]
    }

    private func resultSets(_ answer: JSONValue) throws -> [ResultSet] {
        guard let results = answer["results"]?.arrayValue else {
            throw ClientError(message: "unexpected answer: \(answer.jsonText)")
        }
        return results.map { set in
            ResultSet(
                columns: set["columns"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                rows: set["rows"]?.arrayValue?.map { $0.arrayValue ?? [] } ?? [])
        }
    }
}

/// A failed call: the server's status, error code and message, or what went wrong on the way.
public struct ClientError: Error, CustomStringConvertible, Sendable {
    /// The HTTP status, when the server answered.
    public var status: Int?
    public var code: String?
    public var message: String
    /// When a statement failed: the server's account of it in parts.
    public var sql: SQLFailure?

    /// A failed statement: its number in a script of several, the byte in the request's SQL
    /// where the failure lies, and the failure's message without either.
    public struct SQLFailure: Sendable, Equatable {
        public var statement: Int?
        public var offset: Int?
        public var message: String

        public init(statement: Int?, offset: Int?, message: String) {
            self.statement = statement
            self.offset = offset
            self.message = message
        }
    }

    public init(status: Int? = nil, code: String? = nil, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String {
        status.map { "\($0)\(code.map { " \($0)" } ?? ""): \(message)" } ?? message
    }
}
