/*
 * profiledlock.c -- the C twin of ProfiledLock / ProfiledRLock in pprofx/runtime/locks.py,
 * built as pprofx.runtime._locks_c.
 *
 * Each object wraps a real lock (made by the factory passed to configure(): normally
 * _thread.allocate_lock / _thread.RLock) and keeps the same waiter bookkeeping as the
 * Python classes: `_lock` (the real lock), `_waiters` (dict token -> wait start, made on
 * first use) and `_last` (time of the previous charge). The Python classes are the
 * specification; keep the two in step.
 *
 * Fast paths run without any Python code: an acquire whose non-blocking attempt on the
 * real lock succeeds, and a release that finds no waiters. The real lock's methods are
 * called through their method descriptors (C to C). Slow paths call the Python helpers
 * handed to configure() once at import:
 *   wait_slow(lk, inner.acquire, timeout, frame)  a contended blocking acquire
 *   charge(lk, 1)                                 a release with waiters (depth 1: the
 *                                                 caller of the C method)
 *   restore_slow(lk, inner, state)                RLock._acquire_restore that has to wait
 * `frame` is the caller's frame (PyEval_GetFrame), what sys._getframe(1) is in the Python
 * methods.
 *
 * Everything runs with the GIL held (the waiters dict relies on it, like the Python
 * code); the state set by configure() is process-global, so the module does not support
 * subinterpreters. Public CPython C API only, CPython 3.9 to 3.13.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include "structmember.h"

#if PY_VERSION_HEX < 0x030C0000
#define Py_T_OBJECT_EX T_OBJECT_EX
#define Py_T_LONGLONG T_LONGLONG
#define Py_READONLY READONLY
#endif

/* ------------------------------------------------------------------------------------ */
/* Configuration (set once by configure()).                                             */

typedef struct {
    PyObject *wait_slow;
    PyObject *charge;
    PyObject *restore_slow;
    PyObject *lock_factory;
    PyObject *rlock_factory;
    PyTypeObject *lock_type;   /* type of lock_factory() */
    PyTypeObject *rlock_type;  /* type of rlock_factory() */
    PyObject *lock_acquire;    /* method descriptors of those types */
    PyObject *lock_release;
    PyObject *rlock_acquire;
    PyObject *rlock_release;
} Config;

static Config cfg;

static PyObject *str_acquire, *str_release, *str_locked, *str_is_owned, *str_release_save,
    *str_at_fork_reinit, *str_rlock_name, *str_profiled_rlock_name;
static PyObject *int_zero, *int_one, *int_minus_one;

typedef struct {
    PyObject_HEAD
    PyObject *lock;      /* the real lock */
    PyObject *waiters;   /* dict or NULL until first used */
    long long last;      /* time of the previous charge (ns) */
    PyObject *weakrefs;
    int rlock;           /* 1 for ProfiledRLock (and subclasses) */
} PLock;

static PyTypeObject PLockType;
static PyTypeObject PRLockType;

