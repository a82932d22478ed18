/*
 * heapsampler.c -- pprofx.runtime._heap_c: a sampling hook on CPython's allocators (PEP 445).
 *
 * What it does. start() wraps the allocators of the OBJ and MEM domains (PyObject_Malloc &
 * co., PyMem_Malloc & co.) with hooks that call the original allocator and, like Go's
 * runtime, sample allocations by bytes: the sample points form a Poisson process over the
 * stream of allocated bytes with mean spacing `rate` (an exponentially distributed countdown
 * of bytes), and an allocation that a sample point falls into is recorded with the Python
 * stack that made it. rate 1 records every allocation. The RAW domain is not hooked: it may
 * be called without the GIL, and pymalloc's own large blocks pass through the OBJ hook first.
 *
 * What it records. Distinct stacks (code object + line per frame, leaf first, at most
 * max_depth frames) are interned in a table owned by this module; each holds strong
 * references to its code objects, released only by reset() (a safe point, called from
 * Python, never from inside a hook). Per (stack, size class) "bucket", as Go keys its
 * buckets by (stack, size): alloc_objects/alloc_bytes (cumulative) and inuse_objects/
 * inuse_bytes (sampled blocks not yet freed). The size class is the bit length of the size,
 * so a bucket's sizes are within a factor of two and its average size is a sound input to
 * Go's unsampling formula (done in Python). Live sampled blocks sit in a hash table keyed by
 * address (open addressing, linear probing, backward-shift deletion); free() and realloc()
 * look them up, so in-use counts fall when blocks die.
 *
 * realloc semantics: a successful realloc() of a tracked block counts as a free of the old
 * block; every successful realloc() (tracked or not) then counts as a new allocation of the
 * new size, which may be sampled. A failed realloc() changes nothing.
 *
 * Bounds: at most max_stacks distinct stacks and as many buckets (further ones are charged
 * to one synthetic overflow stack, counted in dropped_stacks), at most max_blocks tracked
 * live blocks (further sampled blocks count as allocated but not in use: dropped_blocks).
 * The tables use the C library's malloc, never the hooked Python allocators.
 *
 * Safety. The OBJ and MEM domains are only called with the GIL held, so the hooks and all
 * state here are serialised by the GIL: no locks (a countdown per domain). Capturing
 * a stack uses only public API (PyThreadState_GetFrame, PyFrame_GetBack, PyFrame_GetCode,
 * PyFrame_GetLineNumber); on 3.11+ those create frame objects, i.e. allocate, so a
 * reentrancy flag makes the hooks pass such allocations straight through, the cyclic GC is
 * paused during the capture (on 3.11 a GC object allocation may run a collection, and with
 * it finalizers, synchronously), and the exception state is saved and restored. Nothing in
 * a hook decrefs an object to zero or runs Python code. Snapshots copy the tables first
 * (no Python allocation) and build Python objects from the copy; reset() detaches the
 * tables before it drops references. stop() puts back exactly the allocators it replaced;
 * if something else (tracemalloc) has wrapped ours meanwhile, unhooking would remove that
 * too, so the hook stays in the chain but passes everything through. Blocks allocated while
 * hooked and freed later go to the same original allocator, since the hook only delegates.
 * After fork() the child keeps the hooks and tables (a consistent copy: fork happens with
 * the GIL held, outside any hook) and reseeds its random generator.
 *
 * Public CPython C API only, CPython 3.9 to 3.13; not for free-threaded builds.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HARD_MAX_DEPTH 1024
#define NONE32 UINT32_MAX

/* ------------------------------------------------------------------------------------ */
/* Tables.                                                                               */

typedef struct {
    PyObject *code; /* strong reference once the stack is interned */
    int line;
} Frame;

typedef struct {
    uint64_t hash;
    uint32_t depth;
    uint8_t truncated; /* deeper than max_depth: the root-most frames are missing */
    uint8_t overflow;  /* the synthetic stack of samples beyond max_stacks */
    Frame frames[];    /* leaf first */
} Stack;

typedef struct {
    uint32_t stack;
    uint32_t sclass;
    uint64_t alloc_objects, alloc_bytes, inuse_objects, inuse_bytes;
} Bucket;

/* A live block's size (low 40 bits) and bucket id (high 24 bits). */
typedef uint64_t LiveVal;
#define LIVE_SIZE_BITS 40
#define LIVE_SIZE_MASK ((1ULL << LIVE_SIZE_BITS) - 1)
#define MAX_BUCKETS_HARD ((1U << (64 - LIVE_SIZE_BITS)) - 1)

typedef struct {
    Stack **stacks;
    uint32_t nstacks, cap_stacks;
    uint32_t *sidx; /* stack id + 1, 0 = empty */
    uint32_t sidx_mask;
    Bucket *buckets;
    uint32_t nbuckets, cap_buckets;
    uint32_t *bidx; /* bucket id + 1, 0 = empty */
    uint32_t bidx_mask;
    uintptr_t *lkeys; /* live block addresses, 0 = empty */
    LiveVal *lvals;
    size_t lslots; /* power of two, or 0 before the first insert */
    unsigned lshift;
    size_t lcount;
    size_t stack_bytes; /* bytes of all Stack records */
} Tables;

