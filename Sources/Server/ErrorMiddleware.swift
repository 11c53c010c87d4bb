import Hummingbird
import NIOHTTP1

/// Turns every error a handler or middleware throws into the API's JSON error response, so
/// clients see one error shape whatever failed (routing, auth, limits, decoding, SQL).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let routes: RouteMethods

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPParserError {
            // The request's framing is broken (a bad chunk size): Hummingbird answers 400 and
            // closes the connection, whose next bytes cannot be trusted.
            throw error
        } catch {
            var apiError = APIError.from(error)
            let fromFramework = Self.isFrameworkError(error)
            if fromFramework && apiError.status == .notFound {
                if let allow = routes.allowed(forPath: request.uri.path) {
                    apiError = APIError(
                        status: .methodNotAllowed, code: "method_not_allowed",
                        message: "\(request.method) is not allowed on \(request.uri.path); allowed: \(allow)")
                    apiError.headers[.allow] = allow
                } else {
                    apiError.message = "no such endpoint: \(request.method) \(request.uri.path)"
                }
            }
            if fromFramework && apiError.status == .contentTooLarge {
                apiError.message = "request body larger than the limit of \(context.bodyLimit) bytes"
            }
            if apiError.status == .internalServerError {
                context.logger.error("\(request.method) \(request.uri.path): \(error)")
            }
            return try apiError.response(from: request, context: context)
        }
    }

    /// Whether Hummingbird or NIO raised `error` with a bare status (the router's 404 for a path
    /// no route has, a body past the limit), which the server then words itself.
    static func isFrameworkError(_ error: any Error) -> Bool {
        switch error {
        case is APIError: false
        case let error as HTTPError: error.body == nil
        default: error is any HTTPResponseError
        }
    }
}
