#ifndef QUIVER_WORD_BREAKS_H
#define QUIVER_WORD_BREAKS_H

#include <stdint.h>

/* ICU's word break behind a surface without ICU's types: its headers clash with the ICU that the
 * toolchain's Foundation carries, so Swift must never see them. */

/// A word-break iterator over `text` (UTF-16) with ICU's dictionaries for Chinese and Japanese;
/// NULL when ICU cannot make one. Close it with quiver_word_breaks_close.
void *quiver_word_breaks_open(const uint16_t *text, int32_t length);

/// The next boundary after the current one, or -1 at the end.
int32_t quiver_word_breaks_next(void *iterator);

void quiver_word_breaks_close(void *iterator);

#endif