static Tables T;

/* Limits (set by start()). */
static uint32_t max_stacks = 16384;
static size_t max_blocks = 1 << 17;
static int max_depth = 128;

/* One installation of the hooks on one domain (the hooks' ctx). Each domain counts down its
 * own stream of bytes: two independent Poisson processes of the same mean sample every byte
 * with the same probability, so the estimate is unchanged, and a hook left buried under
 * another one (see uninstall) keeps a private countdown that never fires. */
typedef struct {
    PyMemAllocatorEx orig;
    uint64_t countdown; /* bytes until the next sample point; UINT64_MAX when off */
    int active;         /* 0 when off, or once replaced by a newer installation */
} Hook;

/* Per domain (0 = MEM, 1 = OBJ): the current installation, and whether it is in the chain. */
static const PyMemAllocatorDomain domains[2] = {PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};
static Hook hook_static[2];
static Hook *hooks[2];
static int in_chain[2];
static uint64_t n_buried; /* stops that had to leave a pass-through hook in the chain */

/* Sampling state. */
static uint64_t rate;
static int active;
static int capturing;
static uint64_t rng;
static Frame capbuf[HARD_MAX_DEPTH];

/* Counters since start(). */
static uint64_t n_samples, n_dropped_stacks, n_dropped_blocks, n_lost, n_truncated,
    n_no_thread, n_reentrant;

/* ------------------------------------------------------------------------------------ */
/* Random intervals.                                                                     */

static void
rng_seed(uint64_t s)
{
    /* splitmix64 of the seed, never 0 */
    s += 0x9E3779B97F4A7C15ULL;
    s = (s ^ (s >> 30)) * 0xBF58476D1CE4E5B9ULL;
    s = (s ^ (s >> 27)) * 0x94D049BB133111EBULL;
    s ^= s >> 31;
    rng = s ? s : 1;
}

