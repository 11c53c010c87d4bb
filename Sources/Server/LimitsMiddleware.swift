import Hummingbird

/// Applies the body-size limit: a declared Content-Length over it is refused before any of the
/// body is read; a chunked body is cut off at the limit when collected (ServerContext).
struct LimitsMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let limits: RequestLimits

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response)
        async throws -> Response
    {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limits.maxBodyBytes {
            throw APIError.tooLarge(
                "request body of \(length) bytes is larger than the limit of \(limits.maxBodyBytes) bytes")
        }
        var context = context
        context.bodyLimit = limits.maxBodyBytes
        return try await next(request, context)
    }
}
