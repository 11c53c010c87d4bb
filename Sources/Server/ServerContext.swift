import Hummingbird

/// What a request is allowed to do, decided by its bearer token.
enum AccessRole: Sendable {
    /// Everything (the full token, or any request when the server has no token).
    case full
    /// Queries and read-only SQL (the read token).
    case read
}

/// The per-request context: Hummingbird's core plus the caller's role and the body limit.
struct ServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var role: AccessRole = .full
    /// Set by the server from its limits (RequestContext reads it when collecting bodies).
    var bodyLimit = RequestLimits().maxBodyBytes

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    var maxUploadSize: Int { bodyLimit }

    /// Throws 403 unless the caller may change the database.
    func requireWrite(_ what: String) throws {
        guard role == .full else { throw APIError.forbidden("the read-only token cannot \(what)") }
    }
}
