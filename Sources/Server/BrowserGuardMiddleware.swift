import Foundation
import Hummingbird

/// Keeps web pages out: a browser on the machine is not a client unless configured.
///
/// A page can make the browser send a request to the server (a form or `fetch` with
/// `Content-Type: text/plain` needs no preflight), and with DNS rebinding it can even read the
/// answer under a name of its own. So, before authentication and before any body is read:
/// - a body must be `application/json`, unencoded (415): no form or plain-text request gets in;
/// - a request with an `Origin` header comes from a page; unless the origin was allowed with
///   `--allow-origin`, it is refused (403);
/// - on TCP, `Host` must name this server (421): loopback names, an IP address (rebinding needs a
///   name of the attacker's), the `--host` value or a name given with `--allow-host`. A Unix
///   socket is reached by no browser, and clients there send any Host (curl sends `localhost`),
///   so it is not checked there; the rest is.
struct BrowserGuardMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let policy: BrowserPolicy
    /// False on the Unix socket.
    let checksHost: Bool

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response)
        async throws -> Response
    {
        // HTTP/1 codecs move the first Host header into `authority`; any further one stays a field.
        let hosts =
            [request.head.authority].compactMap { $0 }
            + request.headers.filter { $0.name.canonicalName == "host" }.map(\.value)
        if checksHost, let host = hosts.first(where: { !policy.admits(host: $0) }) {
            throw APIError(
                status: .misdirectedRequest, code: "misdirected_request",
                message:
                    "Host \(host) does not name this server (a page on another site could reach it under that name); start the server with --allow-host \(BrowserPolicy.hostName(host)) to accept it"
            )
        }
        if let origin = request.headers[.origin], !policy.allowedOrigins.contains(origin) {
            throw APIError.forbidden(
                "requests from web pages are refused (Origin: \(origin)); start the server with --allow-origin \(origin) to accept this one"
            )
        }
        if Self.hasBody(request) {
            let encoding = request.headers[values: .contentEncoding].joined(separator: ", ")
            if !encoding.isEmpty && encoding.lowercased() != "identity" {
                throw APIError(
                    status: .unsupportedMediaType, code: "unsupported_media_type",
                    message: "Content-Encoding \(encoding) is not supported; send the body uncompressed")
            }
            let type = request.headers[.contentType] ?? ""
            let mediaType =
                type.split(separator: ";", maxSplits: 1).first.map {
                    $0.trimmingCharacters(in: .whitespaces).lowercased()
                } ?? ""
            guard mediaType == "application/json" else {
                throw APIError(
                    status: .unsupportedMediaType, code: "unsupported_media_type",
                    message: type.isEmpty
                        ? "the request body needs Content-Type: application/json"
                        : "Content-Type \(type) is not accepted; request bodies are JSON (Content-Type: application/json)"
                )
            }
        }
        return try await next(request, context)
    }

    /// Whether the request may carry a body: any transfer coding (chunked), a length above 0,
    /// or no length at all on a method that takes a body.
    static func hasBody(_ request: Request) -> Bool {
        if request.headers[.transferEncoding] != nil { return true }
        if let length = request.headers[.contentLength] { return Int(length) != 0 }
        return [.post, .put, .patch].contains(request.method)
    }
}

/// Which names and origins the server answers besides its own loopback names.
public struct BrowserPolicy: Sendable {
    /// Host names (without port) accepted on TCP besides loopback names and IP addresses.
    public var allowedHosts: Set<String> = []
    /// `Origin` values (scheme://host[:port]) whose pages may call the API.
    public var allowedOrigins: Set<String> = []

    public init() {}

    func admits(host header: String) -> Bool {
        let name = Self.hostName(header)
        if name.isEmpty { return false }
        if name == "localhost" || name.hasSuffix(".localhost") || allowedHosts.contains(name) { return true }
        return Self.isIPAddress(name)
    }

    /// The name of a Host value, lowercased, without port or IPv6 brackets.
    public static func hostName(_ header: String) -> String {
        var text = Substring(header.trimmingCharacters(in: .whitespaces).lowercased())
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return "" }
            return String(text[text.index(after: text.startIndex)..<close])
        }
        if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon { text = text[..<colon] }
        return String(text.hasSuffix(".") ? text.dropLast() : text)
    }

    /// A literal address cannot be rebound to another machine by DNS.
    static func isIPAddress(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }
}
