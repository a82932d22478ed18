/*
 * wiredecode.c -- the C twin of pprofx/profile/_wire_py.py, built as pprofx.profile._wire_c.
 *
 * decode_raw(data, error_type) parses serialized profile.proto bytes (not gzip) into the
 * "raw tree" 15-tuple defined in _wire_py's docstring, and for malformed input raises
 * error_type with exactly the message the Python twin raises, for the same first error.
 * The Python twin is the specification: keep the two in step.
 *
 * How it works: one streaming pass, like _wire_py's generator. Each field is read and
 * validated completely (tag, then payload: varint, length-delimited bounds, or fixed-width
 * skip) before it is dispatched, so errors come out in the same order as in the twin.
 * Sub-messages (Sample, Location, ...) are parsed into plain C values and scratch arrays
 * first and turned into Python objects only once the sub-message has parsed cleanly; the
 * top-level lists own every object made so far, so an error path just drops them.
 *
 * Speed: varints are decoded inline and equal ints share one object (int_obj). The caller
 * (decode.py) pauses the cyclic GC around large decodes, for both twins.
 *
 * Safety: every read is bounds-checked against the end of the enclosing message, a length
 * is checked against the bytes left before it is used, and scratch arrays only grow by a
 * count of bytes actually present in the input. Only the public CPython C API is used
 * (CPython 3.9 to 3.13).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Growable array of uint64 (scratch storage, reused between sub-messages).             */

typedef struct {
    uint64_t *v;
    size_t n;
    size_t cap;
} U64Vec;

static int
vec_grow(U64Vec *a, size_t extra)
{
    size_t need, cap;
    uint64_t *p;

    if (extra > (size_t)PY_SSIZE_T_MAX / sizeof(uint64_t) - a->n) {
        PyErr_NoMemory();
        return -1;
    }
    need = a->n + extra;
    cap = a->cap ? a->cap : 64;
    while (cap < need) {
        cap = (cap > (size_t)PY_SSIZE_T_MAX / sizeof(uint64_t) / 2) ? need : cap * 2;
    }
    p = (uint64_t *)PyMem_Realloc(a->v, cap * sizeof(uint64_t));
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    a->v = p;
    a->cap = cap;
    return 0;
}

/* Make room for `extra` more items. */
static inline int
vec_reserve(U64Vec *a, size_t extra)
{
    if (a->cap - a->n >= extra) {
        return 0;
    }
    return vec_grow(a, extra);
}

