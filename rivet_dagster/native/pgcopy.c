/* PostgreSQL binary COPY rows -> Arrow column buffers, in one tight loop without the GIL.
 *
 * Why C: the ADBC driver spends about 100 ns per field decoding the same stream, and any
 * Python loop pays more than that per row. This file only decodes: the connection, the
 * transaction, the session settings and the COPY statement stay with psycopg, which hands
 * over its PGconn and libpq's own PQgetCopyData / PQfreemem (as addresses, so this library
 * links against nothing and always uses the libpq psycopg loaded). It is loaded with ctypes,
 * which releases the GIL for every call: the read-ahead thread decodes while the main
 * thread encodes.
 *
 * Columns are laid out as pyarrow.Array.from_buffers takes them (arrow_columns.h).
 */
#include <stdio.h>

#include "arrow_columns.h"

enum {
    K_BOOL = 0, K_INT2 = 1, K_INT4 = 2, K_INT8 = 3, K_FLOAT4 = 4, K_FLOAT8 = 5, K_DATE = 6,
    K_TIME = 7, K_TIMESTAMP = 8, K_TEXT = 9, K_JSONB = 10, K_UUID = 11
};

/* Days and microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01. */
#define PG_EPOCH_DAYS 10957
#define PG_EPOCH_US INT64_C(946684800000000)

typedef int (*getcopy_fn)(void *conn, char **buffer, int async);
typedef void (*freemem_fn)(void *ptr);

typedef struct {
    void *conn;
    getcopy_fn getcopy;
    freemem_fn freemem;
    int ncols;
    Col *cols;
    int header_done, ended;
    int64_t rows, bytes;
    int err_col;
    char err[256];
} Reader;

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

static int fail(Reader *r, int col, const char *message) {
    r->err_col = col;
    snprintf(r->err, sizeof r->err, "%s", message);
    return -3;
}

Reader *pgc_new(void *conn, void *getcopy, void *freemem, int ncols, const int *kinds) {
    Reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->cols = cols_new(ncols, kinds, 1u << K_TEXT | 1u << K_JSONB);
    if (!r->cols) { free(r); return NULL; }
    r->conn = conn;
    r->getcopy = (getcopy_fn)getcopy;
    r->freemem = (freemem_fn)freemem;
    r->ncols = ncols;
    r->err_col = -1;
    return r;
}

void pgc_free(Reader *r) {
    if (!r) return;
    cols_free(r->cols, r->ncols);
    free(r);
}

static int set_valid(Col *c, int64_t row, int present) {
    if (!present) c->nulls++;
    return append_bit(&c->valid, row, present);
}

static int text_result(Reader *r, int i, int rc) {
    return rc == -2 ? fail(r, i, "over 2 GB of text in one batch")
                    : rc ? fail(r, i, "out of memory") : 0;
}

/* One field; `n` is its byte length, -1 for NULL. */
static int decode_field(Reader *r, int i, const uint8_t *p, int32_t n) {
    Col *c = &r->cols[i];
    int64_t row = r->rows;
    static const uint8_t zeros[16] = {0};
    if (set_valid(c, row, n >= 0)) return fail(r, i, "out of memory");
    if (n < 0) {
        switch (c->kind) {
        case K_BOOL: return append_bit(&c->data, row, 0) ? fail(r, i, "out of memory") : 0;
        case K_INT2: return append_fixed(c, zeros, 2) ? fail(r, i, "out of memory") : 0;
        case K_INT4: case K_FLOAT4: case K_DATE:
            return append_fixed(c, zeros, 4) ? fail(r, i, "out of memory") : 0;
        case K_UUID: return append_fixed(c, zeros, 16) ? fail(r, i, "out of memory") : 0;
        case K_TEXT: case K_JSONB:
            return append_bytes(c, zeros, 0) ? fail(r, i, "out of memory") : 0;
        default: return append_fixed(c, zeros, 8) ? fail(r, i, "out of memory") : 0;
        }
    }
    switch (c->kind) {
    case K_BOOL:
        if (n != 1) return fail(r, i, "malformed bool");
        return append_bit(&c->data, row, p[0] != 0) ? fail(r, i, "out of memory") : 0;
    case K_INT2: {
        if (n != 2) return fail(r, i, "malformed int2");
        int16_t v = (int16_t)be16(p);
        return append_fixed(c, &v, 2) ? fail(r, i, "out of memory") : 0;
    }
    case K_INT4: case K_FLOAT4: {
        if (n != 4) return fail(r, i, "malformed 4-byte value");
        uint32_t v = be32(p);
        return append_fixed(c, &v, 4) ? fail(r, i, "out of memory") : 0;
    }
    case K_INT8: case K_FLOAT8: case K_TIME: {
        if (n != 8) return fail(r, i, "malformed 8-byte value");
        uint64_t v = be64(p);
        return append_fixed(c, &v, 8) ? fail(r, i, "out of memory") : 0;
    }
    case K_DATE: {
        if (n != 4) return fail(r, i, "malformed date");
        int32_t v = (int32_t)be32(p);
        if (v == INT32_MAX || v == INT32_MIN) return fail(r, i, "infinity");
        v += PG_EPOCH_DAYS;
        return append_fixed(c, &v, 4) ? fail(r, i, "out of memory") : 0;
    }
    case K_TIMESTAMP: {
        if (n != 8) return fail(r, i, "malformed timestamp");
        int64_t v = (int64_t)be64(p);
        if (v == INT64_MAX || v == INT64_MIN) return fail(r, i, "infinity");
        v += PG_EPOCH_US;
        return append_fixed(c, &v, 8) ? fail(r, i, "out of memory") : 0;
    }
    case K_TEXT:
        return text_result(r, i, append_bytes(c, p, n));
    case K_JSONB: {
        if (n < 1 || p[0] != 1) return fail(r, i, "unknown jsonb binary version");
        return text_result(r, i, append_bytes(c, p + 1, n - 1));
    }
    case K_UUID:
        if (n != 16) return fail(r, i, "malformed uuid");
        return append_fixed(c, p, 16) ? fail(r, i, "out of memory") : 0;
    default:
        return fail(r, i, "unknown column kind");
    }
}