static int
check_configured(void)
{
    if (cfg.wait_slow == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "pprofx.runtime._locks_c is not configured");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Calls on the real lock.                                                              */

/* inner.acquire(*args) / inner.release() through the cached descriptor when the inner lock
 * has the expected type, else by name. */
static PyObject *
inner_call(PyObject *inner, PyObject *descr, PyTypeObject *tp, PyObject *name,
           PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *stack[4];
    Py_ssize_t i;

    stack[0] = NULL;
    stack[1] = inner;
    for (i = 0; i < nargs && i < 2; i++) {
        stack[2 + i] = args[i];
    }
    if (descr != NULL && Py_TYPE(inner) == tp) {
        return PyObject_Vectorcall(descr, stack + 1, 1 + nargs, NULL);
    }
    return PyObject_VectorcallMethod(name, stack + 1, (1 + nargs) | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                     NULL);
}

static inline PyObject *
call_acquire(PLock *self, PyObject *const *args, Py_ssize_t nargs)
{
    return self->rlock ? inner_call(self->lock, cfg.rlock_acquire, cfg.rlock_type, str_acquire, args, nargs)
             : inner_call(self->lock, cfg.lock_acquire, cfg.lock_type, str_acquire, args, nargs);
}

static inline PyObject *
call_release(PLock *self)
{
    return self->rlock ? inner_call(self->lock, cfg.rlock_release, cfg.rlock_type, str_release, NULL, 0)
             : inner_call(self->lock, cfg.lock_release, cfg.lock_type, str_release, NULL, 0);
}

/* Non-blocking attempt: 1 acquired, 0 not, -1 error. */
static int
try_acquire(PLock *self)
{
    PyObject *arg = Py_False;
    PyObject *res = call_acquire(self, &arg, 1);
    int ok;

    if (res == NULL) {
        return -1;
    }
    ok = PyObject_IsTrue(res);
    Py_DECREF(res);
    return ok;
}

/* wait_slow(self, inner.acquire, timeout, caller's frame) */
static PyObject *
wait_slow(PLock *self, PyObject *timeout)
{
    PyObject *bound, *res, *args[4];
    PyObject *frame = (PyObject *)PyEval_GetFrame();  /* borrowed */

    bound = PyObject_GetAttr(self->lock, str_acquire);
    if (bound == NULL) {
        return NULL;
    }
    args[0] = (PyObject *)self;
    args[1] = bound;
    args[2] = timeout;
    args[3] = frame != NULL ? frame : Py_None;
    res = PyObject_Vectorcall(cfg.wait_slow, args, 4, NULL);
    Py_DECREF(bound);
    return res;
}

static inline int
has_waiters(PLock *self)
{
    return self->waiters != NULL && PyDict_Size(self->waiters) > 0;
}

/* charge(self, 1); 0 or -1 */
static int
charge(PLock *self)
{
    PyObject *args[2] = {(PyObject *)self, int_one};
    PyObject *res = PyObject_Vectorcall(cfg.charge, args, 2, NULL);

    if (res == NULL) {
        return -1;
    }
    Py_DECREF(res);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Construction, attributes.                                                            */

static PyObject *
plock_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PLock *self;
    PyObject *factory;

    if (check_configured() < 0) {
        return NULL;
    }
    if ((args != NULL && PyTuple_GET_SIZE(args) != 0) || (kwds != NULL && PyDict_Size(kwds) != 0)) {
        PyErr_Format(PyExc_TypeError, "%s() takes no arguments", type->tp_name);
        return NULL;
    }
    self = (PLock *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->rlock = PyType_IsSubtype(type, &PRLockType);
    factory = self->rlock ? cfg.rlock_factory : cfg.lock_factory;
    self->lock = PyObject_CallNoArgs(factory);
    if (self->lock == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void
plock_dealloc(PLock *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    if (self->weakrefs != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    Py_CLEAR(self->lock);
    Py_CLEAR(self->waiters);
    tp->tp_free((PyObject *)self);
}

static PyObject *
plock_get_waiters(PLock *self, void *closure)
{
    (void)closure;
    if (self->waiters == NULL) {
        self->waiters = PyDict_New();
        if (self->waiters == NULL) {
            return NULL;
        }
    }
    Py_INCREF(self->waiters);
    return self->waiters;
}

static PyGetSetDef plock_getset[] = {
    {"_waiters", (getter)plock_get_waiters, NULL,
     "Waiting threads: token -> time (ns) they started waiting.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef plock_members[] = {
    {"_lock", Py_T_OBJECT_EX, offsetof(PLock, lock), Py_READONLY, "The real lock."},
    {"_last", Py_T_LONGLONG, offsetof(PLock, last), 0, "Time (ns) of the previous charge."},
    {NULL, 0, 0, 0, NULL},
};

/* ------------------------------------------------------------------------------------ */
/* acquire / release (both types).                                                      */

/* acquire(blocking=True, timeout=-1): ProfiledLock.acquire + _acquire_args. */
static PyObject *
plock_acquire(PLock *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *blocking = NULL, *timeout = NULL, *res;
    Py_ssize_t i, nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
    int ok, b, neg, ne;
    /* the Python twin's TypeError messages (qualified names since 3.10) */
#if PY_VERSION_HEX >= 0x030A0000
    const char *fn = self->rlock ? "ProfiledRLock.acquire" : "ProfiledLock.acquire";
#else
    const char *fn = "acquire";
#endif

    if (nargs == 0 && nkw == 0) {  /* the common case: acquire() */
        ok = try_acquire(self);
        if (ok < 0) {
            return NULL;
        }
        if (ok) {
            Py_RETURN_TRUE;
        }
        return wait_slow(self, int_minus_one);
    }
    if (nargs > 2) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes from 1 to 3 positional arguments but %zd were given", fn, nargs + 1);
        return NULL;
    }
    if (nargs >= 1) {
        blocking = args[0];
    }
    if (nargs == 2) {
        timeout = args[1];
    }
    for (i = 0; i < nkw; i++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, i);
        PyObject **slot;
        if (PyUnicode_Check(key) && PyUnicode_CompareWithASCIIString(key, "blocking") == 0) {
            slot = &blocking;
        }
        else if (PyUnicode_Check(key) && PyUnicode_CompareWithASCIIString(key, "timeout") == 0) {
            slot = &timeout;
        }
        else {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%S'", fn, key);
            return NULL;
        }
        if (*slot != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%S'", fn, key);
            return NULL;
        }
        *slot = args[nargs + i];
    }
    if (blocking == NULL) {
        blocking = Py_True;
    }
    if (timeout == NULL) {
        timeout = int_minus_one;
    }
    /* if blocking is not True or timeout != -1: _acquire_args */
    if (blocking == Py_True) {
        ne = PyObject_RichCompareBool(timeout, int_minus_one, Py_NE);
        if (ne < 0) {
            return NULL;
        }
        if (!ne) {
            ok = try_acquire(self);
            if (ok < 0) {
                return NULL;
            }
            if (ok) {
                Py_RETURN_TRUE;
            }
            return wait_slow(self, int_minus_one);
        }
    }
    /* _acquire_args: if not blocking or (timeout < 0 and timeout != -1): inner.acquire(...) */
    b = PyObject_IsTrue(blocking);
    if (b < 0) {
        return NULL;
    }
    if (b) {
        neg = PyObject_RichCompareBool(timeout, int_zero, Py_LT);
        if (neg < 0) {
            return NULL;
        }
        if (neg) {
            ne = PyObject_RichCompareBool(timeout, int_minus_one, Py_NE);
            if (ne < 0) {
                return NULL;
            }
            neg = ne;
        }
    }
    if (!b || neg) {  /* the real lock validates these */
        PyObject *pass[2] = {blocking, timeout};
        return call_acquire(self, pass, 2);
    }
    ok = try_acquire(self);
    if (ok < 0) {
        return NULL;
    }
    if (ok) {
        Py_RETURN_TRUE;
    }
    res = wait_slow(self, timeout);
    return res;
}

static PyObject *
plock_enter(PLock *self, PyObject *unused)
{
    int ok;

    (void)unused;
    ok = try_acquire(self);
    if (ok < 0) {
        return NULL;
    }
    if (ok) {
        Py_RETURN_TRUE;
    }
    return wait_slow(self, int_minus_one);
}

/* ProfiledLock.release / __exit__ */
static PyObject *
plock_release(PLock *self, PyObject *unused)
{
    PyObject *res;

    (void)unused;
    res = call_release(self);
    if (res == NULL) {
        return NULL;
    }
    Py_DECREF(res);
    if (has_waiters(self) && charge(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
plock_exit(PLock *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return plock_release(self, NULL);
}

static PyObject *
call_inner_noargs(PLock *self, PyObject *name)
{
    return PyObject_CallMethodNoArgs(self->lock, name);
}

static PyObject *
plock_locked(PLock *self, PyObject *unused)
{
    (void)unused;
    return call_inner_noargs(self, str_locked);
}

static PyObject *
plock_at_fork_reinit(PLock *self, PyObject *unused)
{
    PyObject *res;

    (void)unused;
    res = call_inner_noargs(self, str_at_fork_reinit);
    if (res == NULL) {
        return NULL;
    }
    Py_DECREF(res);
    if (self->waiters != NULL) {
        PyDict_Clear(self->waiters);
    }
    Py_RETURN_NONE;
}

static PyObject *
plock_repr(PLock *self)
{
    PyObject *res = call_inner_noargs(self, str_locked);
    int locked;

    if (res == NULL) {
        return NULL;
    }
    locked = PyObject_IsTrue(res);
    Py_DECREF(res);
    if (locked < 0) {
        return NULL;
    }
    return PyUnicode_FromFormat("<%s pprofx.ProfiledLock object at %p>",
                                locked ? "locked" : "unlocked", (void *)self);
}

/* ------------------------------------------------------------------------------------ */
/* RLock-only methods.                                                                   */

/* 1 if inner._is_owned() is true, 0 if not, -1 error */
static int
inner_is_owned(PLock *self)
{
    PyObject *res = call_inner_noargs(self, str_is_owned);
    int r;

    if (res == NULL) {
        return -1;
    }
    r = PyObject_IsTrue(res);
    Py_DECREF(res);
    return r;
}

/* ProfiledRLock.release / __exit__ */
static PyObject *
prlock_release(PLock *self, PyObject *unused)
{
    PyObject *res;

    (void)unused;
    res = call_release(self);
    if (res == NULL) {
        return NULL;
    }
    Py_DECREF(res);
    if (has_waiters(self)) {
        int owned = inner_is_owned(self);
        if (owned < 0) {
            return NULL;
        }
        if (!owned && charge(self) < 0) {
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
prlock_exit(PLock *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return prlock_release(self, NULL);
}

static PyObject *
prlock_is_owned(PLock *self, PyObject *unused)
{
    (void)unused;
    return call_inner_noargs(self, str_is_owned);
}

static PyObject *
prlock_release_save(PLock *self, PyObject *unused)
{
    PyObject *state;

    (void)unused;
    state = call_inner_noargs(self, str_release_save);
    if (state == NULL) {
        return NULL;
    }
    if (has_waiters(self) && charge(self) < 0) {
        Py_DECREF(state);
        return NULL;
    }
    return state;
}

static PyObject *
prlock_acquire_restore(PLock *self, PyObject *state)
{
    PyObject *first, *args[3];
    int one, ok;

    /* if state[0] == 1 and inner.acquire(False): return  -- (count, owner): one level, ours */
    first = PyObject_GetItem(state, int_zero);
    if (first == NULL) {
        return NULL;
    }
    one = PyObject_RichCompareBool(first, int_one, Py_EQ);
    Py_DECREF(first);
    if (one < 0) {
        return NULL;
    }
    if (one) {
        ok = try_acquire(self);
        if (ok < 0) {
            return NULL;
        }
        if (ok) {
            Py_RETURN_NONE;
        }
    }
    args[0] = (PyObject *)self;
    args[1] = self->lock;
    args[2] = state;
    return PyObject_Vectorcall(cfg.restore_slow, args, 3, NULL);
}

/* ProfiledRLock.__getattr__: anything else of the real RLock (_recursion_count, ...) */
static PyObject *
prlock_getattro(PLock *self, PyObject *name)
{
    PyObject *res = PyObject_GenericGetAttr((PyObject *)self, name);

    if (res != NULL || !PyErr_ExceptionMatches(PyExc_AttributeError)) {
        return res;
    }
    if (PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "_lock") == 0) {
        return NULL;  /* keep the AttributeError */
    }
    PyErr_Clear();
    return PyObject_GetAttr(self->lock, name);
}

static PyObject *
prlock_repr(PLock *self)
{
    PyObject *r = PyObject_Repr(self->lock);
    PyObject *out;

    if (r == NULL) {
        return NULL;
    }
    out = PyUnicode_Replace(r, str_rlock_name, str_profiled_rlock_name, 1);
    Py_DECREF(r);
    return out;
}

/* ------------------------------------------------------------------------------------ */
/* Types.                                                                               */

#define ACQUIRE_DOC "acquire(blocking=True, timeout=-1) -> bool\n\nAs the real lock's acquire."

static PyMethodDef plock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))plock_acquire, METH_FASTCALL | METH_KEYWORDS,
     ACQUIRE_DOC},
    {"acquire_lock", (PyCFunction)(void (*)(void))plock_acquire, METH_FASTCALL | METH_KEYWORDS,
     ACQUIRE_DOC},
    {"release", (PyCFunction)plock_release, METH_NOARGS, "Release the lock."},
    {"release_lock", (PyCFunction)plock_release, METH_NOARGS, "Release the lock."},
    {"__enter__", (PyCFunction)plock_enter, METH_NOARGS, "Acquire the lock (blocking)."},
    {"__exit__", (PyCFunction)(void (*)(void))plock_exit, METH_FASTCALL, "Release the lock."},
    {"locked", (PyCFunction)plock_locked, METH_NOARGS, "True if the lock is held."},
    {"locked_lock", (PyCFunction)plock_locked, METH_NOARGS, "True if the lock is held."},
    {"_at_fork_reinit", (PyCFunction)plock_at_fork_reinit, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef prlock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))plock_acquire, METH_FASTCALL | METH_KEYWORDS,
     ACQUIRE_DOC},
    {"release", (PyCFunction)prlock_release, METH_NOARGS, "Release one level of the lock."},
    {"__enter__", (PyCFunction)plock_enter, METH_NOARGS, "Acquire the lock (blocking)."},
    {"__exit__", (PyCFunction)(void (*)(void))prlock_exit, METH_FASTCALL,
     "Release one level of the lock."},
    {"_is_owned", (PyCFunction)prlock_is_owned, METH_NOARGS, NULL},
    {"_release_save", (PyCFunction)prlock_release_save, METH_NOARGS, NULL},
    {"_acquire_restore", (PyCFunction)prlock_acquire_restore, METH_O, NULL},
    {"_at_fork_reinit", (PyCFunction)plock_at_fork_reinit, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject PLockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pprofx.runtime._locks_c.ProfiledLock",
    .tp_basicsize = sizeof(PLock),
    .tp_dealloc = (destructor)plock_dealloc,
    .tp_repr = (reprfunc)plock_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "threading.Lock while lock profiling is on (C twin of locks.ProfiledLock).",
    .tp_weaklistoffset = offsetof(PLock, weakrefs),
    .tp_methods = plock_methods,
    .tp_members = plock_members,
    .tp_getset = plock_getset,
    .tp_new = plock_new,
};

static PyTypeObject PRLockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pprofx.runtime._locks_c.ProfiledRLock",
    .tp_basicsize = sizeof(PLock),
    .tp_dealloc = (destructor)plock_dealloc,
    .tp_repr = (reprfunc)prlock_repr,
    .tp_getattro = (getattrofunc)prlock_getattro,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "threading.RLock while lock profiling is on (C twin of locks.ProfiledRLock).",
    .tp_weaklistoffset = offsetof(PLock, weakrefs),
    .tp_methods = prlock_methods,
    .tp_members = plock_members,
    .tp_getset = plock_getset,
    .tp_new = plock_new,
};

/* ------------------------------------------------------------------------------------ */
/* Module.                                                                              */

static int
lookup_methods(PyObject *factory, PyTypeObject **tp, PyObject **acq, PyObject **rel)
{
    PyObject *sample = PyObject_CallNoArgs(factory);

    if (sample == NULL) {
        return -1;
    }
    *tp = Py_TYPE(sample);
    Py_INCREF(*tp);
    Py_DECREF(sample);
    *acq = PyObject_GetAttr((PyObject *)*tp, str_acquire);
    *rel = *acq != NULL ? PyObject_GetAttr((PyObject *)*tp, str_release) : NULL;
    return *rel != NULL ? 0 : -1;
}

PyDoc_STRVAR(configure_doc,
"configure(*, wait_slow, charge, restore_slow, lock_factory, rlock_factory)\n\n"
"Set the Python slow-path helpers and the real-lock factories (once, at import).");

static PyObject *
configure(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"wait_slow", "charge", "restore_slow", "lock_factory",
                             "rlock_factory", NULL};
    Config c;
    (void)module;

    memset(&c, 0, sizeof(c));
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$OOOOO:configure", kwlist, &c.wait_slow,
                                     &c.charge, &c.restore_slow, &c.lock_factory, &c.rlock_factory)) {
        return NULL;
    }
    if (!c.wait_slow || !c.charge || !c.restore_slow || !c.lock_factory || !c.rlock_factory) {
        PyErr_SetString(PyExc_TypeError, "configure() needs every keyword argument");
        return NULL;
    }
    if (lookup_methods(c.lock_factory, &c.lock_type, &c.lock_acquire, &c.lock_release) < 0
        || lookup_methods(c.rlock_factory, &c.rlock_type, &c.rlock_acquire, &c.rlock_release) < 0) {
        Py_XDECREF(c.lock_type);
        Py_XDECREF(c.lock_acquire);
        Py_XDECREF(c.lock_release);
        Py_XDECREF(c.rlock_type);
        Py_XDECREF(c.rlock_acquire);
        Py_XDECREF(c.rlock_release);
        return NULL;
    }
    Py_INCREF(c.wait_slow);
    Py_INCREF(c.charge);
    Py_INCREF(c.restore_slow);
    Py_INCREF(c.lock_factory);
    Py_INCREF(c.rlock_factory);
    /* Objects of a previous configuration are kept alive (locks may be mid-call). */
    cfg = c;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     configure_doc},
    {NULL, NULL, 0, NULL},
};

