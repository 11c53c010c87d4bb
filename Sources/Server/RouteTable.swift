import Hummingbird

/// Registers the API's routes and remembers which methods each path declares, so that every
/// other method on a known path is answered 405 with an `Allow` header rather than 404.
struct RouteTable {
    let router: Router<ServerContext>
    private(set) var methods: [String: [HTTPRequest.Method]] = [:]
    private var order: [String] = []

    init(router: Router<ServerContext>) {
        self.router = router
    }

    typealias Handler = @Sendable (Request, ServerContext) async throws -> Response

    mutating func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        router.on(RouterPath(path), method: method, use: handler)
        if methods[path] == nil { order.append(path) }
        methods[path, default: []].append(method)
    }

    /// Adds the 405 answers; call after every route is added.
    func finish() {
        let candidates: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .options]
        for path in order {
            let declared = methods[path]!
            var allowed = declared.map(\.rawValue)
            if declared.contains(.get) { allowed.append("HEAD") }
            let allow = allowed.joined(separator: ", ")
            for method in candidates where !declared.contains(method) {
                router.on(RouterPath(path), method: method) { request, _ -> Response in
                    var error = APIError(status: .methodNotAllowed, code: "method_not_allowed",
                                         message: "\(request.method) is not allowed on \(path); allowed: \(allow)")
                    error.headers[.allow] = allow
                    throw error
                }
            }
        }
    }
}
