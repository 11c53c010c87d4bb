import Foundation
import Hummingbird

/// Counts every request and times it, by the route it matched (not the raw path, so table
/// names do not multiply the series).
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response)
        async throws -> Response
    {
        let start = DispatchTime.now().uptimeNanoseconds
        metrics.requestStarted()
        var status = 500
        defer {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            metrics.requestFinished(
                method: request.method.rawValue, route: context.endpointPath ?? "unmatched",
                status: status, seconds: seconds)
        }
        let response = try await next(request, context)
        status = response.status.code
        return response
    }
}
