/*
 * stackcapture.c -- the C twin of pprofx.runtime.frames.StackWalker, built as
 * pprofx.runtime._stacks_c.
 *
 * StackWalker(table, max_depth=128).walk(ident, frame) returns the same tuple of frame ids
 * (leaf first) as the Python walker for the same frames and the same FrameTable: it walks
 * the frame chain (PyFrame_GetBack / PyFrame_GetCode / PyFrame_GetLineNumber), reuses the
 * callers of the first frame that was on this thread's previous stack (never a generator,
 * coroutine or async generator frame, which can be resumed from another caller), caps the
 * stack at max_depth frames plus the truncation marker 0, and calls table.intern(frame,
 * code, line) in the same order as the Python walker does, so both give the same ids. The
 * Python twin is the specification: keep the two in step.
 *
 * Speed: a C hash table maps (code object, line) to the id's int object, so table.intern
 * (Python code) runs only for pairs seen for the first time; ids >= 2 are cached (1, the
 * table's overflow id, is not, so a full table is asked again, like the Python walker does).
 * Per thread the previous stack is kept as a (frames, ids, reusable) tuple in a dict; a
 * stack that did not change at all (same leaf frame object at the same line) is returned as
 * that very tuple, without building anything.
 *
 * Must be called with the GIL held (the sampler thread holds it, as sys._current_frames
 * does); not thread-safe otherwise. Only the public CPython C API is used (3.9 to 3.13).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h> /* PyFrame_Check, PyFrame_GetBack on 3.9/3.10 */

#include <stdint.h>
#include <string.h>

#define RESUMABLE (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)

/* One (code, line) -> id entry; code == NULL marks a free slot. Holds strong references. */
typedef struct {
    PyObject *code;
    int line;
    PyObject *fid;
} Entry;

typedef struct {
    PyObject_HEAD
    PyObject *table;      /* the FrameTable */
    PyObject *intern;     /* table.intern, bound */
    PyObject *prev;       /* ident -> (frames tuple, ids tuple, reusable bool) */
    Py_ssize_t max_depth;
    Entry *map;
    size_t cap;           /* power of two, or 0 */
    size_t used;
    PyObject **fresh;     /* scratch: new frames of one walk (strong refs), max_depth slots */
    PyObject **ids;       /* scratch: their ids (strong refs), max_depth + 1 slots */
} Walker;

static PyObject *str_co_flags;
static PyObject *zero;

/* ------------------------------------------------------------------------------------ */
/* (code, line) -> id cache.                                                             */

static size_t
slot_of(PyObject *code, int line, size_t mask)
{
    uint64_t h = (uint64_t)(uintptr_t)code * 0x9E3779B97F4A7C15ULL;
    h ^= (uint64_t)(uint32_t)line * 0xC2B2AE3D27D4EB4FULL;
    h ^= h >> 29;
    return (size_t)h & mask;
}

static PyObject *
map_get(Walker *w, PyObject *code, int line)
{
    size_t mask, i;
    if (w->cap == 0) {
        return NULL;
    }
    mask = w->cap - 1;
    for (i = slot_of(code, line, mask); w->map[i].code != NULL; i = (i + 1) & mask) {
        if (w->map[i].code == code && w->map[i].line == line) {
            return w->map[i].fid;
        }
    }
    return NULL;
}

