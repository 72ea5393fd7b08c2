/* MySQL / MariaDB text-protocol rows -> Arrow column buffers, in one loop without the GIL.
 *
 * Why C: the cursor reader gets one Python bytes object per value from mysql-connector and
 * builds Arrow arrays from them; that per-value work is most of a narrow export. Here the
 * rows of the unbuffered result mysql-connector's C extension already opened are fetched
 * with its own libmysqlclient (mysql_fetch_row / mysql_fetch_lengths, passed as addresses,
 * so this library links against nothing) and parsed straight into the mapped Arrow types.
 * Connection, transaction, session settings, metadata and errors stay with the cursor
 * reader; columns this file does not parse (DECIMAL, TIME, BIT, overrides...) are copied as
 * their raw text and converted by the same Python code as the cursor reader's.
 *
 * Columns are laid out as pyarrow.Array.from_buffers takes them (arrow_columns.h).
 */
#include <stdio.h>

#include "arrow_columns.h"

enum {
    K_RAW = 0, K_BOOL = 1, K_I16 = 2, K_I32 = 3, K_I64 = 4, K_U64 = 5, K_F32 = 6, K_F64 = 7,
    K_DATE = 8, K_DATETIME = 9
};

typedef char **(*fetch_row_fn)(void *result);
typedef unsigned long *(*fetch_lengths_fn)(void *result);

typedef struct {
    void *result;
    fetch_row_fn fetch_row;
    fetch_lengths_fn fetch_lengths;
    int ncols, ended;
    Col *cols;
    int64_t rows, bytes;
    int err_col;
    char err[256];
} Reader;

static int fail(Reader *r, int col, const char *message, const char *value, unsigned long n) {
    r->err_col = col;
    if (value) {
        int shown = n > 40 ? 40 : (int)n;
        snprintf(r->err, sizeof r->err, "%s '%.*s'", message, shown, value);
    } else {
        snprintf(r->err, sizeof r->err, "%s", message);
    }
    return -3;
}

Reader *myr_new(void *result, void *fetch_row, void *fetch_lengths, int ncols, const int *kinds) {
    Reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->cols = cols_new(ncols, kinds, 1u << K_RAW);
    if (!r->cols) { free(r); return NULL; }
    r->result = result;
    r->fetch_row = (fetch_row_fn)fetch_row;
    r->fetch_lengths = (fetch_lengths_fn)fetch_lengths;
    r->ncols = ncols;
    r->err_col = -1;
    return r;
}

void myr_free(Reader *r) {
    if (!r) return;
    cols_free(r->cols, r->ncols);
    free(r);
}

static int width_of(int kind) {
    switch (kind) {
    case K_I16: return 2;
    case K_I32: case K_F32: case K_DATE: return 4;
    default: return 8;
    }
}

/* A decimal integer, the whole field (the server's rendering: optional '-', digits). */
static int parse_int(const char *s, unsigned long n, int64_t *out) {
    unsigned long i = 0;
    int neg = 0;
    if (n && (s[0] == '-' || s[0] == '+')) { neg = s[0] == '-'; i = 1; }
    if (i == n || n - i > 19) return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9) return -1;
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int parse_u64(const char *s, unsigned long n, uint64_t *out) {
    if (n == 0 || n > 20) return -1;
    uint64_t v = 0;
    for (unsigned long i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9) return -1;
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9) return -1;
        v = v * 10 + (int)d;
    }
    *out = v;
    return 0;
}

/* Days from 1970-01-01 (proleptic Gregorian; Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153u * (unsigned)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (unsigned)d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int month_days(int y, int m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

/* 'YYYY-MM-DD': 1 and the day number for a real calendar date, 0 for a zero or invalid date
 * (the cursor reader reads those as NULL), -1 for text that is not a date at all. */
static int parse_date(const char *s, unsigned long n, int64_t *days) {
    int y, m, d;
    if (n < 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &m) ||
        digits(s + 8, 2, &d))
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > month_days(y, m)) return 0;
    *days = days_from_civil(y, m, d);
    return 1;
}

/* 'YYYY-MM-DD HH:MM:SS[.ffffff]' -> microseconds from the epoch (the session is in UTC). */
static int parse_datetime(const char *s, unsigned long n, int64_t *us) {
    int64_t days;
    int h, mi, sec, frac = 0;
    if (n < 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':') return -1;
    int rc = parse_date(s, 10, &days);
    if (rc <= 0) return rc;
    if (digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec) || h > 23 ||
        mi > 59 || sec > 59)
        return -1;
    if (n > 19) {
        int width = (int)n - 20;
        if (s[19] != '.' || width < 1 || width > 6 || digits(s + 20, width, &frac)) return -1;
        for (int i = width; i < 6; i++) frac *= 10;
    }
    *us = ((days * 24 + h) * 60 + mi) * INT64_C(60000000) + (int64_t)sec * 1000000 + frac;
    return 1;
}

