import Hummingbird

/// HEAD is answered wherever GET is, as HTTP requires: `RouteTable` gives every GET route a
/// HEAD route with the same handler (so errors, 405 and authentication are the same), and
/// this strips the body from whatever the answer is, keeping its status and headers,
/// Content-Length included.
struct HeadMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response)
        async throws -> Response
    {
        guard request.method == .head else { return try await next(request, context) }
        var response = try await next(request, context)
        let length = response.body.contentLength
        response.body = ResponseBody()
        response.headers[.contentLength] = length.map(String.init)
        return response
    }
}