/* Insert a pair known to be absent; steals nothing (takes new references). */
static int
map_put(Walker *w, PyObject *code, int line, PyObject *fid)
{
    size_t mask, i;
    if ((w->used + 1) * 2 > w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 1024, j;
        Entry *nmap = PyMem_Calloc(ncap, sizeof(Entry));
        if (nmap == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (j = 0; j < w->cap; j++) {
            if (w->map[j].code != NULL) {
                size_t k = slot_of(w->map[j].code, w->map[j].line, ncap - 1);
                while (nmap[k].code != NULL) {
                    k = (k + 1) & (ncap - 1);
                }
                nmap[k] = w->map[j];
            }
        }
        PyMem_Free(w->map);
        w->map = nmap;
        w->cap = ncap;
    }
    mask = w->cap - 1;
    for (i = slot_of(code, line, mask); w->map[i].code != NULL; i = (i + 1) & mask) {
    }
    Py_INCREF(code);
    Py_INCREF(fid);
    w->map[i].code = code;
    w->map[i].line = line;
    w->map[i].fid = fid;
    w->used++;
    return 0;
}

static void
map_clear(Walker *w)
{
    size_t i;
    Entry *map = w->map;
    size_t cap = w->cap;
    w->map = NULL;
    w->cap = 0;
    w->used = 0;
    for (i = 0; i < cap; i++) {
        if (map[i].code != NULL) {
            Py_DECREF(map[i].code);
            Py_DECREF(map[i].fid);
        }
    }
    PyMem_Free(map);
}

/* The id of frame f (code, its current line): a new reference, or NULL with an error set. */
static PyObject *
frame_id(Walker *w, PyFrameObject *f)
{
    PyObject *code = (PyObject *)PyFrame_GetCode(f);  /* new reference */
    int line = PyFrame_GetLineNumber(f);
    PyObject *fid, *line_obj;

    if (line < 0) {
        line = -1;  /* f.f_lineno is None */
    }
    fid = map_get(w, code, line);
    if (fid != NULL) {
        Py_DECREF(code);
        Py_INCREF(fid);
        return fid;
    }
    if (line >= 0) {
        line_obj = PyLong_FromLong(line);
        if (line_obj == NULL) {
            Py_DECREF(code);
            return NULL;
        }
    } else {
        line_obj = Py_None;
        Py_INCREF(line_obj);
    }
    fid = PyObject_CallFunctionObjArgs(w->intern, (PyObject *)f, code, line_obj, NULL);
    Py_DECREF(line_obj);
    if (fid != NULL) {
        long v = PyLong_AsLong(fid);
        if (v == -1 && PyErr_Occurred()) {
            Py_CLEAR(fid);
        } else if (v != 1 && map_put(w, code, line, fid) < 0) {
            Py_CLEAR(fid);
        }
    }
    Py_DECREF(code);
    return fid;
}

/* 1 if f's code is a generator, coroutine or async generator, 0 if not, -1 on error. */
static int
is_resumable(PyFrameObject *f)
{
    PyObject *code = (PyObject *)PyFrame_GetCode(f);
    PyObject *flags = PyObject_GetAttr(code, str_co_flags);
    long v;
    Py_DECREF(code);
    if (flags == NULL) {
        return -1;
    }
    v = PyLong_AsLong(flags);
    Py_DECREF(flags);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    return (v & RESUMABLE) != 0;
}

/* ------------------------------------------------------------------------------------ */
/* The walker type.                                                                      */

static int
Walker_init(Walker *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"table", "max_depth", NULL};
    PyObject *table, *intern;
    Py_ssize_t max_depth = 128;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|n:StackWalker", kwlist, &table,
                                     &max_depth)) {
        return -1;
    }
    if (max_depth < 1 || max_depth > 1000000) {
        PyErr_SetString(PyExc_ValueError, "max_depth must be from 1 to 1000000");
        return -1;
    }
    intern = PyObject_GetAttrString(table, "intern");
    if (intern == NULL) {
        return -1;
    }
    if (self->fresh != NULL || self->table != NULL) {  /* __init__ called again */
        PyErr_SetString(PyExc_RuntimeError, "StackWalker is already initialised");
        Py_DECREF(intern);
        return -1;
    }
    self->fresh = PyMem_Calloc((size_t)max_depth, sizeof(PyObject *));
    self->ids = PyMem_Calloc((size_t)max_depth + 1, sizeof(PyObject *));
    self->prev = PyDict_New();
    if (self->fresh == NULL || self->ids == NULL || self->prev == NULL) {
        Py_DECREF(intern);
        if (!PyErr_Occurred()) {
            PyErr_NoMemory();
        }
        return -1;
    }
    Py_INCREF(table);
    self->table = table;
    self->intern = intern;
    self->max_depth = max_depth;
    return 0;
}

static int
Walker_traverse(Walker *self, visitproc visit, void *arg)
{
    size_t i;
    Py_VISIT(self->table);
    Py_VISIT(self->intern);
    Py_VISIT(self->prev);
    for (i = 0; i < self->cap; i++) {
        if (self->map[i].code != NULL) {
            Py_VISIT(self->map[i].code);
            Py_VISIT(self->map[i].fid);
        }
    }
    return 0;
}

static int
Walker_clear(Walker *self)
{
    Py_CLEAR(self->table);
    Py_CLEAR(self->intern);
    Py_CLEAR(self->prev);
    map_clear(self);
    return 0;
}

static void
Walker_dealloc(Walker *self)
{
    PyObject_GC_UnTrack(self);
    Walker_clear(self);
    PyMem_Free(self->fresh);
    PyMem_Free(self->ids);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
ready(Walker *self)
{
    if (self->prev == NULL || self->fresh == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "StackWalker is not initialised");
        return 0;
    }
    return 1;
}

