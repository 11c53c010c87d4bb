import Foundation
import Hummingbird

/// Bearer-token authentication: when the server has a token, every request but `GET /health`
/// must carry `Authorization: Bearer <token>` (or the read token, which grants reads only).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let token: [UInt8]?
    let readToken: [UInt8]?

    init(token: String?, readToken: String?) {
        self.token = token.map { Array($0.utf8) }
        self.readToken = readToken.map { Array($0.utf8) }
    }

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response)
        async throws -> Response
    {
        guard let token else { return try await next(request, context) }
        if request.uri.path == "/health" && (request.method == .get || request.method == .head) {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("this server requires a bearer token (Authorization: Bearer <token>)")
        }
        let prefix = "bearer "
        guard header.count > prefix.count, header.prefix(prefix.count).lowercased() == prefix else {
            throw APIError.unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        let presented = Array(header.utf8.dropFirst(prefix.count))
        var context = context
        // Both comparisons always run, so timing does not tell which token (if any) was close.
        let isFull = Self.constantTimeEquals(presented, token)
        let isRead = readToken.map { Self.constantTimeEquals(presented, $0) } ?? false
        if isFull {
            context.role = .full
        } else if isRead {
            context.role = .read
        } else {
            throw APIError.unauthorized("invalid bearer token")
        }
        return try await next(request, context)
    }

    /// Equality whose running time depends only on the lengths, never on where bytes differ.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let count = max(a.count, b.count)
        for i in 0..<count {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }
}