static const uint8_t SIGNATURE[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};

/* The rows of one CopyData message (usually exactly one row; the first carries the header). */
static int decode_message(Reader *r, const uint8_t *p, int64_t n) {
    const uint8_t *end = p + n;
    if (!r->header_done) {
        if (n < 19 || memcmp(p, SIGNATURE, 11) != 0) return fail(r, -1, "no binary COPY signature");
        uint32_t ext = be32(p + 15);
        if ((int64_t)ext > n - 19) return fail(r, -1, "truncated COPY header");
        p += 19 + ext;
        r->header_done = 1;
    }
    while (p < end) {
        if (end - p < 2) return fail(r, -1, "truncated row");
        int16_t fields = (int16_t)be16(p);
        p += 2;
        if (fields == -1) { r->ended = 1; return 0; }  /* the trailer */
        if (fields != r->ncols) return fail(r, -1, "the row's field count differs from the description");
        for (int i = 0; i < r->ncols; i++) {
            if (end - p < 4) return fail(r, i, "truncated field");
            int32_t len = (int32_t)be32(p);
            p += 4;
            if (len > end - p) return fail(r, i, "truncated field");
            int rc = decode_field(r, i, p, len);
            if (rc) return rc;
            if (len > 0) p += len;
        }
        r->rows++;
    }
    return 0;
}

/* Decode rows until `max_rows` or `max_bytes` of the stream: 1 = a batch (more may follow),
 * 0 = the COPY ended (the batch holds the last rows, maybe none), -2 = libpq reported an
 * error (ask it), -3 = the data could not be decoded (pgc_error). */
int pgc_read(Reader *r, int64_t max_rows, int64_t max_bytes) {
    r->rows = r->bytes = 0;
    cols_reset(r->cols, r->ncols);
    if (r->ended) return 0;
    while (r->rows < max_rows && r->bytes < max_bytes) {
        char *buffer = NULL;
        int n = r->getcopy(r->conn, &buffer, 0);
        if (n == -1) { r->ended = 1; return 0; }
        if (n < 0) return -2;
        int rc = decode_message(r, (const uint8_t *)buffer, n);
        r->freemem(buffer);
        r->bytes += n;
        if (rc) return rc;
        if (r->ended) {  /* the trailer: libpq still has to report the end (-1) */
            char *rest = NULL;
            int m = r->getcopy(r->conn, &rest, 0);
            if (rest) r->freemem(rest);
            if (m != -1) return m < -1 ? -2 : fail(r, -1, "data after the COPY trailer");
            return 0;
        }
    }
    return 1;
}

int64_t pgc_rows(Reader *r) { return r->rows; }
int64_t pgc_nulls(Reader *r, int col) { return r->cols[col].nulls; }

void *pgc_take(Reader *r, int col, int which, int64_t *len) {
    return col_take(&r->cols[col], which, len);
}

const char *pgc_error(Reader *r, int *col) {
    *col = r->err_col;
    return r->err;
}