static void
vec_free(U64Vec *a)
{
    PyMem_Free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

/* ------------------------------------------------------------------------------------ */
/* Decoder state and wire primitives.                                                    */

/* One slot of the int cache: the Python int for the raw value `key` (obj NULL = empty). */
typedef struct {
    uint64_t key;
    PyObject *obj;
} IntSlot;

typedef struct {
    const unsigned char *buf; /* the whole input; positions are offsets into it */
    PyObject *err;            /* exception class to raise (borrowed) */
    U64Vec locs;              /* Sample.location_id of the sample being parsed */
    U64Vec vals;              /* Sample.value */
    U64Vec labels;            /* Sample.label, 4 items each */
    U64Vec lines;             /* Location.line, 3 items each */
    U64Vec comments;          /* Profile.comment */
    IntSlot *cache;           /* ints made so far, direct-mapped by hash (see int_obj) */
    unsigned cache_shift;     /* 64 - log2(number of slots) */
} Dec;

/* One field as _wire_py._fields yields it. */
typedef struct {
    uint64_t num;  /* field number */
    unsigned wt;   /* wire type */
    size_t tagpos; /* offset of the tag */
    size_t a;      /* payload start (wire type 2) */
    size_t b;      /* payload end (wire type 2) */
    uint64_t v;    /* the value (wire type 0) */
} Fld;

/* Two's complement reading of a 64-bit varint, without implementation-defined casts. */
static inline long long
as_signed(uint64_t v)
{
    return v <= (uint64_t)INT64_MAX ? (long long)v : -(long long)(~v) - 1;
}

/* The Python int for a raw 64-bit value, read as int64 (is_signed) or uint64.

   Ints are immutable, so equal values may share one object: ids and indices repeat a lot
   (every sample lists location ids), and reusing the object saves an allocation and the
   memory of a duplicate. Values 0..256 are CPython's own cached small ints; values that
   are the same as int64 and uint64 (<= INT64_MAX) go through a direct-mapped cache. */
static inline PyObject *
int_obj(Dec *d, uint64_t v, int is_signed)
{
    IntSlot *slot;
    PyObject *o, *old;

    if (v <= 256) {
        return PyLong_FromLong((long)v);
    }
    if (v > (uint64_t)INT64_MAX) {
        if (is_signed) {
            return PyLong_FromLongLong(as_signed(v));
        }
        return PyLong_FromUnsignedLongLong((unsigned long long)v);
    }
    slot = &d->cache[(v * UINT64_C(0x9E3779B97F4A7C15)) >> d->cache_shift];
    if (slot->obj != NULL && slot->key == v) {
        Py_INCREF(slot->obj);
        return slot->obj;
    }
    o = PyLong_FromLongLong((long long)v);
    if (o == NULL) {
        return NULL;
    }
    old = slot->obj;
    Py_INCREF(o);
    slot->obj = o;
    slot->key = v;
    Py_XDECREF(old);
    return o;
}

#define obj_u64(v) int_obj(d, (v), 0)
#define obj_i64(v) int_obj(d, (v), 1)

/* _wire_py._varint: read a varint at *ppos, not beyond end. */
static int
varint_slow(Dec *d, size_t *ppos, size_t end, uint64_t *out)
{
    const unsigned char *buf = d->buf;
    size_t start = *ppos, pos = *ppos;
    uint64_t result = 0;
    unsigned shift = 0;

    for (;;) {
        unsigned b;
        if (pos >= end) {
            PyErr_Format(d->err, "truncated varint at byte %zu", start);
            return -1;
        }
        b = buf[pos++];
        result |= (uint64_t)(b & 0x7F) << shift;
        if (b < 0x80) {
            if (shift == 63 && b > 1) {
                PyErr_Format(d->err, "varint overflows 64 bits at byte %zu", start);
                return -1;
            }
            *out = result;
            *ppos = pos;
            return 0;
        }
        shift += 7;
        if (shift > 63) {
            PyErr_Format(d->err, "varint longer than 10 bytes at byte %zu", start);
            return -1;
        }
    }
}

/* varint_slow with fast paths: one byte, and up to 9 bytes when 10 are available (such a
   varint can neither be truncated nor overflow). Anything else, errors included, is left
   to varint_slow. */
static inline int
varint(Dec *d, size_t *ppos, size_t end, uint64_t *out)
{
    size_t pos = *ppos;
    const unsigned char *p = d->buf + pos;

    if (pos < end && p[0] < 0x80) {
        *out = p[0];
        *ppos = pos + 1;
        return 0;
    }
    if (end - pos >= 10) {
        uint64_t r = p[0] & 0x7F;
        unsigned i;
        for (i = 1; i < 9; i++) {
            r |= (uint64_t)(p[i] & 0x7F) << (7 * i);
            if (p[i] < 0x80) {
                *out = r;
                *ppos = pos + i + 1;
                return 0;
            }
        }
    }
    return varint_slow(d, ppos, end, out);
}

/* _wire_py._fields, one step: 1 = a field was read into *f, 0 = end of message, -1 = error. */
static inline int
next_field(Dec *d, size_t *ppos, size_t end, Fld *f)
{
    size_t pos = *ppos;
    uint64_t tag, n;

    f->v = 0; /* set for every wire type, so no path reads it uninitialised */
    f->a = f->b = 0;
    if (pos >= end) {
        return 0;
    }
    f->tagpos = pos;
    if (varint(d, &pos, end, &tag) < 0) {
        return -1;
    }
    f->num = tag >> 3;
    f->wt = (unsigned)(tag & 7);
    if (f->num == 0) {
        PyErr_Format(d->err, "invalid field number 0 at byte %zu", f->tagpos);
        return -1;
    }
    switch (f->wt) {
    case 0:
        if (varint(d, &pos, end, &f->v) < 0) {
            return -1;
        }
        break;
    case 2:
        if (varint(d, &pos, end, &n) < 0) {
            return -1;
        }
        if (n > (uint64_t)(end - pos)) {
            PyErr_Format(d->err,
                         "truncated field %llu: length %llu runs past the end of its message "
                         "at byte %zu",
                         (unsigned long long)f->num, (unsigned long long)n, f->tagpos);
            return -1;
        }
        f->a = pos;
        f->b = pos + (size_t)n;
        pos = f->b;
        break;
    case 1:
    case 5: {
        size_t width = f->wt == 1 ? 8 : 4;
        if (end - pos < width) {
            PyErr_Format(d->err, "truncated field %llu at byte %zu",
                         (unsigned long long)f->num, f->tagpos);
            return -1;
        }
        pos += width;
        break;
    }
    default: /* 3, 4 (groups), 6, 7 */
        PyErr_Format(d->err, "unsupported wire type %u for field %llu at byte %zu", f->wt,
                     (unsigned long long)f->num, f->tagpos);
        return -1;
    }
    *ppos = pos;
    return 1;
}

/* _wire_py._wrong */
static int
wrong(Dec *d, const char *msg, const Fld *f)
{
    PyErr_Format(d->err, "%s field %llu has wrong wire type %u at byte %zu", msg,
                 (unsigned long long)f->num, f->wt, f->tagpos);
    return -1;
}

/* _wire_py._repeated: one unpacked (wire type 0) or packed (wire type 2) run of varints. */
static int
repeated(Dec *d, U64Vec *out, const Fld *f, const char *msg)
{
    if (f->wt == 0) {
        if (vec_reserve(out, 1) < 0) {
            return -1;
        }
        out->v[out->n++] = f->v;
        return 0;
    }
    if (f->wt == 2) {
        const unsigned char *buf = d->buf;
        size_t pos = f->a, end = f->b, count = 0, i;
        /* Every complete varint ends in its own byte < 0x80: an exact upper bound. */
        for (i = pos; i < end; i++) {
            count += buf[i] < 0x80;
        }
        if (vec_reserve(out, count) < 0) {
            return -1;
        }
        while (pos < end) {
            unsigned c = buf[pos];
            uint64_t x;
            if (c < 0x80) {
                out->v[out->n++] = c;
                pos++;
                continue;
            }
            if (varint(d, &pos, end, &x) < 0) {
                return -1;
            }
            out->v[out->n++] = x;
        }
        return 0;
    }
    return wrong(d, msg, f);
}

/* ------------------------------------------------------------------------------------ */
/* Object builders.                                                                      */

/* A tuple of n new references (stolen); if any is NULL, drop them all and return NULL. */
static PyObject *
tuple_steal(PyObject **items, Py_ssize_t n)
{
    PyObject *t;
    Py_ssize_t i;

    for (i = 0; i < n; i++) {
        if (items[i] == NULL) {
            goto fail;
        }
    }
    t = PyTuple_New(n);
    if (t == NULL) {
        goto fail;
    }
    for (i = 0; i < n; i++) {
        PyTuple_SET_ITEM(t, i, items[i]);
    }
    return t;
fail:
    for (i = 0; i < n; i++) {
        Py_XDECREF(items[i]);
    }
    return NULL;
}

/* A list of ints from n consecutive values, signed or unsigned. */
static PyObject *
list_ints(Dec *d, const uint64_t *v, size_t n, int is_signed)
{
    PyObject *l = PyList_New((Py_ssize_t)n);
    size_t i;

    if (l == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        PyObject *o = int_obj(d, v[i], is_signed);
        if (o == NULL) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)i, o);
    }
    return l;
}