static void
rng_seed_default(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    rng_seed(((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^
             ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&ts);
}

static inline uint64_t
rng_next(void)
{
    /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

/* Bytes to the next sample point: Exp(mean = rate), rounded up; 0 for rate 1. */
static uint64_t
next_interval(void)
{
    double u, x;
    if (rate <= 1) {
        return 0;
    }
    u = (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
    x = -log1p(-u) * (double)rate;
    if (!(x < 1e18)) {
        x = 1e18;
    }
    return (uint64_t)ceil(x);
}

/* ------------------------------------------------------------------------------------ */
/* Stack and bucket interning (C library memory only).                                   */

static inline uint64_t
mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    return h * 0xFF51AFD7ED558CCDULL;
}

static uint64_t
frames_hash(const Frame *f, uint32_t n, int truncated)
{
    uint64_t h = 0x84222325CBF29CE4ULL ^ n ^ ((uint64_t)truncated << 40);
    uint32_t i;
    for (i = 0; i < n; i++) {
        h = mix64(h, (uint64_t)(uintptr_t)f[i].code);
        h = mix64(h, (uint64_t)(uint32_t)f[i].line);
    }
    return h ^ (h >> 29);
}

/* Rebuild an index of `n` ids into `slots` slots (power of two); key(i) gives id i's hash. */
static uint32_t *
index_build(uint32_t slots, uint32_t n, uint64_t (*key)(uint32_t))
{
    uint32_t *idx = (uint32_t *)calloc(slots, sizeof(uint32_t));
    uint32_t i, mask = slots - 1;
    if (idx == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        uint32_t j = (uint32_t)key(i) & mask;
        while (idx[j]) {
            j = (j + 1) & mask;
        }
        idx[j] = i + 1;
    }
    return idx;
}

static uint64_t
stack_key(uint32_t i)
{
    return T.stacks[i]->hash;
}

static inline uint64_t
bucket_hash(uint32_t stack, uint32_t sclass)
{
    return mix64(mix64(0x51ED27F3A3B1C9D5ULL, stack), sclass) >> 7;
}

static uint64_t
bucket_key(uint32_t i)
{
    return bucket_hash(T.buckets[i].stack, T.buckets[i].sclass);
}

/* Room for one more stack in the array and its index; -1 if out of memory. */
static int
stacks_reserve(void)
{
    if (T.nstacks < T.cap_stacks) {
        return 0;
    }
    {
        uint32_t cap = T.cap_stacks ? T.cap_stacks * 2 : 64;
        uint32_t *idx;
        Stack **arr = (Stack **)realloc(T.stacks, (size_t)cap * sizeof(Stack *));
        if (arr == NULL) {
            return -1;
        }
        T.stacks = arr;
        idx = index_build(cap * 2, T.nstacks, stack_key);
        if (idx == NULL) {
            return -1;
        }
        free(T.sidx);
        T.sidx = idx;
        T.sidx_mask = cap * 2 - 1;
        T.cap_stacks = cap;
    }
    return 0;
}

static uint32_t
stack_new(const Frame *f, uint32_t n, int truncated, int overflow, uint64_t h)
{
    size_t bytes = sizeof(Stack) + (size_t)n * sizeof(Frame);
    Stack *s;
    uint32_t j, i;
    if (stacks_reserve() < 0) {
        return NONE32;
    }
    s = (Stack *)malloc(bytes);
    if (s == NULL) {
        return NONE32;
    }
    s->hash = h;
    s->depth = n;
    s->truncated = (uint8_t)truncated;
    s->overflow = (uint8_t)overflow;
    for (i = 0; i < n; i++) {
        s->frames[i] = f[i];
        Py_INCREF(f[i].code); /* no allocation; released by reset() */
    }
    T.stacks[T.nstacks] = s;
    j = (uint32_t)h & T.sidx_mask;
    while (T.sidx[j]) {
        j = (j + 1) & T.sidx_mask;
    }
    T.sidx[j] = T.nstacks + 1;
    T.stack_bytes += bytes;
    return T.nstacks++;
}

static int
frames_equal(const Frame *a, const Frame *b, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        if (a[i].code != b[i].code || a[i].line != b[i].line) {
            return 0;
        }
    }
    return 1;
}

/* The id of this stack, interned on first sight; 0 (overflow) past max_stacks. */
static uint32_t
stack_intern(const Frame *f, uint32_t n, int truncated)
{
    uint64_t h;
    uint32_t j;
    if (T.nstacks == 0 && stack_new(NULL, 0, 0, 1, 0) != 0) { /* id 0: overflow */
        return NONE32;
    }
    h = frames_hash(f, n, truncated);
    j = (uint32_t)h & T.sidx_mask;
    while (T.sidx[j]) {
        Stack *s = T.stacks[T.sidx[j] - 1];
        if (s->hash == h && s->depth == n && s->truncated == truncated && !s->overflow &&
            frames_equal(s->frames, f, n)) {
            return T.sidx[j] - 1;
        }
        j = (j + 1) & T.sidx_mask;
    }
    if (T.nstacks > max_stacks) {
        n_dropped_stacks++;
        return 0;
    }
    return stack_new(f, n, truncated, 0, h);
}

static uint32_t
bucket_intern(uint32_t stack, uint32_t sclass)
{
    uint64_t h = bucket_hash(stack, sclass);
    uint32_t j;
    Bucket *b;
    if (T.bidx != NULL) {
        j = (uint32_t)h & T.bidx_mask;
        while (T.bidx[j]) {
            b = &T.buckets[T.bidx[j] - 1];
            if (b->stack == stack && b->sclass == sclass) {
                return T.bidx[j] - 1;
            }
            j = (j + 1) & T.bidx_mask;
        }
    }
    if (T.nbuckets >= max_stacks && stack != 0) {
        n_dropped_stacks++;
        return bucket_intern(0, sclass); /* at most 65 overflow buckets beyond the cap */
    }
    if (T.nbuckets >= T.cap_buckets) {
        uint32_t cap = T.cap_buckets ? T.cap_buckets * 2 : 64;
        uint32_t *idx;
        Bucket *arr = (Bucket *)realloc(T.buckets, (size_t)cap * sizeof(Bucket));
        if (arr == NULL) {
            return NONE32;
        }
        T.buckets = arr;
        idx = index_build(cap * 2, T.nbuckets, bucket_key);
        if (idx == NULL) {
            return NONE32;
        }
        free(T.bidx);
        T.bidx = idx;
        T.bidx_mask = cap * 2 - 1;
        T.cap_buckets = cap;
    }
    b = &T.buckets[T.nbuckets];
    memset(b, 0, sizeof(*b));
    b->stack = stack;
    b->sclass = sclass;
    j = (uint32_t)h & T.bidx_mask;
    while (T.bidx[j]) {
        j = (j + 1) & T.bidx_mask;
    }
    T.bidx[j] = T.nbuckets + 1;
    return T.nbuckets++;
}

/* ------------------------------------------------------------------------------------ */
/* Live blocks: address -> (size, bucket).                                               */

/* A small bit filter in front of the table: a free() of an untracked block (nearly all of
 * them) costs one load from these 512 bytes, which stay in the L1 cache, instead of a load
 * from the table, which an allocation-heavy program keeps evicting. A bit is set for each
 * tracked block; bits are not cleared on removal, but the filter is rebuilt from the table
 * (a scan of it: cheap next to the removals that paid for it) once removals since the last
 * rebuild exceed 16 + a quarter of the tracked blocks. False positives fall through to the
 * table. */
#define FILTER_BITS 4096
static uint64_t filter[FILTER_BITS / 64];
static size_t filter_stale;

static inline uint32_t
filter_bit(uintptr_t key)
{
    return (uint32_t)(((uint64_t)(key >> 4) * 0xC2B2AE3D27D4EB4FULL) >> 52);
}

static inline int
filter_has(uintptr_t key)
{
    uint32_t b = filter_bit(key);
    return (int)((filter[b >> 6] >> (b & 63)) & 1);
}

static inline void
filter_add(uintptr_t key)
{
    uint32_t b = filter_bit(key);
    filter[b >> 6] |= 1ULL << (b & 63);
}

static void
filter_rebuild(void)
{
    size_t i;
    memset(filter, 0, sizeof(filter));
    for (i = 0; i < T.lslots; i++) {
        if (T.lkeys[i]) {
            filter_add(T.lkeys[i]);
        }
    }
    filter_stale = 0;
}

static inline size_t
live_home(uintptr_t key)
{
    return (size_t)(((uint64_t)(key >> 4) * 0x9E3779B97F4A7C15ULL) >> T.lshift);
}

static void
live_charge_free(LiveVal v)
{
    Bucket *b = &T.buckets[v >> LIVE_SIZE_BITS];
    b->inuse_objects--;
    b->inuse_bytes -= v & LIVE_SIZE_MASK;
}

/* Remove the key found probing from slot i, if tracked (its bucket's in-use counts drop). */
static void
live_release_from(size_t i, uintptr_t key)
{
    size_t mask = T.lslots - 1, j;
    uintptr_t k;
    for (;;) {
        k = T.lkeys[i];
        if (k == 0) {
            return; /* not tracked; also the answer for key 0, free(NULL) */
        }
        if (k == key) {
            break;
        }
        i = (i + 1) & mask;
    }
    live_charge_free(T.lvals[i]);
    /* backward-shift deletion */
    j = i;
    for (;;) {
        size_t home;
        j = (j + 1) & mask;
        k = T.lkeys[j];
        if (k == 0) {
            break;
        }
        home = live_home(k);
        /* move k to the hole at i unless its home lies cyclically in (i, j] */
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            T.lkeys[i] = k;
            T.lvals[i] = T.lvals[j];
            i = j;
        }
    }
    T.lkeys[i] = 0;
    T.lcount--;
    if (++filter_stale > 16 + T.lcount / 4) {
        filter_rebuild();
    }
}

/* The hot path of free() and realloc(): the filter, then (the table is kept at most a quarter
 * full) usually one load of an empty slot. */
static void
live_release_slow(uintptr_t key)
{
    size_t i = live_home(key);
    if (T.lkeys[i] == 0) {
        return;
    }
    live_release_from(i, key);
}

static inline void
live_release(uintptr_t key)
{
    if (filter_has(key)) {
        live_release_slow(key);
    }
}

static int
live_resize(size_t slots)
{
    uintptr_t *keys = (uintptr_t *)calloc(slots, sizeof(uintptr_t));
    LiveVal *vals = (LiveVal *)malloc(slots * sizeof(LiveVal));
    uintptr_t *okeys = T.lkeys;
    LiveVal *ovals = T.lvals;
    size_t oslots = T.lslots, i;
    unsigned shift = 64;
    if (keys == NULL || vals == NULL) {
        free(keys);
        free(vals);
        return -1;
    }
    while (((size_t)1 << (64 - shift)) < slots) {
        shift--;
    }
    T.lkeys = keys;
    T.lvals = vals;
    T.lslots = slots;
    T.lshift = shift;
    for (i = 0; i < oslots; i++) {
        if (okeys[i]) {
            size_t j = live_home(okeys[i]);
            while (keys[j]) {
                j = (j + 1) & (slots - 1);
            }
            keys[j] = okeys[i];
            vals[j] = ovals[i];
        }
    }
    free(okeys);
    free(ovals);
    return 0;
}

/* Track `key`; -1 if the table is full (max_blocks) or out of memory. */
static int
live_insert(uintptr_t key, uint64_t size, uint32_t bucket)
{
    size_t i;
    live_release(key); /* a stale entry (block freed behind our back): replace it */
    if (T.lcount >= max_blocks) {
        return -1;
    }
    if (size > LIVE_SIZE_MASK) {
        size = LIVE_SIZE_MASK;
    }
    if ((T.lcount + 1) * 4 > T.lslots && live_resize(T.lslots ? T.lslots * 2 : 1024) < 0) {
        return -1;
    }
    i = live_home(key);
    while (T.lkeys[i]) {
        i = (i + 1) & (T.lslots - 1);
    }
    T.lkeys[i] = key;
    T.lvals[i] = size | ((uint64_t)bucket << LIVE_SIZE_BITS);
    T.lcount++;
    filter_add(key);
    return 0;
}

static void
live_clear(void)
{
    free(T.lkeys);
    free(T.lvals);
    T.lkeys = NULL;
    T.lvals = NULL;
    T.lslots = 0;
    T.lshift = 64;
    T.lcount = 0;
    memset(filter, 0, sizeof(filter));
    filter_stale = 0;
}

/* ------------------------------------------------------------------------------------ */
/* Stack capture and the sampled-allocation path.                                        */

static PyThreadState *
current_tstate(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return PyThreadState_GetUnchecked();
#else
    if (!PyGILState_Check()) {
        return NULL;
    }
    return PyGILState_GetThisThreadState();
#endif
}

/* Fill capbuf with the stack of thread state `ts` (borrowed code pointers, kept alive by
 * the frames); returns the depth. */
static int
capture(PyThreadState *ts, int *truncated)
{
    PyFrameObject *f, *back;
    int n = 0;
    *truncated = 0;
    f = PyThreadState_GetFrame(ts);
    while (f != NULL) {
        PyCodeObject *co;
        if (n >= max_depth) {
            *truncated = 1;
            Py_DECREF(f);
            break;
        }
        co = PyFrame_GetCode(f);
        capbuf[n].code = (PyObject *)co;
        capbuf[n].line = PyFrame_GetLineNumber(f);
        Py_DECREF(co); /* the frame still holds it */
        n++;
        back = PyFrame_GetBack(f);
        Py_DECREF(f); /* the interpreter still holds it */
        f = back;
    }
    return n;
}

static inline uint32_t
size_class(uint64_t size)
{
    return size ? 64 - (uint32_t)__builtin_clzll(size) : 0;
}

static void
set_countdowns(uint64_t v)
{
    int d;
    for (d = 0; d < 2; d++) {
        if (hooks[d] != NULL && hooks[d]->active) {
            hooks[d]->countdown = v == 0 ? next_interval() : v;
        }
    }
}

/* An allocation that hook h's countdown selected (or any allocation at rate 1). */
static void
on_sample(Hook *h, void *p, size_t size)
{
    uint64_t saved[2];
    PyThreadState *ts;
    int n, truncated = 0;
#if PY_VERSION_HEX >= 0x030A0000
    int gc_was;
#endif
    uint32_t sid, bid;
    Bucket *b;

    if (!active || !h->active || p == NULL) {
        /* starting (the other domain is not hooked yet), stopped, or a failed allocation */
        return;
    }
    if (capturing) {
        /* the capture's own allocation (a frame object): not the program's; the countdowns
         * are restored after the capture */
        n_reentrant++;
        return;
    }
    h->countdown = next_interval();
    saved[0] = hooks[0]->countdown;
    saved[1] = hooks[1]->countdown;
    ts = current_tstate();
    if (ts == NULL) {
        /* no Python thread state (late in finalization): no stack, and no API that needs one */
        n = -1;
    }
    else {
#if PY_VERSION_HEX >= 0x030C0000
        PyObject *exc = PyErr_GetRaisedException();
#else
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
#endif
        capturing = 1;
#if PY_VERSION_HEX >= 0x030A0000
        gc_was = PyGC_Disable();
#endif
        n = capture(ts, &truncated);
#if PY_VERSION_HEX >= 0x030A0000
        if (gc_was) {
            PyGC_Enable();
        }
#endif
#if PY_VERSION_HEX >= 0x030C0000
        PyErr_SetRaisedException(exc);
#else
        PyErr_Restore(et, ev, tb);
#endif
        capturing = 0;
        hooks[0]->countdown = saved[0];
        hooks[1]->countdown = saved[1];
    }

    if (n < 0) {
        n_no_thread++;
        n = 0;
    }
    if (truncated) {
        n_truncated++;
    }
    sid = stack_intern(capbuf, (uint32_t)n, truncated);
    bid = sid == NONE32 ? NONE32 : bucket_intern(sid, size_class(size));
    if (bid == NONE32) {
        n_lost++;
        return;
    }
    n_samples++;
    b = &T.buckets[bid];
    b->alloc_objects++;
    b->alloc_bytes += size;
    if (live_insert((uintptr_t)p, size, bid) == 0) {
        b = &T.buckets[bid];
        b->inuse_objects++;
        b->inuse_bytes += size;
    }
    else {
        n_dropped_blocks++;
    }
}

/* ------------------------------------------------------------------------------------ */
/* The hooks.                                                                            */

/* The fast paths take no stack frame: check the countdown (or the filter), then tail-call
 * the original allocator. The slow paths are out of line. */
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

static __attribute__((noinline)) void *
malloc_slow(Hook *h, size_t size)
{
    void *p = h->orig.malloc(h->orig.ctx, size);
    on_sample(h, p, size);
    return p;
}

static void *
hook_malloc(void *ctx, size_t size)
{
    Hook *h = (Hook *)ctx;
    if (LIKELY((uint64_t)size < h->countdown)) {
        h->countdown -= size; /* also for a failed allocation: no matter */
        return h->orig.malloc(h->orig.ctx, size);
    }
    return malloc_slow(h, size);
}

static __attribute__((noinline)) void *
calloc_slow(Hook *h, size_t nelem, size_t elsize)
{
    void *p = h->orig.calloc(h->orig.ctx, nelem, elsize);
    on_sample(h, p, nelem * elsize);
    return p;
}

static void *
hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    Hook *h = (Hook *)ctx;
    size_t size;
    if (__builtin_mul_overflow(nelem, elsize, &size)) {
        size = SIZE_MAX; /* the original fails it */
    }
    if (LIKELY((uint64_t)size < h->countdown)) {
        h->countdown -= size;
        return h->orig.calloc(h->orig.ctx, nelem, elsize);
    }
    return calloc_slow(h, nelem, elsize);
}

