#include "quiver_word_breaks.h"

#include <unicode/ubrk.h>
#include <unicode/utypes.h>

void *quiver_word_breaks_open(const uint16_t *text, int32_t length) {
    UErrorCode status = U_ZERO_ERROR;
    UBreakIterator *iterator = ubrk_open(UBRK_WORD, "zh", (const UChar *)text, length, &status);
    if (U_FAILURE(status)) {
        if (iterator) ubrk_close(iterator);
        return 0;
    }
    return iterator;
}

int32_t quiver_word_breaks_next(void *iterator) { return ubrk_next((UBreakIterator *)iterator); }

void quiver_word_breaks_close(void *iterator) { ubrk_close((UBreakIterator *)iterator); }