/* Append a new reference (stolen) to a list; NULL means an error is already set. */
static inline int
append_steal(PyObject *list, PyObject *o)
{
    int r;
    if (o == NULL) {
        return -1;
    }
    r = PyList_Append(list, o);
    Py_DECREF(o);
    return r;
}

/* ------------------------------------------------------------------------------------ */
/* Messages.                                                                             */

/* _wire_py._value_type, into out[0] (type) and out[1] (unit), raw. */
static int
parse_value_type(Dec *d, size_t a, size_t b, uint64_t out[2])
{
    Fld f;
    int r;

    out[0] = out[1] = 0;
    while ((r = next_field(d, &a, b, &f)) > 0) {
        if (f.num == 1 || f.num == 2) {
            if (f.wt != 0) {
                return wrong(d, "ValueType", &f);
            }
            out[f.num - 1] = f.v;
        }
    }
    return r;
}

static PyObject *
build_value_type(Dec *d, const uint64_t vt[2])
{
    PyObject *items[2];
    items[0] = obj_i64(vt[0]);
    items[1] = obj_i64(vt[1]);
    return tuple_steal(items, 2);
}

/* _wire_py._label, into out[0..3], raw. */
static int
parse_label(Dec *d, size_t a, size_t b, uint64_t out[4])
{
    Fld f;
    int r;

    out[0] = out[1] = out[2] = out[3] = 0;
    while ((r = next_field(d, &a, b, &f)) > 0) {
        if (f.num >= 1 && f.num <= 4) {
            if (f.wt != 0) {
                return wrong(d, "Label", &f);
            }
            out[f.num - 1] = f.v;
        }
    }
    return r;
}