static void *
hook_realloc(void *ctx, void *ptr, size_t size)
{
    Hook *h = (Hook *)ctx;
    void *p = h->orig.realloc(h->orig.ctx, ptr, size);
    if (p == NULL) {
        return NULL; /* the old block is untouched (and still tracked) */
    }
    /* a buried hook may release too: the entry is gone by then, so it finds nothing */
    live_release((uintptr_t)ptr);
    if (LIKELY((uint64_t)size < h->countdown)) {
        h->countdown -= size;
    }
    else {
        on_sample(h, p, size);
    }
    return p;
}

static __attribute__((noinline)) void
free_slow(Hook *h, void *ptr)
{
    live_release_slow((uintptr_t)ptr);
    h->orig.free(h->orig.ctx, ptr);
}

static void
hook_free(void *ctx, void *ptr)
{
    Hook *h = (Hook *)ctx;
    if (UNLIKELY(filter_has((uintptr_t)ptr))) {
        free_slow(h, ptr);
        return;
    }
    h->orig.free(h->orig.ctx, ptr);
}

static int
is_ours(int d)
{
    PyMemAllocatorEx cur;
    PyMem_GetAllocator(domains[d], &cur);
    return cur.malloc == hook_malloc && cur.ctx == (void *)hooks[d];
}

