import QuiverStorage
import Testing

@testable import QuiverServer

/// What SQLite's failures become over HTTP: a full disk, memory or I/O failing are not the
/// client's fault (400) but the server's state, with their own statuses.
@Suite struct APIErrorMappingTests {
    @Test func storageAndMemoryFailuresHaveTheirOwnStatuses() {
        let full = APIError.from(SQLiteError(code: .SQLITE_FULL, message: "database or disk is full"))
        #expect(
            full.status.code == 507 && full.message.contains("full")
                && full.message.contains("nothing of the request was kept"))
        let memory = APIError.from(SQLiteError(code: .SQLITE_NOMEM, message: "out of memory"))
        #expect(memory.status.code == 503 && memory.code == "out_of_memory")
        let io = APIError.from(SQLiteError(code: .SQLITE_IOERR_WRITE, message: "disk I/O error"))
        #expect(io.status.code == 503 && io.code == "io_error")
        #expect(APIError.from(SQLiteError(code: .SQLITE_ERROR, message: "no such table: x")).status.code == 400)
    }

}