/* _wire_py._sample */
static PyObject *
decode_sample(Dec *d, size_t a, size_t b)
{
    Fld f;
    int r;
    size_t i;
    PyObject *items[3], *labels;

    d->locs.n = d->vals.n = d->labels.n = 0;
    while ((r = next_field(d, &a, b, &f)) > 0) {
        if (f.num == 1) {
            if (repeated(d, &d->locs, &f, "Sample") < 0) {
                return NULL;
            }
        }
        else if (f.num == 2) {
            if (repeated(d, &d->vals, &f, "Sample") < 0) {
                return NULL;
            }
        }
        else if (f.num == 3) {
            if (f.wt != 2) {
                wrong(d, "Sample", &f);
                return NULL;
            }
            if (vec_reserve(&d->labels, 4) < 0) {
                return NULL;
            }
            if (parse_label(d, f.a, f.b, d->labels.v + d->labels.n) < 0) {
                return NULL;
            }
            d->labels.n += 4;
        }
    }
    if (r < 0) {
        return NULL;
    }

    labels = PyList_New((Py_ssize_t)(d->labels.n / 4));
    if (labels == NULL) {
        return NULL;
    }
    for (i = 0; i < d->labels.n / 4; i++) {
        const uint64_t *lv = d->labels.v + 4 * i;
        PyObject *li[4], *t;
        li[0] = obj_i64(lv[0]);
        li[1] = obj_i64(lv[1]);
        li[2] = obj_i64(lv[2]);
        li[3] = obj_i64(lv[3]);
        t = tuple_steal(li, 4);
        if (t == NULL) {
            Py_DECREF(labels);
            return NULL;
        }
        PyList_SET_ITEM(labels, (Py_ssize_t)i, t);
    }
    items[0] = list_ints(d, d->locs.v, d->locs.n, 0);
    items[1] = list_ints(d, d->vals.v, d->vals.n, 1);
    items[2] = labels;
    return tuple_steal(items, 3);
}

