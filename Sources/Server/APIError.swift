import Foundation
import Hummingbird
import QuiverEngine
import QuiverQuery
import QuiverStorage

/// An error the API reports as `{"error": {"code": …, "message": …}}` with an HTTP status.
/// Every failure a request can cause ends up as one of these; none crashes the server.
struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    /// A stable machine-readable word: bad_request, unauthorized, forbidden, not_found, …
    var code: String
    var message: String
    /// The failed SQL statement in parts, when a statement failed.
    var sql: SQLFailure?
    var headers: HTTPFields = [:]

    /// A statement's failure in parts, so that a client can point at it (the shell's caret)
    /// without reading `message`, which words the same for people.
    struct SQLFailure: Encodable, Equatable {
        /// The failing statement's number, in a script of several.
        var statement: Int?
        /// The byte in the request's SQL where the failure lies, when known.
        var offset: Int?
        /// The failure's own message, without the statement's number or the position.
        var message: String
    }

    var description: String { "\(status.code) \(code): \(message)" }

    static func badRequest(_ message: String) -> APIError {
        APIError(status: .badRequest, code: "bad_request", message: message)
    }
    static func notFound(_ message: String) -> APIError {
        APIError(status: .notFound, code: "not_found", message: message)
    }
    static func forbidden(_ message: String) -> APIError {
        APIError(status: .forbidden, code: "forbidden", message: message)
    }
    static func conflict(_ message: String) -> APIError {
        APIError(status: .conflict, code: "conflict", message: message)
    }
    static func tooLarge(_ message: String) -> APIError {
        APIError(status: .contentTooLarge, code: "too_large", message: message)
    }
    static func unauthorized(_ message: String) -> APIError {
        APIError(
            status: .unauthorized, code: "unauthorized", message: message,
            headers: [.wwwAuthenticate: "Bearer realm=\"quiver\""])
    }
    static func unavailable(_ message: String) -> APIError {
        APIError(status: .serviceUnavailable, code: "unavailable", message: message)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        let body = ErrorBody(error: .init(code: code, message: message, sql: sql))
        let data =
            (try? JSONEncoder().encode(body)) ?? Data("{\"error\":{\"code\":\"internal\",\"message\":\"\"}}".utf8)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var sql: SQLFailure?
        }
        var error: Detail
    }

    /// The API's view of any error: SQL errors are the client's (400; 403 when the authorizer
    /// refused; 409 for constraint violations), decoding errors say where the JSON is wrong.
    /// `responseLimit` is the server's --max-response-bytes, which results past it are told.
    static func from(_ error: any Error, responseLimit: Int? = nil) -> APIError {
        if let responseLimit {
            if let tooLarge = error as? ResultTooLarge { return .tooLarge("\(tooLarge) (--max-response-bytes)") }
            let sqlite = (error as? Database.StatementError)?.underlying ?? (error as? SQLiteError)
            if let sqlite, ResultCode.SQLITE_TOOBIG ~= sqlite.code {
                return .tooLarge(
                    "\(error): a value is larger than the limit of \(responseLimit) bytes (--max-response-bytes)")
            }
        }
        switch error {
        case let error as APIError:
            return error
        case let error as Database.StatementError:
            return fromSQL(
                error.underlying, statement: error.statementCount > 1 ? error.statementIndex : nil, unit: error.unit)
        case let error as SQLiteError:
            return fromSQL(error, statement: nil)
        case let error as DecodingError:
            return .badRequest("invalid request body: \(describe(error))")
        case let error as HTTPError:
            return APIError(
                status: error.status, code: code(for: error.status), message: error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError:
            // NIOTooManyBytesError (a chunked body past the limit) and the like: their status, not 500.
            return APIError(status: error.status, code: code(for: error.status), message: error.status.reasonPhrase)
        default:
            return APIError(status: .internalServerError, code: "internal", message: "\(error)")
        }
    }

    /// `statement`: the failing statement's number in a script of several (`unit`s of it).
    private static func fromSQL(_ error: SQLiteError, statement: Int?, unit: String = "statement") -> APIError {
        var answer: APIError
        var failure = SQLFailure(statement: statement, message: error.message)
        if case .accessDenied(let denial)? = error.refusal {
            failure.message = denial
            answer = .forbidden(denial)
        } else if error.isBusy {
            answer = .unavailable(error.message)
        } else {
            switch error.code {
            case .SQLITE_FULL:
                answer = APIError(
                    status: .init(code: 507, reasonPhrase: "Insufficient Storage"), code: "storage_full",
                    message:
                        "the database could not grow (\(error.message)): the disk or the database's size limit is full; nothing of the request was kept"
                )
            case .SQLITE_NOMEM:
                answer = APIError(
                    status: .serviceUnavailable, code: "out_of_memory",
                    message: "the server ran out of memory for this request (\(error.message)); nothing of it was kept")
            case .SQLITE_IOERR:
                answer = APIError(
                    status: .serviceUnavailable, code: "io_error",
                    message:
                        "the server could not read or write its files (\(error.message)); nothing of the request was kept"
                )
            default:
                var message = error.message
                if let sql = error.sql, let offset = error.offset, offset >= 0, offset <= sql.utf8.count {
                    failure.offset = offset
                    let near = String(decoding: Array(sql.utf8)[offset...].prefix(40), as: UTF8.self)
                    if !near.isEmpty { message += " (at byte \(offset): \"\(near)\")" }
                }
                answer =
                    if let refusal = error.refusal {
                        fromRefusal(refusal, message: message)
                    } else if error.isConstraint {
                        APIError(status: .conflict, code: "constraint", message: message)
                    } else {
                        APIError(status: .badRequest, code: "sql_error", message: message)
                    }
            }
            // The message as answered, but without the position, which `offset` gives.
            if failure.offset == nil { failure.message = answer.message }
        }
        if let statement { answer.message = "\(unit) \(statement): " + answer.message }
        answer.sql = failure
        return answer
    }

    /// Quiver's refusals of a statement are the client's: a bound past which the request is too
    /// large, else a statement that cannot run as sent.
    private static func fromRefusal(_ refusal: QuiverError, message: String) -> APIError {
        switch refusal {
        case .accessDenied:
            return .forbidden(message)
        case .limitExceeded:
            return .tooLarge(message)
        case .noSuchTable, .noSuchColumn, .unsuitableSchema, .indexExists, .indexFailure, .invalidVector,
            .dimensionMismatch,
            .unrankableQueryVector, .invalidStoredValue, .unsupported, .parameterMismatch, .syntax:
            return APIError(status: .badRequest, code: "sql_error", message: message)
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "bad_request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 413: "too_large"
        case 415: "unsupported_media_type"
        case 421: "misdirected_request"
        default: status.code >= 500 ? "internal" : "error"
        }
    }

    /// "at rows[2].embedding: expected an array, found a string", not Swift's debug text.
    /// Where in a request body: `queries[2].filter`, or "the top level".
    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text.isEmpty ? "the top level" : text
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let context):
            return "at \(path(context.codingPath)): expected \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "at \(path(context.codingPath)): expected \(typeName(type)), found null"
        case .keyNotFound(let key, let context):
            return "missing field \"\(key.stringValue)\" at \(path(context.codingPath))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return "malformed JSON (\(context.underlyingError.map { "\($0)" } ?? context.debugDescription))"
            }
            return "at \(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        default:
            "\(type)".hasPrefix("Array") ? "an array" : "\(type)".hasPrefix("Dictionary") ? "an object" : "\(type)"
        }
    }
}