static PyObject *
Walker_walk(Walker *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *ident, *frame, *prev, *prev_frames = NULL, *prev_ids = NULL;
    PyObject *stack = NULL, *frames = NULL, *entry, *result = NULL;
    PyFrameObject *f;
    Py_ssize_t n = 0, nids = 0, i, p = -1, limit = self->max_depth;
    int reusable = 0, truncated = 0;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "walk(ident, frame) takes exactly 2 arguments");
        return NULL;
    }
    if (!ready(self)) {
        return NULL;
    }
    ident = args[0];
    frame = args[1];
    if (frame != Py_None && !PyFrame_Check(frame)) {
        PyErr_SetString(PyExc_TypeError, "frame must be a frame object or None");
        return NULL;
    }
    prev = PyDict_GetItemWithError(self->prev, ident);  /* borrowed */
    if (prev == NULL && PyErr_Occurred()) {
        return NULL;
    }
    Py_XINCREF(prev);
    if (prev != NULL) {
        prev_frames = PyTuple_GET_ITEM(prev, 0);
        prev_ids = PyTuple_GET_ITEM(prev, 1);
        reusable = PyTuple_GET_ITEM(prev, 2) == Py_True;
    }

    f = frame == Py_None ? NULL : (PyFrameObject *)frame;
    Py_XINCREF(f);
    while (f != NULL) {
        PyFrameObject *back;
        PyObject *fid;
        if (reusable) {
            Py_ssize_t k, m = PyTuple_GET_SIZE(prev_frames);
            for (k = 0; k < m; k++) {
                if (PyTuple_GET_ITEM(prev_frames, k) == (PyObject *)f) {
                    break;
                }
            }
            if (k < m) {
                int r = is_resumable(f);
                if (r < 0) {
                    goto done;
                }
                if (!r) {
                    p = k;
                    break;
                }
            }
        }
        if (n >= limit) {
            truncated = 1;
            break;
        }
        fid = frame_id(self, f);
        if (fid == NULL) {
            goto done;
        }
        self->fresh[n++] = (PyObject *)f;  /* takes our reference */
        self->ids[nids++] = fid;
        back = PyFrame_GetBack(f);
        f = back;
    }

    if (p >= 0) {
        /* f is still on this stack, so its callers are unchanged; its line may not be. */
        Py_ssize_t pf = PyTuple_GET_SIZE(prev_frames), pi = PyTuple_GET_SIZE(prev_ids);
        Py_ssize_t tail = pi - (p + 1), slen = nids + 1 + tail, flen = n + pf - p;
        PyObject *fid = frame_id(self, f);
        if (fid == NULL) {
            goto done;
        }
        self->ids[nids++] = fid;
        if (n == 0 && p == 0 && fid == PyTuple_GET_ITEM(prev_ids, 0)) {
            /* Nothing changed since the previous walk: its stack is the answer. */
            Py_INCREF(prev_ids);
            result = prev_ids;
            goto done;
        }
        reusable = 1;
        if (slen > limit) {
            slen = limit + 1;
            flen = limit;
            reusable = 0;
        }
        stack = PyTuple_New(slen);
        frames = PyTuple_New(flen);
        if (stack == NULL || frames == NULL) {
            goto done;
        }
        for (i = 0; i < slen; i++) {
            PyObject *o;
            if (!reusable && i == limit) {
                o = zero;
            } else if (i < nids) {
                o = self->ids[i];
            } else {
                o = PyTuple_GET_ITEM(prev_ids, p + 1 + (i - nids));
            }
            Py_INCREF(o);
            PyTuple_SET_ITEM(stack, i, o);
        }
        for (i = 0; i < flen; i++) {
            PyObject *o = i < n ? self->fresh[i] : PyTuple_GET_ITEM(prev_frames, p + (i - n));
            Py_INCREF(o);
            PyTuple_SET_ITEM(frames, i, o);
        }
    } else {
        stack = PyTuple_New(nids + truncated);
        frames = PyTuple_New(n);
        if (stack == NULL || frames == NULL) {
            goto done;
        }
        for (i = 0; i < nids; i++) {
            Py_INCREF(self->ids[i]);
            PyTuple_SET_ITEM(stack, i, self->ids[i]);
        }
        if (truncated) {
            Py_INCREF(zero);
            PyTuple_SET_ITEM(stack, nids, zero);
        }
        for (i = 0; i < n; i++) {
            Py_INCREF(self->fresh[i]);
            PyTuple_SET_ITEM(frames, i, self->fresh[i]);
        }
        reusable = !truncated;
    }
    entry = PyTuple_Pack(3, frames, stack, reusable ? Py_True : Py_False);
    if (entry == NULL) {
        goto done;
    }
    if (PyDict_SetItem(self->prev, ident, entry) < 0) {
        Py_DECREF(entry);
        goto done;
    }
    Py_DECREF(entry);
    result = stack;
    stack = NULL;

