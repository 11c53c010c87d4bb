import Hummingbird
import Synchronization

/// Registers the API's routes and records which methods each path declares in `RouteMethods`.
struct RouteTable {
    let router: Router<ServerContext>
    let methods: RouteMethods

    typealias Handler = @Sendable (Request, ServerContext) async throws -> Response

    mutating func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        router.on(RouterPath(path), method: method, use: handler)
        if method == .get { router.on(RouterPath(path), method: .head, use: handler) }
        methods.declare(method, path)
    }
}

/// The methods each route path declares. The router answers any other method on a known path
/// (TRACE, CONNECT, or a made-up one as well as PUT) as not found; `ErrorMiddleware` asks this
/// table to turn that into 405 with an `Allow` header, as HTTP requires.
final class RouteMethods: Sendable {
    private struct Route {
        let segments: [Substring]
        var methods: [String]
    }

    private let routes = Mutex<[Route]>([])

    func declare(_ method: HTTPRequest.Method, _ path: String) {
        let segments = path.split(separator: "/")
        routes.withLock { routes in
            if let i = routes.firstIndex(where: { $0.segments == segments }) {
                routes[i].methods.append(method.rawValue)
            } else {
                routes.append(Route(segments: segments, methods: [method.rawValue]))
            }
        }
    }

    /// The `Allow` value for a request path that matches a route, or nil when none does.
    /// A `{name}` segment of a route matches any one segment of the path.
    func allowed(forPath path: String) -> String? {
        let segments = path.split(separator: "/")
        let methods = routes.withLock { routes in
            routes.first { route in
                route.segments.count == segments.count
                    && zip(route.segments, segments).allSatisfy { $0.first == "{" || $0 == $1 }
            }?.methods
        }
        guard var methods else { return nil }
        // Every GET route has its HEAD twin (see HeadMiddleware).
        if methods.contains("GET") { methods.append("HEAD") }
        return methods.joined(separator: ", ")
    }
}