/* _wire_py._mapping */
static PyObject *
decode_mapping(Dec *d, size_t a, size_t b)
{
    uint64_t v[10] = {0};
    PyObject *items[10];
    Fld f;
    int r, i;

    while ((r = next_field(d, &a, b, &f)) > 0) {
        if (f.num >= 1 && f.num <= 10) {
            if (f.wt != 0) {
                wrong(d, "Mapping", &f);
                return NULL;
            }
            v[f.num - 1] = f.v;
        }
    }
    if (r < 0) {
        return NULL;
    }
    for (i = 0; i < 4; i++) { /* id, memory_start, memory_limit, file_offset: uint64 */
        items[i] = obj_u64(v[i]);
    }
    items[4] = obj_i64(v[4]); /* filename */
    items[5] = obj_i64(v[5]); /* build_id */
    for (i = 6; i < 10; i++) { /* has_functions .. has_inline_frames */
        items[i] = PyBool_FromLong(v[i] != 0);
    }
    return tuple_steal(items, 10);
}

/* _wire_py._location (with _line) */
static PyObject *
decode_location(Dec *d, size_t a, size_t b)
{
    uint64_t lid = 0, mid = 0, addr = 0;
    int folded = 0;
    PyObject *items[5], *lines;
    Fld f, g;
    int r;
    size_t i;

    d->lines.n = 0;
    while ((r = next_field(d, &a, b, &f)) > 0) {
        if (f.num == 4) {
            uint64_t *lv;
            size_t la = f.a;
            if (f.wt != 2) {
                wrong(d, "Location", &f);
                return NULL;
            }
            if (vec_reserve(&d->lines, 3) < 0) {
                return NULL;
            }
            lv = d->lines.v + d->lines.n;
            lv[0] = lv[1] = lv[2] = 0;
            while ((r = next_field(d, &la, f.b, &g)) > 0) {
                if (g.num >= 1 && g.num <= 3) {
                    if (g.wt != 0) {
                        wrong(d, "Line", &g);
                        return NULL;
                    }
                    lv[g.num - 1] = g.v;
                }
            }
            if (r < 0) {
                return NULL;
            }
            d->lines.n += 3;
        }
        else if (f.num >= 1 && f.num <= 5) {
            if (f.wt != 0) {
                wrong(d, "Location", &f);
                return NULL;
            }
            switch (f.num) {
            case 1: lid = f.v; break;
            case 2: mid = f.v; break;
            case 3: addr = f.v; break;
            default: folded = f.v != 0; break;
            }
        }
    }
    if (r < 0) {
        return NULL;
    }

    lines = PyList_New((Py_ssize_t)(d->lines.n / 3));
    if (lines == NULL) {
        return NULL;
    }
    for (i = 0; i < d->lines.n / 3; i++) {
        const uint64_t *lv = d->lines.v + 3 * i;
        PyObject *li[3], *t;
        li[0] = obj_u64(lv[0]); /* function_id: uint64 */
        li[1] = obj_i64(lv[1]); /* line */
        li[2] = obj_i64(lv[2]); /* column */
        t = tuple_steal(li, 3);
        if (t == NULL) {
            Py_DECREF(lines);
            return NULL;
        }
        PyList_SET_ITEM(lines, (Py_ssize_t)i, t);
    }
    items[0] = obj_u64(lid);
    items[1] = obj_u64(mid);
    items[2] = obj_u64(addr);
    items[3] = lines;
    items[4] = PyBool_FromLong(folded);
    return tuple_steal(items, 5);
}

/* _wire_py._function */
static PyObject *
decode_function(Dec *d, size_t a, size_t b)
{
    uint64_t v[5] = {0};
    PyObject *items[5];
    Fld f;
    int r, i;

    while ((r = next_field(d, &a, b, &f)) > 0) {
        if (f.num >= 1 && f.num <= 5) {
            if (f.wt != 0) {
                wrong(d, "Function", &f);
                return NULL;
            }
            v[f.num - 1] = f.v;
        }
    }
    if (r < 0) {
        return NULL;
    }
    items[0] = obj_u64(v[0]); /* id */
    for (i = 1; i < 5; i++) { /* name, system_name, filename, start_line */
        items[i] = obj_i64(v[i]);
    }
    return tuple_steal(items, 5);
}

