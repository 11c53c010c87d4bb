#include <sqlite3.h>

/// sqlite3_db_config is C-variadic, which Swift cannot call: the form for the boolean options.
static inline int quiver_sqlite3_db_config_int(sqlite3 *db, int op, int value, int *result) {
    return sqlite3_db_config(db, op, value, result);
}

/* The FTS5 extension interface, as SQLite documents it (https://sqlite.org/fts5.html, section
 * "Custom Tokenizers"): Debian's libsqlite3-dev ships no fts5.h, so the two structures Quiver
 * uses are declared here, field for field, with the parts it does not call as opaque pointers. */
typedef struct Fts5Tokenizer Fts5Tokenizer;
typedef int (*quiver_fts5_token_callback)(void *context, int flags, const char *token, int tokenLength,
                                          int start, int end);
typedef struct quiver_fts5_tokenizer {
    int (*xCreate)(void *userData, const char **arguments, int argumentCount, Fts5Tokenizer **out);
    void (*xDelete)(Fts5Tokenizer *tokenizer);
    int (*xTokenize)(Fts5Tokenizer *tokenizer, void *context, int flags, const char *text, int textLength,
                     quiver_fts5_token_callback xToken);
} quiver_fts5_tokenizer;
typedef struct quiver_fts5_api {
    int iVersion;
    int (*xCreateTokenizer)(struct quiver_fts5_api *api, const char *name, void *userData,
                            quiver_fts5_tokenizer *tokenizer, void (*xDestroy)(void *));
    void *xFindTokenizer;
    void *xCreateFunction;
} quiver_fts5_api;

enum {
    QUIVER_FTS5_TOKENIZE_QUERY = 0x0001,
    QUIVER_FTS5_TOKENIZE_PREFIX = 0x0002,
    QUIVER_FTS5_TOKENIZE_DOCUMENT = 0x0004,
    QUIVER_FTS5_TOKENIZE_AUX = 0x0008,
    QUIVER_FTS5_TOKEN_COLOCATED = 0x0001,
};

/// The connection's FTS5 interface (`SELECT fts5(?1)` with a pointer bound), or NULL without FTS5.
static inline quiver_fts5_api *quiver_fts5_api_of(sqlite3 *db) {
    quiver_fts5_api *api = 0;
    sqlite3_stmt *statement = 0;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &statement, 0) == SQLITE_OK) {
        sqlite3_bind_pointer(statement, 1, (void *)&api, "fts5_api_ptr", 0);
        sqlite3_step(statement);
    }
    sqlite3_finalize(statement);
    return api;
}
