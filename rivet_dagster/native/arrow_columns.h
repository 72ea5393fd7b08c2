/* Arrow column buffers, shared by the C decoders (pgcopy.c, myrows.c).
 *
 * Per column: a validity bitmap, a data buffer (fixed-width values, bool bits, or the bytes
 * of strings) and int32 offsets for strings, laid out as pyarrow.Array.from_buffers takes
 * them. The caller takes each batch's buffers (`col_take`: their memory becomes the caller's,
 * to free() when Arrow is done with it), so no byte is copied twice; a column then starts its
 * next buffer at the capacity the last one reached. Buffers not taken (a validity bitmap
 * without nulls) are reused by the next batch.
 */
#ifndef RIVET_ARROW_COLUMNS_H
#define RIVET_ARROW_COLUMNS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct { uint8_t *p; int64_t len, cap, hint; } Buf;
typedef struct { int kind, variable; Buf valid, data, offs; int64_t nulls; } Col;

static inline int reserve(Buf *b, int64_t extra) {
    if (b->len + extra <= b->cap) return 0;
    int64_t cap = b->cap ? b->cap : b->hint > 4096 ? b->hint : 4096;
    while (cap < b->len + extra) cap *= 2;
    uint8_t *p = realloc(b->p, (size_t)cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Columns of the given kinds; `variable_kinds` has bit k set when kind k holds strings. */
static inline Col *cols_new(int ncols, const int *kinds, uint32_t variable_kinds) {
    Col *cols = calloc((size_t)(ncols ? ncols : 1), sizeof *cols);
    if (!cols) return NULL;
    for (int i = 0; i < ncols; i++) {
        cols[i].kind = kinds[i];
        cols[i].variable = (variable_kinds >> kinds[i]) & 1u;
    }
    return cols;
}

static inline void cols_free(Col *cols, int ncols) {
    if (!cols) return;
    for (int i = 0; i < ncols; i++) {
        free(cols[i].valid.p);
        free(cols[i].data.p);
        free(cols[i].offs.p);
    }
    free(cols);
}

/* A new batch: keep the memory, forget the contents (strings start with offset 0). */
static inline void cols_reset(Col *cols, int ncols) {
    for (int i = 0; i < ncols; i++) {
        Col *c = &cols[i];
        c->valid.len = c->data.len = c->offs.len = c->nulls = 0;
        if (c->variable && reserve(&c->offs, 4) == 0) {
            memset(c->offs.p, 0, 4);
            c->offs.len = 4;
        }
    }
}

/* Bit `row` of a bitmap (validity, or a bool column's values), a new byte every 8 rows. */
static inline int append_bit(Buf *b, int64_t row, int on) {
    if (row % 8 == 0) {
        if (reserve(b, 1)) return -1;
        b->p[b->len++] = 0;
    }
    if (on) b->p[row / 8] |= (uint8_t)(1u << (row % 8));
    return 0;
}

static inline int append_fixed(Col *c, const void *value, int width) {
    if (reserve(&c->data, width)) return -1;
    memcpy(c->data.p + c->data.len, value, (size_t)width);
    c->data.len += width;
    return 0;
}

/* A string's bytes and its end offset: -1 out of memory, -2 over 2 GB in one batch. */
static inline int append_bytes(Col *c, const void *value, int64_t n) {
    if (reserve(&c->data, n) || reserve(&c->offs, 4)) return -1;
    if (c->data.len + n > INT32_MAX) return -2;
    if (n) memcpy(c->data.p + c->data.len, value, (size_t)n);
    c->data.len += n;
    int32_t end = (int32_t)c->data.len;
    memcpy(c->offs.p + c->offs.len, &end, 4);
    c->offs.len += 4;
    return 0;
}

/* Hand a buffer over (which: 0 validity, 1 data, 2 offsets): the caller owns and frees the
 * memory; the column allocates a fresh one, sized like this one, for the next batch. */
static inline void *col_take(Col *c, int which, int64_t *len) {
    Buf *b = which == 0 ? &c->valid : which == 1 ? &c->data : &c->offs;
    void *p = b->p;
    *len = b->len;
    b->hint = b->cap;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

#endif
