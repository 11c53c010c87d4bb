#include <sqlite3.h>

/// sqlite3_db_config is C-variadic, which Swift cannot call: the form for the boolean options.
static inline int quiver_sqlite3_db_config_int(sqlite3 *db, int op, int value, int *result) {
    return sqlite3_db_config(db, op, value, result);
}