static int
install(int d)
{
    PyMemAllocatorEx ours;
    Hook *h;
    if (in_chain[d] && is_ours(d)) {
        hooks[d]->active = 1;
        hooks[d]->countdown = next_interval();
        return 0;
    }
    if (in_chain[d]) {
        /* an older installation is buried under another hook, or was removed by it: it
         * keeps its Hook (pass-through, never freed) and we wrap the current chain anew */
        hooks[d]->active = 0;
        hooks[d]->countdown = UINT64_MAX;
        h = (Hook *)malloc(sizeof(Hook));
        if (h == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    else {
        h = &hook_static[d];
    }
    PyMem_GetAllocator(domains[d], &h->orig);
    h->active = 1;
    h->countdown = next_interval();
    hooks[d] = h;
    ours.ctx = h;
    ours.malloc = hook_malloc;
    ours.calloc = hook_calloc;
    ours.realloc = hook_realloc;
    ours.free = hook_free;
    PyMem_SetAllocator(domains[d], &ours);
    in_chain[d] = 1;
    return 0;
}

/* 1 if the original allocator is back, 0 if ours stays in the chain passing through. */
static int
uninstall(int d)
{
    if (!in_chain[d]) {
        return 1;
    }
    if (is_ours(d)) {
        PyMem_SetAllocator(domains[d], &hooks[d]->orig);
        in_chain[d] = 0;
        return 1;
    }
    n_buried++;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Reset: detach the tables, then drop their references (may run deallocators).        */

static void
tables_release(Tables *t)
{
    uint32_t i, k;
    for (i = 0; i < t->nstacks; i++) {
        Stack *s = t->stacks[i];
        for (k = 0; k < s->depth; k++) {
            Py_DECREF(s->frames[k].code);
        }
        free(s);
    }
    free(t->stacks);
    free(t->sidx);
    free(t->buckets);
    free(t->bidx);
    free(t->lkeys);
    free(t->lvals);
}

static void
reset_data(void)
{
    Tables old = T;
    memset(&T, 0, sizeof(T));
    T.lshift = 64;
    memset(filter, 0, sizeof(filter));
    filter_stale = 0;
    n_samples = n_dropped_stacks = n_dropped_blocks = n_lost = n_truncated = 0;
    n_no_thread = n_reentrant = 0;
    tables_release(&old);
}

/* ------------------------------------------------------------------------------------ */
/* Python interface.                                                                     */

static int
check_rate(long long r)
{
    if (r < 1) {
        PyErr_SetString(PyExc_ValueError, "rate must be >= 1 (use stop() to turn sampling off)");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(start_doc,
"start(rate, max_depth=128, max_stacks=16384, max_blocks=131072)\n--\n\n"
"Hook the OBJ and MEM allocators and sample one allocation per `rate` bytes on average.\n"
"If already running, only the rate changes (data kept); otherwise data is reset first.");

static PyObject *
hs_start(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"rate", "max_depth", "max_stacks", "max_blocks", NULL};
    long long r;
    int depth = 128;
    long long stacks = 16384, blocks = 1 << 17;
    int d;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "L|iLL:start", kwlist, &r, &depth, &stacks,
                                     &blocks)) {
        return NULL;
    }
#ifdef Py_GIL_DISABLED
    PyErr_SetString(PyExc_RuntimeError,
                    "the heap sampler needs the GIL (free-threaded builds are not supported)");
    return NULL;
#endif
    if (check_rate(r) < 0) {
        return NULL;
    }
    if (depth < 1 || depth > HARD_MAX_DEPTH || stacks < 1 || stacks > (1 << 22) || blocks < 1 ||
        blocks > 0x7FFFFFFF) {
        PyErr_SetString(PyExc_ValueError, "max_depth, max_stacks or max_blocks out of range");
        return NULL;
    }
    if (active) {
        rate = (uint64_t)r;
        set_countdowns(0);
        Py_RETURN_NONE;
    }
    reset_data();
    max_depth = depth;
    max_stacks = (uint32_t)stacks;
    max_blocks = (size_t)blocks;
    rate = (uint64_t)r;
    for (d = 0; d < 2; d++) {
        if (install(d) < 0) {
            if (d == 1) {
                hooks[0]->active = 0;
                hooks[0]->countdown = UINT64_MAX;
                uninstall(0);
            }
            return NULL;
        }
    }
    active = 1;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(stop_doc,
"stop() -> bool\n--\n\n"
"Stop sampling and put back the allocators start() replaced. Recorded data is kept (in-use\n"
"counts as of now); live blocks are no longer tracked. False if another hook had wrapped\n"
"ours, which then stays in the chain passing everything through.");

static PyObject *
hs_stop(PyObject *self, PyObject *unused)
{
    int restored = 1, d;
    (void)self;
    (void)unused;
    if (!active) {
        Py_RETURN_TRUE;
    }
    active = 0;
    for (d = 1; d >= 0; d--) {
        hooks[d]->active = 0;
        hooks[d]->countdown = UINT64_MAX;
        restored &= uninstall(d);
    }
    live_clear();
    return PyBool_FromLong(restored);
}

PyDoc_STRVAR(reset_doc, "reset()\n--\n\nDrop all recorded data (and counters); sampling goes on if running.");

static PyObject *
hs_reset(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    reset_data();
    Py_RETURN_NONE;
}

PyDoc_STRVAR(snapshot_doc,
"snapshot() -> (stacks, records)\n--\n\n"
"stacks[i]: tuple of (code, line) pairs, leaf first, ending with None if truncated;\n"
"stacks[0] is None (the overflow stack). records: list of\n"
"(stack_id, alloc_objects, alloc_bytes, inuse_objects, inuse_bytes), raw sampled values.");

static PyObject *
hs_snapshot(PyObject *self, PyObject *unused)
{
    /* Phase 1 copies everything into private C memory with no Python allocation, so the
     * tables may change (or be reset) while phase 2 builds Python objects. */
    uint32_t ns = T.nstacks, nb = T.nbuckets, i, k;
    size_t nframes = 0;
    Bucket *bk = NULL;
    uint32_t *off = NULL;
    uint8_t *flags = NULL;
    Frame *fr = NULL;
    PyObject *stacks = NULL, *records = NULL, *result = NULL;
    (void)self;
    (void)unused;

    for (i = 0; i < ns; i++) {
        nframes += T.stacks[i]->depth;
    }
    bk = (Bucket *)malloc((size_t)(nb ? nb : 1) * sizeof(Bucket));
    off = (uint32_t *)malloc((size_t)(ns + 1) * sizeof(uint32_t));
    flags = (uint8_t *)malloc((size_t)(ns ? ns : 1));
    fr = (Frame *)malloc((nframes ? nframes : 1) * sizeof(Frame));
    if (bk == NULL || off == NULL || flags == NULL || fr == NULL) {
        free(bk);
        free(off);
        free(flags);
        free(fr);
        return PyErr_NoMemory();
    }
    if (nb) {
        memcpy(bk, T.buckets, (size_t)nb * sizeof(Bucket));
    }
    nframes = 0;
    for (i = 0; i < ns; i++) {
        Stack *s = T.stacks[i];
        off[i] = (uint32_t)nframes;
        flags[i] = (uint8_t)(s->truncated | (s->overflow << 1));
        for (k = 0; k < s->depth; k++) {
            fr[nframes] = s->frames[k];
            Py_INCREF(fr[nframes].code);
            nframes++;
        }
    }
    off[ns] = (uint32_t)nframes;

    /* Phase 2. */
    stacks = PyList_New(ns);
    records = PyList_New(nb);
    if (stacks == NULL || records == NULL) {
        goto done;
    }
    for (i = 0; i < ns; i++) {
        PyObject *tup;
        uint32_t n = off[i + 1] - off[i], extra = flags[i] & 1;
        if (flags[i] & 2) {
            Py_INCREF(Py_None);
            PyList_SET_ITEM(stacks, i, Py_None);
            continue;
        }
        tup = PyTuple_New(n + extra);
        if (tup == NULL) {
            goto done;
        }
        PyList_SET_ITEM(stacks, i, tup);
        for (k = 0; k < n; k++) {
            Frame *f = &fr[off[i] + k];
            PyObject *pair = Py_BuildValue("(Oi)", f->code, f->line);
            if (pair == NULL) {
                goto done;
            }
            PyTuple_SET_ITEM(tup, k, pair);
        }
        if (extra) {
            Py_INCREF(Py_None);
            PyTuple_SET_ITEM(tup, n, Py_None);
        }
    }
    for (i = 0; i < nb; i++) {
        PyObject *rec = Py_BuildValue("(IKKKK)", bk[i].stack,
                                      (unsigned long long)bk[i].alloc_objects,
                                      (unsigned long long)bk[i].alloc_bytes,
                                      (unsigned long long)bk[i].inuse_objects,
                                      (unsigned long long)bk[i].inuse_bytes);
        if (rec == NULL) {
            goto done;
        }
        PyList_SET_ITEM(records, i, rec);
    }
    result = PyTuple_Pack(2, stacks, records);

done:
    /* Phase 3: drop the copy's references (the tuples hold their own). */
    for (i = 0; i < nframes; i++) {
        Py_DECREF(fr[i].code);
    }
    free(bk);
    free(off);
    free(flags);
    free(fr);
    Py_XDECREF(stacks);
    Py_XDECREF(records);
    return result;
}

PyDoc_STRVAR(stats_doc, "stats() -> dict\n--\n\nThe sampler's settings, sizes and counters.");

static PyObject *
hs_stats(PyObject *self, PyObject *unused)
{
    size_t mem = (size_t)T.cap_stacks * sizeof(Stack *) +
                 (T.sidx ? (size_t)(T.sidx_mask + 1) * sizeof(uint32_t) : 0) + T.stack_bytes +
                 (size_t)T.cap_buckets * sizeof(Bucket) +
                 (T.bidx ? (size_t)(T.bidx_mask + 1) * sizeof(uint32_t) : 0) +
                 T.lslots * (sizeof(uintptr_t) + sizeof(LiveVal));
    (void)self;
    (void)unused;
    return Py_BuildValue(
        "{s:O,s:K,s:i,s:I,s:n,s:I,s:I,s:n,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:n,s:K,s:O}",
        "active", active ? Py_True : Py_False,
        "rate", (unsigned long long)rate,
        "max_depth", max_depth,
        "max_stacks", max_stacks,
        "max_blocks", (Py_ssize_t)max_blocks,
        "stacks", T.nstacks,
        "buckets", T.nbuckets,
        "tracked_blocks", (Py_ssize_t)T.lcount,
        "samples", (unsigned long long)n_samples,
        "dropped_stacks", (unsigned long long)n_dropped_stacks,
        "dropped_blocks", (unsigned long long)n_dropped_blocks,
        "lost", (unsigned long long)n_lost,
        "truncated", (unsigned long long)n_truncated,
        "no_thread", (unsigned long long)n_no_thread,
        "reentrant", (unsigned long long)n_reentrant,
        "memory", (Py_ssize_t)mem,
        "buried_hooks", (unsigned long long)n_buried,
        "hooked", (in_chain[0] || in_chain[1]) ? Py_True : Py_False);
}

PyDoc_STRVAR(seed_doc, "seed(n)\n--\n\nSeed the interval generator (for reproducible tests).");

static PyObject *
hs_seed(PyObject *self, PyObject *arg)
{
    unsigned long long s = PyLong_AsUnsignedLongLongMask(arg);
    (void)self;
    if (s == (unsigned long long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    rng_seed(s);
    if (active) {
        set_countdowns(0);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(allocators_doc,
"_allocators() -> tuple\n--\n\n"
"Test-only: (ctx, malloc, calloc, realloc, free) addresses of the RAW, MEM and OBJ domains' "
"current allocators.");

static PyObject *
hs_allocators(PyObject *self, PyObject *unused)
{
    static const PyMemAllocatorDomain all[3] = {PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM,
                                                PYMEM_DOMAIN_OBJ};
    PyObject *out = PyTuple_New(3);
    int d;
    (void)self;
    (void)unused;
    if (out == NULL) {
        return NULL;
    }
    for (d = 0; d < 3; d++) {
        PyMemAllocatorEx a;
        PyObject *t;
        PyMem_GetAllocator(all[d], &a);
        t = Py_BuildValue("(KKKKK)", (unsigned long long)(uintptr_t)a.ctx,
                          (unsigned long long)(uintptr_t)a.malloc,
                          (unsigned long long)(uintptr_t)a.calloc,
                          (unsigned long long)(uintptr_t)a.realloc,
                          (unsigned long long)(uintptr_t)a.free);
        if (t == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, d, t);
    }
    return out;
}

static PyMethodDef hs_methods[] = {
    {"start", (PyCFunction)(void (*)(void))hs_start, METH_VARARGS | METH_KEYWORDS, start_doc},
    {"stop", hs_stop, METH_NOARGS, stop_doc},
    {"reset", hs_reset, METH_NOARGS, reset_doc},
    {"snapshot", hs_snapshot, METH_NOARGS, snapshot_doc},
    {"stats", hs_stats, METH_NOARGS, stats_doc},
    {"seed", hs_seed, METH_O, seed_doc},
    {"_allocators", hs_allocators, METH_NOARGS, allocators_doc},
    {NULL, NULL, 0, NULL},
};

static void
atfork_child(void)
{
    rng_seed_default();
    if (active) {
        set_countdowns(0);
    }
}

PyDoc_STRVAR(module_doc,
"Sampling heap profiler: a PEP 445 hook on the OBJ and MEM allocators (see heapsampler.c).");

static struct PyModuleDef hs_module = {
    PyModuleDef_HEAD_INIT,
    "pprofx.runtime._heap_c", /* m_name */
    module_doc,               /* m_doc */
    -1,                       /* m_size: process-global state (the allocators are global) */
    hs_methods,               /* m_methods */
    NULL,                     /* m_slots */
    NULL,                     /* m_traverse */
    NULL,                     /* m_clear */
    NULL,                     /* m_free */
};

PyMODINIT_FUNC
PyInit__heap_c(void)
{
    static int once;
    PyObject *m = PyModule_Create(&hs_module);
    if (m == NULL) {
        return NULL;
    }
    if (!once) {
        once = 1;
        T.lshift = 64;
        rng_seed_default();
        pthread_atfork(NULL, NULL, atfork_child);
    }
#ifdef Py_GIL_DISABLED
    PyUnstable_Module_SetGIL(m, Py_MOD_GIL_USED);
#endif
    return m;
}
