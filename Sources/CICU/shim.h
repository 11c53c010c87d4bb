#include <unicode/ubrk.h>
#include <unicode/utypes.h>

/* ICU's functions carry its version in their names (ubrk_open is a macro for ubrk_open_72), which
 * Swift cannot see through: these wrappers call them by the names the headers define. */

/// A word-break iterator over `text` (UTF-16) with the dictionaries ICU has for Chinese and
/// Japanese; NULL when ICU cannot make one.
static inline UBreakIterator *quiver_word_breaks(const UChar *text, int32_t length) {
    UErrorCode status = U_ZERO_ERROR;
    UBreakIterator *iterator = ubrk_open(UBRK_WORD, "zh", text, length, &status);
    if (U_FAILURE(status)) {
        if (iterator) ubrk_close(iterator);
        return 0;
    }
    return iterator;
}

/// The next boundary after the current one, or -1 at the end.
static inline int32_t quiver_next_break(UBreakIterator *iterator) { return ubrk_next(iterator); }

static inline void quiver_close_breaks(UBreakIterator *iterator) { ubrk_close(iterator); }