done:
    Py_XDECREF(f);
    for (i = 0; i < n; i++) {
        Py_DECREF(self->fresh[i]);
    }
    for (i = 0; i < nids; i++) {
        Py_DECREF(self->ids[i]);
    }
    Py_XDECREF(stack);
    Py_XDECREF(frames);
    Py_XDECREF(prev);
    return result;
}

static PyObject *
Walker_forget(Walker *self, PyObject *alive)
{
    PyObject *keys;
    Py_ssize_t i;
    if (!ready(self)) {
        return NULL;
    }
    keys = PyDict_Keys(self->prev);
    if (keys == NULL) {
        return NULL;
    }
    for (i = 0; i < PyList_GET_SIZE(keys); i++) {
        PyObject *k = PyList_GET_ITEM(keys, i);
        int r = PySequence_Contains(alive, k);
        if (r < 0 || (r == 0 && PyDict_DelItem(self->prev, k) < 0)) {
            Py_DECREF(keys);
            return NULL;
        }
    }
    Py_DECREF(keys);
    Py_RETURN_NONE;
}

static PyObject *
Walker_clear_method(Walker *self, PyObject *Py_UNUSED(ignored))
{
    if (!ready(self)) {
        return NULL;
    }
    PyDict_Clear(self->prev);
    Py_RETURN_NONE;
}

static PyObject *
Walker_get_table(Walker *self, void *Py_UNUSED(closure))
{
    PyObject *t = self->table ? self->table : Py_None;
    Py_INCREF(t);
    return t;
}

static PyObject *
Walker_get_max_depth(Walker *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->max_depth);
}

static PyObject *
Walker_get_cached(Walker *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSize_t(self->used);
}

static PyMethodDef Walker_methods[] = {
    {"walk", (PyCFunction)(void (*)(void))Walker_walk, METH_FASTCALL,
     "walk(ident, frame) -> tuple of frame ids, leaf first (see frames.StackWalker.walk)"},
    {"forget", (PyCFunction)Walker_forget, METH_O,
     "forget(alive): drop cached stacks of threads not in alive"},
    {"clear", (PyCFunction)Walker_clear_method, METH_NOARGS,
     "clear(): drop every cached stack"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Walker_getset[] = {
    {"table", (getter)Walker_get_table, NULL, "the FrameTable ids come from", NULL},
    {"max_depth", (getter)Walker_get_max_depth, NULL, "frames kept per stack", NULL},
    {"cached_pairs", (getter)Walker_get_cached, NULL,
     "(code, line) pairs in the C-side id cache", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject WalkerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pprofx.runtime._stacks_c.StackWalker",
    .tp_basicsize = sizeof(Walker),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "StackWalker(table, max_depth=128): C twin of pprofx.runtime.frames.StackWalker",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Walker_init,
    .tp_dealloc = (destructor)Walker_dealloc,
    .tp_traverse = (traverseproc)Walker_traverse,
    .tp_clear = (inquiry)Walker_clear,
    .tp_methods = Walker_methods,
    .tp_getset = Walker_getset,
};

static struct PyModuleDef stacks_module = {
    PyModuleDef_HEAD_INIT,
    "_stacks_c",
    "C twin of pprofx.runtime.frames.StackWalker (see pprofx/_native/stackcapture.c).",
    -1,
    NULL,
};

PyMODINIT_FUNC
PyInit__stacks_c(void)
{
    PyObject *m;
    if (PyType_Ready(&WalkerType) < 0) {
        return NULL;
    }
    str_co_flags = PyUnicode_InternFromString("co_flags");
    zero = PyLong_FromLong(0);
    if (str_co_flags == NULL || zero == NULL) {
        return NULL;
    }
    m = PyModule_Create(&stacks_module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&WalkerType);
    if (PyModule_AddObject(m, "StackWalker", (PyObject *)&WalkerType) < 0) {
        Py_DECREF(&WalkerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