static int
intern_strings(void)
{
#define S(var, text) if ((var = PyUnicode_InternFromString(text)) == NULL) return -1
    S(str_acquire, "acquire");
    S(str_release, "release");
    S(str_locked, "locked");
    S(str_is_owned, "_is_owned");
    S(str_release_save, "_release_save");
    S(str_at_fork_reinit, "_at_fork_reinit");
    S(str_rlock_name, "_thread.RLock");
    S(str_profiled_rlock_name, "pprofx.ProfiledRLock");
#undef S
    if ((int_zero = PyLong_FromLong(0)) == NULL || (int_one = PyLong_FromLong(1)) == NULL
        || (int_minus_one = PyLong_FromLong(-1)) == NULL) {
        return -1;
    }
    return 0;
}

static int
module_exec(PyObject *m)
{
    if (str_acquire == NULL && intern_strings() < 0) {
        return -1;
    }
    if (PyType_Ready(&PLockType) < 0 || PyType_Ready(&PRLockType) < 0) {
        return -1;
    }
    Py_INCREF(&PLockType);
    if (PyModule_AddObject(m, "ProfiledLock", (PyObject *)&PLockType) < 0) {
        Py_DECREF(&PLockType);
        return -1;
    }
    Py_INCREF(&PRLockType);
    if (PyModule_AddObject(m, "ProfiledRLock", (PyObject *)&PRLockType) < 0) {
        Py_DECREF(&PRLockType);
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)module_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
    {0, NULL},
};

PyDoc_STRVAR(module_doc,
"C twin of the lock wrappers in pprofx.runtime.locks (ProfiledLock, ProfiledRLock).");

static struct PyModuleDef locks_module = {
    PyModuleDef_HEAD_INIT,
    "pprofx.runtime._locks_c", /* m_name */
    module_doc,                /* m_doc */
    0,                         /* m_size */
    module_methods,            /* m_methods */
    module_slots,              /* m_slots */
    NULL,                      /* m_traverse */
    NULL,                      /* m_clear */
    NULL,                      /* m_free */
};

PyMODINIT_FUNC
PyInit__locks_c(void)
{
    return PyModuleDef_Init(&locks_module);
}