static int parse_double(const char *s, unsigned long n, double *out, float *out32, int single) {
    char buf[64];
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *end;
    if (single) *out32 = strtof(buf, &end);
    else *out = strtod(buf, &end);
    return end == buf + n ? 0 : -1;
}

static const uint8_t ZEROS[8] = {0};

/* One field; `s` is NULL for SQL NULL. */
static int decode_field(Reader *r, int i, const char *s, unsigned long n) {
    Col *c = &r->cols[i];
    int64_t row = r->rows;
    int present = s != NULL;
    int64_t v = 0;
    int rc;
    if (present) {
        switch (c->kind) {
        case K_RAW:
            rc = append_bytes(c, s, (int64_t)n);
            if (rc == -2) return fail(r, i, "over 2 GB of text in one batch", NULL, 0);
            if (rc) return fail(r, i, "out of memory", NULL, 0);
            break;
        case K_BOOL:
            if (parse_int(s, n, &v)) return fail(r, i, "not an integer:", s, n);
            if (append_bit(&c->data, row, v != 0)) return fail(r, i, "out of memory", NULL, 0);
            break;
        case K_I16: case K_I32: case K_I64: {
            if (parse_int(s, n, &v)) return fail(r, i, "not an integer:", s, n);
            int w = width_of(c->kind);
            if ((w == 2 && (v < INT16_MIN || v > INT16_MAX)) ||
                (w == 4 && (v < INT32_MIN || v > INT32_MAX)))
                return fail(r, i, "out of range:", s, n);
            int16_t v16 = (int16_t)v;
            int32_t v32 = (int32_t)v;
            const void *p = w == 2 ? (const void *)&v16 : w == 4 ? (const void *)&v32 : (const void *)&v;
            if (append_fixed(c, p, w)) return fail(r, i, "out of memory", NULL, 0);
            break;
        }
        case K_U64: {
            uint64_t u;
            if (parse_u64(s, n, &u)) return fail(r, i, "not an unsigned integer:", s, n);
            if (append_fixed(c, &u, 8)) return fail(r, i, "out of memory", NULL, 0);
            break;
        }
        case K_F32: case K_F64: {
            double d;
            float f;
            if (parse_double(s, n, &d, &f, c->kind == K_F32)) return fail(r, i, "not a number:", s, n);
            if (append_fixed(c, c->kind == K_F32 ? (const void *)&f : (const void *)&d, width_of(c->kind)))
                return fail(r, i, "out of memory", NULL, 0);
            break;
        }
        case K_DATE: case K_DATETIME: {
            rc = c->kind == K_DATE ? parse_date(s, n, &v) : parse_datetime(s, n, &v);
            if (rc < 0) return fail(r, i, c->kind == K_DATE ? "not a date:" : "not a datetime:", s, n);
            present = rc;  /* zero and invalid dates read as NULL */
            int32_t v32 = (int32_t)v;
            if (append_fixed(c, c->kind == K_DATE ? (const void *)&v32 : (const void *)&v,
                             width_of(c->kind)))
                return fail(r, i, "out of memory", NULL, 0);
            break;
        }
        default:
            return fail(r, i, "unknown column kind", NULL, 0);
        }
    } else {
        if (c->kind == K_RAW) rc = append_bytes(c, "", 0);
        else if (c->kind == K_BOOL) rc = append_bit(&c->data, row, 0);
        else rc = append_fixed(c, ZEROS, width_of(c->kind));
        if (rc) return fail(r, i, "out of memory", NULL, 0);
    }
    if (!present) c->nulls++;
    return append_bit(&c->valid, row, present) ? fail(r, i, "out of memory", NULL, 0) : 0;
}

/* Fetch and decode rows until `max_rows` or `max_bytes` of values: 1 = a batch (more may
 * follow), 0 = the result ended (the batch holds the last rows, maybe none; the caller asks
 * the driver whether the end was an error), -3 = a value could not be decoded (myr_error). */
int myr_read(Reader *r, int64_t max_rows, int64_t max_bytes) {
    r->rows = r->bytes = 0;
    cols_reset(r->cols, r->ncols);
    if (r->ended) return 0;
    while (r->rows < max_rows && r->bytes < max_bytes) {
        char **row = r->fetch_row(r->result);
        if (!row) { r->ended = 1; return 0; }
        unsigned long *lengths = r->fetch_lengths(r->result);
        if (!lengths) return fail(r, -1, "the driver returned a row without lengths", NULL, 0);
        for (int i = 0; i < r->ncols; i++) {
            int rc = decode_field(r, i, row[i], lengths[i]);
            if (rc) return rc;
            r->bytes += (int64_t)lengths[i];
        }
        r->rows++;
    }
    return 1;
}

int64_t myr_rows(Reader *r) { return r->rows; }
int64_t myr_nulls(Reader *r, int col) { return r->cols[col].nulls; }

void *myr_take(Reader *r, int col, int which, int64_t *len) {
    return col_take(&r->cols[col], which, len);
}

const char *myr_error(Reader *r, int *col) {
    *col = r->err_col;
    return r->err;
}