/* _wire_py.decode_raw over buf[0:len]. */
static PyObject *
decode_profile(Dec *d, size_t len)
{
    PyObject *strings = NULL, *stypes = NULL, *samples = NULL, *mappings = NULL;
    PyObject *locations = NULL, *functions = NULL;
    PyObject *items[15];
    uint64_t scal[10] = {0};
    uint64_t pt[2] = {0, 0};
    int has_pt = 0, r;
    size_t pos = 0;
    Fld f;

    strings = PyList_New(0);
    stypes = PyList_New(0);
    samples = PyList_New(0);
    mappings = PyList_New(0);
    locations = PyList_New(0);
    functions = PyList_New(0);
    if (!strings || !stypes || !samples || !mappings || !locations || !functions) {
        goto fail;
    }

    while ((r = next_field(d, &pos, len, &f)) > 0) {
        switch (f.num) {
        case 2:
            if (f.wt != 2) {
                wrong(d, "Profile", &f);
                goto fail;
            }
            if (append_steal(samples, decode_sample(d, f.a, f.b)) < 0) {
                goto fail;
            }
            break;
        case 4:
            if (f.wt != 2) {
                wrong(d, "Profile", &f);
                goto fail;
            }
            if (append_steal(locations, decode_location(d, f.a, f.b)) < 0) {
                goto fail;
            }
            break;
        case 5:
            if (f.wt != 2) {
                wrong(d, "Profile", &f);
                goto fail;
            }
            if (append_steal(functions, decode_function(d, f.a, f.b)) < 0) {
                goto fail;
            }
            break;
        case 6:
            if (f.wt != 2) {
                wrong(d, "Profile", &f);
                goto fail;
            }
            if (append_steal(strings,
                             PyUnicode_DecodeUTF8((const char *)d->buf + f.a,
                                                  (Py_ssize_t)(f.b - f.a),
                                                  "surrogateescape")) < 0) {
                goto fail;
            }
            break;
        case 1: {
            uint64_t vt[2];
            if (f.wt != 2) {
                wrong(d, "Profile", &f);
                goto fail;
            }
            if (parse_value_type(d, f.a, f.b, vt) < 0) {
                goto fail;
            }
            if (append_steal(stypes, build_value_type(d, vt)) < 0) {
                goto fail;
            }
            break;
        }
        case 3:
            if (f.wt != 2) {
                wrong(d, "Profile", &f);
                goto fail;
            }
            if (append_steal(mappings, decode_mapping(d, f.a, f.b)) < 0) {
                goto fail;
            }
            break;
        case 11:
            if (f.wt != 2) {
                wrong(d, "Profile", &f);
                goto fail;
            }
            if (parse_value_type(d, f.a, f.b, pt) < 0) {
                goto fail;
            }
            has_pt = 1;
            break;
        case 13:
            if (repeated(d, &d->comments, &f, "Profile") < 0) {
                goto fail;
            }
            break;
        case 7: case 8: case 9: case 10: case 12: case 14: case 15:
            if (f.wt != 0) {
                wrong(d, "Profile", &f);
                goto fail;
            }
            scal[f.num - 7] = f.v;
            break;
        default: /* unknown field: already skipped by next_field */
            break;
        }
    }
    if (r < 0) {
        goto fail;
    }

    items[0] = strings;
    items[1] = stypes;
    items[2] = samples;
    items[3] = mappings;
    items[4] = locations;
    items[5] = functions;
    strings = stypes = samples = mappings = locations = functions = NULL;
    items[6] = obj_i64(scal[0]);  /* drop_frames (7) */
    items[7] = obj_i64(scal[1]);  /* keep_frames (8) */
    items[8] = obj_i64(scal[2]);  /* time_nanos (9) */
    items[9] = obj_i64(scal[3]);  /* duration_nanos (10) */
    if (has_pt) {                 /* period_type (11) */
        items[10] = build_value_type(d, pt);
    }
    else {
        Py_INCREF(Py_None);
        items[10] = Py_None;
    }
    items[11] = obj_i64(scal[5]); /* period (12) */
    items[12] = list_ints(d, d->comments.v, d->comments.n, 1); /* comment (13) */
    items[13] = obj_i64(scal[7]); /* default_sample_type (14) */
    items[14] = obj_i64(scal[8]); /* doc_url (15) */
    return tuple_steal(items, 15);

fail:
    Py_XDECREF(strings);
    Py_XDECREF(stypes);
    Py_XDECREF(samples);
    Py_XDECREF(mappings);
    Py_XDECREF(locations);
    Py_XDECREF(functions);
    return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Module.                                                                               */

PyDoc_STRVAR(decode_raw_doc,
"decode_raw($module, data, error_type, /)\n"
"--\n"
"\n"
"Parse serialized Profile bytes (not gzip) into the raw tree of _wire_py.decode_raw.\n"
"\n"
"data is any bytes-like object; malformed input raises error_type (an exception\n"
"class, normally ProfileError) with the same message as the pure-Python twin.");

static PyObject *
decode_raw(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *data, *err, *tmp = NULL, *result;
    Py_buffer view;
    Dec d;
    unsigned bits;
    size_t i;

    (void)module;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "decode_raw() takes exactly 2 arguments (%zd given)", nargs);
        return NULL;
    }
    data = args[0];
    err = args[1];
    if (!PyExceptionClass_Check(err)) {
        PyErr_SetString(PyExc_TypeError, "decode_raw() error_type must be an exception class");
        return NULL;
    }
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        /* Not a contiguous buffer: accept what bytes(data) accepts (as the twin does),
           e.g. a non-contiguous memoryview. */
        if (!PyErr_ExceptionMatches(PyExc_BufferError)
            && !PyErr_ExceptionMatches(PyExc_TypeError)) {
            return NULL;
        }
        PyErr_Clear();
        tmp = PyBytes_FromObject(data);
        if (tmp == NULL) {
            return NULL;
        }
        if (PyObject_GetBuffer(tmp, &view, PyBUF_SIMPLE) < 0) {
            Py_DECREF(tmp);
            return NULL;
        }
    }

    memset(&d, 0, sizeof(d));
    d.buf = (const unsigned char *)view.buf;
    d.err = err;
    /* 256 to 65536 cache slots, about one per 16 bytes of input. */
    bits = 8;
    while (bits < 16 && ((size_t)16 << bits) < (size_t)view.len) {
        bits++;
    }
    d.cache_shift = 64 - bits;
    d.cache = (IntSlot *)PyMem_Calloc((size_t)1 << bits, sizeof(IntSlot));
    if (d.cache == NULL) {
        PyErr_NoMemory();
        result = NULL;
    }
    else {
        result = decode_profile(&d, (size_t)view.len);
        for (i = 0; i < ((size_t)1 << bits); i++) {
            Py_XDECREF(d.cache[i].obj);
        }
        PyMem_Free(d.cache);
    }

    vec_free(&d.locs);
    vec_free(&d.vals);
    vec_free(&d.labels);
    vec_free(&d.lines);
    vec_free(&d.comments);
    PyBuffer_Release(&view);
    Py_XDECREF(tmp);
    return result;
}

static PyMethodDef wire_methods[] = {
    {"decode_raw", (PyCFunction)(void (*)(void))decode_raw, METH_FASTCALL, decode_raw_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot wire_slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_GIL_DISABLED
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

PyDoc_STRVAR(module_doc,
"C twin of pprofx.profile._wire_py: profile.proto bytes -> raw tree of tuples.");

static struct PyModuleDef wire_module = {
    PyModuleDef_HEAD_INIT,
    "pprofx.profile._wire_c", /* m_name */
    module_doc,               /* m_doc */
    0,                        /* m_size: no module state */
    wire_methods,             /* m_methods */
    wire_slots,               /* m_slots */
    NULL,                     /* m_traverse */
    NULL,                     /* m_clear */
    NULL,                     /* m_free */
};

PyMODINIT_FUNC
PyInit__wire_c(void)
{
    return PyModuleDef_Init(&wire_module);
}
