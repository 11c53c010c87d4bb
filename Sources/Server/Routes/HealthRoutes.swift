import Hummingbird

/// `GET /health` (liveness, open to all) and `GET /metrics` (Prometheus text).
enum HealthRoutes {
    static func add(to routes: inout RouteTable, services: ServerServices) {
        routes.add(.get, "/health") { _, _ in
            try JSONBody.response(HealthResponse(status: services.checkpoints.isFailing ? "degraded" : "ok"))
        }
        routes.add(.get, "/metrics") { _, _ in
            let text = services.metrics.render(
                queued: services.pool.queued, readers: services.pool.readerCount,
                checkpointFailing: services.checkpoints.isFailing)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
