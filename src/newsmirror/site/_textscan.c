/* Search terms, script counts and postings for the site build, in C.
 *
 * textutil.py holds the reference implementations (search_tokens, with
 * scriptfold's table, and the counting loop of detect_lang) and uses them when this module is not
 * compiled; tests check that both give the same results. In Python these two
 * steps were a quarter of the build's CPU time (10,000 posts in one process:
 * about 1.6 s of 6.1 s), nearly all of it spent creating one-character and
 * two-character strings; here no string is made per character or per term.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Bitmaps of the characters found only in simplified or only in traditional
 * Chinese (set from textutil at import), all in the Basic Multilingual Plane. */
static uint8_t simplified_only[0x10000 / 8];
static uint8_t traditional_only[0x10000 / 8];

static int
in_map(const uint8_t *map, Py_UCS4 c)
{
    return c < 0x10000 && ((map[c >> 3] >> (c & 7)) & 1);
}

/* Simplified/traditional folding (site/scriptfold.py, set from there at import):
 * fold_map[c] is c's folded form, or 0 when c folds to itself. All in the BMP. */
static uint16_t fold_map[0x10000];

static PyObject *
set_fold(PyObject *self, PyObject *args)
{
    PyObject *from, *to;
    if (!PyArg_ParseTuple(args, "UU", &from, &to))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(from);
    if (PyUnicode_GET_LENGTH(to) != n) {
        PyErr_SetString(PyExc_ValueError, "set_fold: both strings must be as long");
        return NULL;
    }
    uint16_t *map = PyMem_Calloc(0x10000, sizeof(uint16_t));
    if (map == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 a = PyUnicode_READ_CHAR(from, i), b = PyUnicode_READ_CHAR(to, i);
        if (a >= 0x10000 || b >= 0x10000 || b == 0) {
            PyMem_Free(map);
            PyErr_SetString(PyExc_ValueError, "set_fold: characters must be in the BMP");
            return NULL;
        }
        map[a] = (uint16_t)b;
    }
    memcpy(fold_map, map, sizeof fold_map); /* all or nothing */
    PyMem_Free(map);
    Py_RETURN_NONE;
}

/* scriptfold.fold over a UCS4 buffer, in place. */
static void
fold_in_place(Py_UCS4 *text, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = text[i];
        if (c < 0x10000 && fold_map[c])
            text[i] = fold_map[c];
    }
}

/* util/text.py's SEARCH_CJK (tests/util/test_text.py checks this copy): the
 * character class of CJK runs, which are indexed by two-character terms. */
static int
in_cjk_class(Py_UCS4 c)
{
    return (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0x3040 && c <= 0x30ff) ||
           (c >= 0xac00 && c <= 0xd7af);
}

/* The regex class [^\W_<CJK>]: what `re` counts as a word character
 * (Py_UNICODE_ISALNUM), without underscore and CJK. */
static int
is_word_char(Py_UCS4 c)
{
    return Py_UNICODE_ISALNUM(c) && !in_cjk_class(c);
}

static PyObject *
set_scripts(PyObject *self, PyObject *args)
{
    PyObject *simp, *trad;
    if (!PyArg_ParseTuple(args, "UU", &simp, &trad))
        return NULL;
    PyObject *texts[2] = {simp, trad};
    uint8_t *maps[2] = {simplified_only, traditional_only};
    for (int m = 0; m < 2; m++) {
        memset(maps[m], 0, sizeof simplified_only);
        Py_ssize_t n = PyUnicode_GET_LENGTH(texts[m]);
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ_CHAR(texts[m], i);
            if (c >= 0x10000) {
                PyErr_SetString(PyExc_ValueError, "script characters must be in the BMP");
                return NULL;
            }
            maps[m][c >> 3] |= (uint8_t)(1 << (c & 7));
        }
    }
    Py_RETURN_NONE;
}

/* (letters, cjk, simplified-only, traditional-only) counts of detect_lang. */
static PyObject *
script_counts(PyObject *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "script_counts() takes a str");
        return NULL;
    }
    int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    Py_ssize_t letters = 0, cjk = 0, simp = 0, trad = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (Py_UNICODE_ISALNUM(c) && !Py_UNICODE_ISDECIMAL(c))
            letters++;
        if (in_cjk_class(c)) {
            cjk++;
            if (in_map(simplified_only, c))
                simp++;
            else if (in_map(traditional_only, c))
                trad++;
        }
    }
    return Py_BuildValue("nnnn", letters, cjk, simp, trad);
}

/* Fullwidth ASCII forms (U+FF01-U+FF5E) and the ideographic space to ASCII:
 * the part of NFKC that Chinese text needs. Returns `text` itself when nothing
 * changes. */
static PyObject *
fold_fullwidth(PyObject *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "fold_fullwidth() takes a str");
        return NULL;
    }
    int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg), first = -1;
    if (kind != PyUnicode_1BYTE_KIND) {
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if ((c >= 0xff01 && c <= 0xff5e) || c == 0x3000) {
                first = i;
                break;
            }
        }
    }
    if (first < 0)
        return Py_NewRef(arg);
    Py_UCS4 *buf = PyUnicode_AsUCS4Copy(arg);
    if (buf == NULL)
        return NULL;
    for (Py_ssize_t i = first; i < n; i++) {
        Py_UCS4 c = buf[i];
        if (c >= 0xff01 && c <= 0xff5e)
            buf[i] = c - 0xfee0;
        else if (c == 0x3000)
            buf[i] = 0x20;
    }
    PyObject *out = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, n);
    PyMem_Free(buf);
    return out;
}

/* Py_UNICODE_ISSPACE (str.split()'s whitespace), without a call for the
 * common characters: ASCII's are \t..\r, \x1c..\x1f and the space, and no
 * whitespace character is above U+3000. */
static inline int
is_space(Py_UCS4 c)
{
    if (c < 128)
        return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
    return c <= 0x3000 && Py_UNICODE_ISSPACE(c);
}

/* The length and largest character of collapse_spaces' result, and the count of
 * whitespace characters, for one kind of str. */
#define MEASURE_SPACED(T, data, n, len, most, spaces)     \
    do {                                                  \
        const T *p = (const T *)(data);                   \
        int space = 0;                                    \
        for (Py_ssize_t i = 0; i < (n); i++) {            \
            Py_UCS4 c = p[i];                             \
            if (is_space(c)) {                            \
                space = 1;                                \
                (spaces)++;                               \
                continue;                                 \
            }                                             \
            (len) += (space && (len)) + 1;                \
            space = 0;                                    \
            if (c > (most))                               \
                (most) = c;                               \
        }                                                 \
    } while (0)

/* Write collapse_spaces' result (of a kind T of str) to `out` (of a kind U). */
#define WRITE_SPACED(T, U, data, n, out)                  \
    do {                                                  \
        const T *p = (const T *)(data);                   \
        U *w = (U *)(out), *first = w;                    \
        int space = 0;                                    \
        for (Py_ssize_t i = 0; i < (n); i++) {            \
            Py_UCS4 c = p[i];                             \
            if (is_space(c)) {                            \
                space = 1;                                \
                continue;                                 \
            }                                             \
            if (space && w > first)                       \
                *w++ = ' ';                               \
            space = 0;                                    \
            *w++ = (U)c;                                  \
        }                                                 \
    } while (0)

#define WRITE_SPACED_TO(T, okind, data, n, out)                      \
    do {                                                             \
        if ((okind) == PyUnicode_1BYTE_KIND)                         \
            WRITE_SPACED(T, Py_UCS1, data, n, out);                  \
        else if ((okind) == PyUnicode_2BYTE_KIND)                    \
            WRITE_SPACED(T, Py_UCS2, data, n, out);                  \
        else                                                         \
            WRITE_SPACED(T, Py_UCS4, data, n, out);                  \
    } while (0)

/* collapse_spaces(text) -> " ".join(text.split()): runs of whitespace made one
 * space, none at either end. textutil.html_to_text's last step: in Python
 * ~1/3 of the time to read a post's leading text (here 4-5x faster on post
 * text with spaces). Two passes: the first finds
 * the result's length and largest character (a str must be made in the
 * narrowest kind that holds it). */
static PyObject *
collapse_spaces(PyObject *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "collapse_spaces() takes a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg), len = 0, spaces = 0;
    int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    Py_UCS4 most = 0;
    if (kind == PyUnicode_1BYTE_KIND)
        MEASURE_SPACED(Py_UCS1, data, n, len, most, spaces);
    else if (kind == PyUnicode_2BYTE_KIND)
        MEASURE_SPACED(Py_UCS2, data, n, len, most, spaces);
    else
        MEASURE_SPACED(Py_UCS4, data, n, len, most, spaces);
    if (spaces == 0 && PyUnicode_CheckExact(arg))
        return Py_NewRef(arg); /* no whitespace at all */
    PyObject *out = PyUnicode_New(len, len > 0 && most < ' ' ? ' ' : most);
    if (out == NULL)
        return NULL;
    int okind = PyUnicode_KIND(out);
    if (kind == PyUnicode_1BYTE_KIND)
        WRITE_SPACED_TO(Py_UCS1, okind, data, n, PyUnicode_DATA(out));
    else if (kind == PyUnicode_2BYTE_KIND)
        WRITE_SPACED_TO(Py_UCS2, okind, data, n, PyUnicode_DATA(out));
    else
        WRITE_SPACED_TO(Py_UCS4, okind, data, n, PyUnicode_DATA(out));
    return out;
}

/* FNV-1a multiplies, so the low bits of its hash depend only on the low bits
 * of the characters; the table index takes low bits, so mix the high ones in
 * (MurmurHash3's finaliser). Without it, probe chains were long. */
static uint64_t
mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53u;
    return h ^ (h >> 33);
}

/* The table hash of a term: FNV-1a over its code points, mixed. */
static uint64_t
term_hash(const Py_UCS4 *text, Py_ssize_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (Py_ssize_t k = 0; k < len; k++)
        h = (h ^ text[k]) * 0x100000001b3u;
    return mix(h);
}

/* The distinct terms seen so far, in order: open addressing over (start, length)
 * slices of the input buffers, so no term becomes a Python object. */
typedef struct {
    const Py_UCS4 *start;
    Py_ssize_t len;
} Term;

typedef struct {
    Term *slots;      /* capacity entries; start == NULL when empty */
    Py_ssize_t mask;  /* capacity - 1, capacity a power of two */
    Term *order;      /* distinct terms in first-seen order */
    Py_ssize_t count;
    Py_ssize_t chars; /* total length of the distinct terms */
} TermSet;

/* Where the tokenizer sends each term: -1 on error (an exception set). */
typedef int (*TermSink)(void *sink, const Py_UCS4 *start, Py_ssize_t len);

static int
add_term(void *sink, const Py_UCS4 *start, Py_ssize_t len)
{
    TermSet *set = sink;
    Py_ssize_t i = (Py_ssize_t)(term_hash(start, len) & (uint64_t)set->mask);
    for (;;) {
        Term *slot = &set->slots[i];
        if (slot->start == NULL) {
            slot->start = start;
            slot->len = len;
            set->order[set->count++] = *slot;
            set->chars += len;
            return 0;
        }
        if (slot->len == len && memcmp(slot->start, start, (size_t)len * sizeof(Py_UCS4)) == 0)
            return 0;
        i = (i + 1) & set->mask;
    }
}

/* The terms of textutil.search_tokens over text[0:n], each sent to `add` (repeats too). */
static int
tokenize(TermSink add, void *sink, const Py_UCS4 *text, Py_ssize_t n, int unigrams)
{
    Py_ssize_t i = 0;
    while (i < n) {
        Py_UCS4 c = text[i];
        Py_ssize_t j = i + 1;
        if (in_cjk_class(c)) {
            while (j < n && in_cjk_class(text[j]))
                j++;
        }
        else if (is_word_char(c)) {
            while (j < n && is_word_char(text[j]))
                j++;
        }
        else {
            i++;
            continue;
        }
        Py_ssize_t len = j - i;
        if (in_cjk_class(c)) {
            if (len == 1 || unigrams)
                for (Py_ssize_t k = i; k < j; k++)
                    if (add(sink, text + k, 1) < 0)
                        return -1;
            for (Py_ssize_t k = i; k + 1 < j; k++)
                if (add(sink, text + k, 2) < 0)
                    return -1;
        }
        else if ((len > 1 || Py_UNICODE_ISDIGIT(c)) && add(sink, text + i, len) < 0) {
            return -1;
        }
        i = j;
    }
    return 0;
}

/* index_terms(title, rest) -> the distinct terms of both, space-separated:
 * search_tokens(title, unigrams=True) | search_tokens(rest). Both arguments
 * already NFKC-normalised and lower-cased (textutil.index_terms); folded here. */
static PyObject *
index_terms(PyObject *self, PyObject *args)
{
    PyObject *title, *rest, *out = NULL;
    if (!PyArg_ParseTuple(args, "UU", &title, &rest))
        return NULL;
    Py_ssize_t nt = PyUnicode_GET_LENGTH(title), nr = PyUnicode_GET_LENGTH(rest);
    Py_UCS4 *t = PyUnicode_AsUCS4Copy(title);
    Py_UCS4 *r = PyUnicode_AsUCS4Copy(rest);
    /* At most 2 terms per title character and 1 per other character; the table
     * is kept under half full. */
    Py_ssize_t most = 2 * nt + nr + 1, capacity = 16;
    while (capacity < 2 * most)
        capacity *= 2;
    TermSet set = {PyMem_Calloc((size_t)capacity, sizeof(Term)), capacity - 1,
                   PyMem_Malloc((size_t)most * sizeof(Term)), 0, 0};
    Py_UCS4 *joined = NULL;
    if (t == NULL || r == NULL || set.slots == NULL || set.order == NULL) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    fold_in_place(t, nt);
    fold_in_place(r, nr);
    tokenize(add_term, &set, t, nt, 1);
    tokenize(add_term, &set, r, nr, 0);
    Py_ssize_t size = set.count ? set.chars + set.count - 1 : 0;
    joined = PyMem_Malloc((size_t)(size + 1) * sizeof(Py_UCS4));
    if (joined == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_UCS4 *w = joined;
    for (Py_ssize_t k = 0; k < set.count; k++) {
        if (k)
            *w++ = ' ';
        memcpy(w, set.order[k].start, (size_t)set.order[k].len * sizeof(Py_UCS4));
        w += set.order[k].len;
    }
    out = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, joined, size);
done:
    PyMem_Free(joined);
    PyMem_Free(set.order);
    PyMem_Free(set.slots);
    PyMem_Free(r);
    PyMem_Free(t);
    return out;
}

/* Postings: term -> ascending post ids, for one search segment's shard files.
 *
 * The C side of search.Postings (search.py keeps the Python one as the
 * reference). A full index of 10,000 real posts holds ~8 million postings;
 * as Python dict lookups and array appends they took 1.8 s to collect and
 * 1.5 s to encode, in the build's main process. Here terms live in one
 * character arena and each term's ids in a growing uint32 array. */
typedef struct {
    uint32_t *ids;
    Py_ssize_t len, cap;
    Py_ssize_t text, text_len; /* the term: chars[text : text + text_len] */
    uint64_t hash;
    uint32_t last;
    int unsorted;
    uint64_t seen; /* the add_text call that last added to it (each term once per post) */
} PostingList;

typedef struct {
    PyObject_HEAD
    PostingList *lists; /* distinct terms, in first-seen order */
    Py_ssize_t nlists, lists_cap;
    Py_ssize_t *slots;  /* open addressing: index + 1 into lists, 0 when empty */
    Py_ssize_t mask;
    Py_UCS4 *chars;
    Py_ssize_t nchars, chars_cap;
    Py_ssize_t postings;
    uint64_t calls; /* add_text calls so far */
    uint32_t pid;   /* of the add_text call under way */
    /* For shard_js: list indexes grouped by shard, for `grouped_for` shards. */
    Py_ssize_t grouped_for;
    Py_ssize_t *order, *starts;
} Postings;

static int
grow(void **buf, Py_ssize_t *cap, Py_ssize_t need, size_t item)
{
    if (need <= *cap)
        return 0;
    Py_ssize_t cap2 = *cap ? *cap : 16;
    while (cap2 < need)
        cap2 *= 2;
    void *p = PyMem_Realloc(*buf, (size_t)cap2 * item);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *buf = p;
    *cap = cap2;
    return 0;
}

static int
rehash(Postings *self, Py_ssize_t capacity)
{
    Py_ssize_t *slots = PyMem_Calloc((size_t)capacity, sizeof(Py_ssize_t));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t mask = capacity - 1;
    for (Py_ssize_t k = 0; k < self->nlists; k++) {
        Py_ssize_t i = (Py_ssize_t)(self->lists[k].hash & (uint64_t)mask);
        while (slots[i])
            i = (i + 1) & mask;
        slots[i] = k + 1;
    }
    PyMem_Free(self->slots);
    self->slots = slots;
    self->mask = mask;
    return 0;
}

/* The list of the term text[0:len] (of table hash h), made if new; NULL on error. */
static PostingList *
list_for_hash(Postings *self, const Py_UCS4 *text, Py_ssize_t len, uint64_t h)
{
    Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)self->mask);
    for (;; i = (i + 1) & self->mask) {
        Py_ssize_t slot = self->slots[i];
        if (slot == 0)
            break;
        PostingList *l = &self->lists[slot - 1];
        if (l->hash == h && l->text_len == len &&
            memcmp(self->chars + l->text, text, (size_t)len * sizeof(Py_UCS4)) == 0)
            return l;
    }
    if (grow((void **)&self->chars, &self->chars_cap, self->nchars + len, sizeof(Py_UCS4)) < 0 ||
        grow((void **)&self->lists, &self->lists_cap, self->nlists + 1, sizeof(PostingList)) < 0)
        return NULL;
    memcpy(self->chars + self->nchars, text, (size_t)len * sizeof(Py_UCS4));
    self->lists[self->nlists] = (PostingList){NULL, 0, 0, self->nchars, len, h, 0, 0, 0};
    self->nchars += len;
    self->slots[i] = ++self->nlists;
    if (self->nlists * 2 > self->mask + 1 && rehash(self, (self->mask + 1) * 2) < 0)
        return NULL;
    return &self->lists[self->nlists - 1];
}

/* The list of the term text[0:len], made if new; NULL on error. */
static PostingList *
list_for(Postings *self, const Py_UCS4 *text, Py_ssize_t len)
{
    return list_for_hash(self, text, len, term_hash(text, len));
}

/* Append `pid` to `list`. */
static int
append_id(Postings *self, PostingList *list, uint32_t pid)
{
    if (grow((void **)&list->ids, &list->cap, list->len + 1, sizeof(uint32_t)) < 0)
        return -1;
    if (list->len && pid < list->last)
        list->unsorted = 1;
    list->ids[list->len++] = list->last = pid;
    self->postings++;
    return 0;
}

/* add() and add_text() take 32-bit ids, and only before the shards are written. */
static int
can_add(Postings *self, unsigned long long pid, const char *method)
{
    if (pid > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "post id does not fit 32 bits");
        return 0;
    }
    if (self->grouped_for) {
        PyErr_Format(PyExc_RuntimeError, "Postings.%s after shard_js", method);
        return 0;
    }
    return 1;
}

static PyObject *
Postings_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) || (kwargs && PyDict_GET_SIZE(kwargs))) {
        PyErr_SetString(PyExc_TypeError, "Postings() takes no arguments");
        return NULL;
    }
    Postings *self = (Postings *)type->tp_alloc(type, 0);
    if (self != NULL && rehash(self, 1024) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void
Postings_dealloc(Postings *self)
{
    for (Py_ssize_t k = 0; k < self->nlists; k++)
        PyMem_Free(self->lists[k].ids);
    PyMem_Free(self->lists);
    PyMem_Free(self->slots);
    PyMem_Free(self->chars);
    PyMem_Free(self->order);
    PyMem_Free(self->starts);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* add(pid, terms): `pid` for each whitespace-separated term of `terms`. */
static PyObject *
Postings_add(Postings *self, PyObject *args)
{
    unsigned long long pid;
    PyObject *terms;
    if (!PyArg_ParseTuple(args, "KU", &pid, &terms) || !can_add(self, pid, "add"))
        return NULL;
    Py_UCS4 *text = PyUnicode_AsUCS4Copy(terms);
    if (text == NULL)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(terms), i = 0;
    while (i < n) {
        while (i < n && Py_UNICODE_ISSPACE(text[i]))
            i++;
        Py_ssize_t j = i;
        while (j < n && !Py_UNICODE_ISSPACE(text[j]))
            j++;
        PostingList *list;
        if (j > i && ((list = list_for(self, text + i, j - i)) == NULL ||
                      append_id(self, list, (uint32_t)pid) < 0)) {
            PyMem_Free(text);
            return NULL;
        }
        i = j;
    }
    PyMem_Free(text);
    Py_RETURN_NONE;
}

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

/* A term of the post being added, with its table hash. */
typedef struct {
    const Py_UCS4 *start;
    Py_ssize_t len;
    uint64_t hash;
} PendingTerm;

typedef struct {
    PendingTerm *terms;
    Py_ssize_t count;
} TermList;

static int
collect_term(void *sink, const Py_UCS4 *start, Py_ssize_t len)
{
    TermList *list = sink;
    list->terms[list->count++] = (PendingTerm){start, len, term_hash(start, len)};
    return 0;
}

/* The post's terms to their lists (each list once per post), in order. Nearly
 * every lookup misses the CPU caches three times (the slot, the list, the end
 * of its ids), so each term's slot is fetched AHEAD terms early, its list
 * AHEAD / 2 early, and its ids a few terms early: the misses overlap. */
#define AHEAD 16
static int
add_terms(Postings *self, const TermList *list)
{
    const PendingTerm *terms = list->terms;
    Py_ssize_t n = list->count;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (k + AHEAD < n)
            PREFETCH(&self->slots[terms[k + AHEAD].hash & (uint64_t)self->mask]);
        if (k + AHEAD / 2 < n) {
            Py_ssize_t slot = self->slots[terms[k + AHEAD / 2].hash & (uint64_t)self->mask];
            if (slot)
                PREFETCH(&self->lists[slot - 1]);
        }
        if (k + AHEAD / 4 < n) {
            Py_ssize_t slot = self->slots[terms[k + AHEAD / 4].hash & (uint64_t)self->mask];
            if (slot && self->lists[slot - 1].ids)
                PREFETCH(self->lists[slot - 1].ids + self->lists[slot - 1].len);
        }
        PostingList *l = list_for_hash(self, terms[k].start, terms[k].len, terms[k].hash);
        if (l == NULL)
            return -1;
        if (l->seen == self->calls)
            continue; /* this post's term again */
        l->seen = self->calls;
        if (append_id(self, l, self->pid) < 0)
            return -1;
    }
    return 0;
}

/* add_text(pid, title, rest): add(pid, index_terms(title, rest)) without
 * making the terms' string: the terms go straight from the text to their lists. */
static PyObject *
Postings_add_text(Postings *self, PyObject *args)
{
    unsigned long long pid;
    PyObject *title, *rest;
    if (!PyArg_ParseTuple(args, "KUU", &pid, &title, &rest) || !can_add(self, pid, "add_text"))
        return NULL;
    Py_ssize_t nt = PyUnicode_GET_LENGTH(title), nr = PyUnicode_GET_LENGTH(rest);
    Py_UCS4 *t = PyUnicode_AsUCS4Copy(title), *r = NULL;
    /* At most 2 terms per title character and 1 per other character. */
    TermList list = {PyMem_Malloc((size_t)(2 * nt + nr + 1) * sizeof(PendingTerm)), 0};
    int failed = t == NULL || (r = PyUnicode_AsUCS4Copy(rest)) == NULL;
    if (!failed && list.terms == NULL) {
        PyErr_NoMemory();
        failed = 1;
    }
    self->calls++;
    self->pid = (uint32_t)pid;
    if (!failed) {
        fold_in_place(t, nt);
        fold_in_place(r, nr);
        tokenize(collect_term, &list, t, nt, 1);
        tokenize(collect_term, &list, r, nr, 0);
        failed = add_terms(self, &list) < 0;
    }
    PyMem_Free(list.terms);
    PyMem_Free(t);
    PyMem_Free(r);
    if (failed)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
Postings_count(Postings *self, PyObject *unused)
{
    return PyLong_FromSsize_t(self->postings);
}

/* Output bytes (UTF-8), grown on demand. */
typedef struct {
    char *buf;
    Py_ssize_t len, cap;
} Text;

static int
put_ascii(Text *t, const char *s, Py_ssize_t n)
{
    if (grow((void **)&t->buf, &t->cap, t->len + n, 1) < 0)
        return -1;
    memcpy(t->buf + t->len, s, (size_t)n);
    t->len += n;
    return 0;
}

/* v in decimal at w, which has room for 10 digits: where it ends. */
static char *
write_uint(char *w, uint32_t v)
{
    char digits[10];
    int n = 0;
    do {
        digits[9 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(w, digits + 10 - n, (size_t)n);
    return w + n;
}

static int
put_uint(Text *t, uint32_t v)
{
    if (grow((void **)&t->buf, &t->cap, t->len + 10, 1) < 0)
        return -1;
    t->len = write_uint(t->buf + t->len, v) - t->buf;
    return 0;
}

/* A JSON string as json.dumps(s, ensure_ascii=False) writes it, in UTF-8. */
static int
put_json_string(Text *t, const Py_UCS4 *s, Py_ssize_t n)
{
    if (grow((void **)&t->buf, &t->cap, t->len + 6 * n + 2, 1) < 0)
        return -1;
    char *w = t->buf + t->len;
    *w++ = '"';
    for (Py_ssize_t k = 0; k < n; k++) {
        Py_UCS4 c = s[k];
        const char *short_escape = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                                 : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b"
                                 : c == '\f' ? "\\f" : NULL;
        if (short_escape) {
            *w++ = short_escape[0];
            *w++ = short_escape[1];
        }
        else if (c < 0x20) {
            w += snprintf(w, 7, "\\u%04x", (unsigned)c);
        }
        else if (c < 0x80) {
            *w++ = (char)c;
        }
        else if (c < 0x800) {
            *w++ = (char)(0xc0 | (c >> 6));
            *w++ = (char)(0x80 | (c & 0x3f));
        }
        else if (c < 0x10000) {
            *w++ = (char)(0xe0 | (c >> 12));
            *w++ = (char)(0x80 | ((c >> 6) & 0x3f));
            *w++ = (char)(0x80 | (c & 0x3f));
        }
        else {
            *w++ = (char)(0xf0 | (c >> 18));
            *w++ = (char)(0x80 | ((c >> 12) & 0x3f));
            *w++ = (char)(0x80 | ((c >> 6) & 0x3f));
            *w++ = (char)(0x80 | (c & 0x3f));
        }
    }
    *w++ = '"';
    t->len = w - t->buf;
    return 0;
}

static int
compare_ids(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The Postings whose terms compare_terms orders (qsort passes no context). */
static const Postings *sorting;

/* Terms by code point, as Python orders str. */
static int
compare_terms(const void *a, const void *b)
{
    const PostingList *x = &sorting->lists[*(const Py_ssize_t *)a];
    const PostingList *y = &sorting->lists[*(const Py_ssize_t *)b];
    const Py_UCS4 *p = sorting->chars + x->text, *q = sorting->chars + y->text;
    Py_ssize_t n = x->text_len < y->text_len ? x->text_len : y->text_len;
    for (Py_ssize_t k = 0; k < n; k++)
        if (p[k] != q[k])
            return p[k] < q[k] ? -1 : 1;
    return (x->text_len > y->text_len) - (x->text_len < y->text_len);
}

/* Group the lists by shard (fnv1a of the term modulo `shards`), each shard's
 * terms sorted: the same files whichever process collected which posts. */
static int
group_by_shard(Postings *self, Py_ssize_t shards)
{
    PyMem_Free(self->order);
    PyMem_Free(self->starts);
    self->order = PyMem_Malloc((size_t)(self->nlists + 1) * sizeof(Py_ssize_t));
    self->starts = PyMem_Calloc((size_t)shards + 1, sizeof(Py_ssize_t));
    Py_ssize_t *shard_of = PyMem_Malloc((size_t)(self->nlists + 1) * sizeof(Py_ssize_t));
    if (self->order == NULL || self->starts == NULL || shard_of == NULL) {
        PyMem_Free(shard_of);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < self->nlists; k++) {
        const PostingList *l = &self->lists[k];
        uint32_t h = 0x811c9dc5u; /* textutil.fnv1a, as search.js computes it */
        for (Py_ssize_t c = 0; c < l->text_len; c++)
            h = (h ^ self->chars[l->text + c]) * 16777619u;
        shard_of[k] = (Py_ssize_t)(h % (uint32_t)shards);
        self->starts[shard_of[k] + 1]++;
    }
    for (Py_ssize_t s = 0; s < shards; s++)
        self->starts[s + 1] += self->starts[s];
    Py_ssize_t *next = PyMem_Malloc((size_t)shards * sizeof(Py_ssize_t));
    if (next == NULL) {
        PyMem_Free(shard_of);
        PyErr_NoMemory();
        return -1;
    }
    memcpy(next, self->starts, (size_t)shards * sizeof(Py_ssize_t));
    for (Py_ssize_t k = 0; k < self->nlists; k++)
        self->order[next[shard_of[k]]++] = k;
    PyMem_Free(next);
    PyMem_Free(shard_of);
    sorting = self;
    for (Py_ssize_t s = 0; s < shards; s++)
        qsort(self->order + self->starts[s], (size_t)(self->starts[s + 1] - self->starts[s]),
              sizeof(Py_ssize_t), compare_terms);
    sorting = NULL;
    self->grouped_for = shards;
    return 0;
}

/* shard_js(seg, i, shards) -> b'nmSearchShard("seg",i,{"term":"gaps",...});\n'
 * (UTF-8) for the terms of shard i, each with its ids as comma-separated gaps.
 * The ids of those terms are freed as they are written: call each shard once.
 * Surrogates cannot be in UTF-8, so lone ones (never in a term from
 * index_terms) are written as they come and make invalid bytes. */
static PyObject *
Postings_shard_js(Postings *self, PyObject *args)
{
    PyObject *seg;
    Py_ssize_t i, shards;
    if (!PyArg_ParseTuple(args, "Unn", &seg, &i, &shards))
        return NULL;
    if (shards < 1 || i < 0 || i >= shards) {
        PyErr_SetString(PyExc_ValueError, "shard out of range");
        return NULL;
    }
    if (self->grouped_for != shards && group_by_shard(self, shards) < 0)
        return NULL;
    Text t = {NULL, 0, 0};
    Py_UCS4 *seg_chars = PyUnicode_AsUCS4Copy(seg);
    if (seg_chars == NULL || put_ascii(&t, "nmSearchShard(", 14) < 0 ||
        put_json_string(&t, seg_chars, PyUnicode_GET_LENGTH(seg)) < 0 ||
        put_ascii(&t, ",", 1) < 0 || put_uint(&t, (uint32_t)i) < 0 || put_ascii(&t, ",{", 2) < 0)
        goto error;
    for (Py_ssize_t o = self->starts[i]; o < self->starts[i + 1]; o++) {
        PostingList *l = &self->lists[self->order[o]];
        if (o > self->starts[i] && put_ascii(&t, ",", 1) < 0)
            goto error;
        if (put_json_string(&t, self->chars + l->text, l->text_len) < 0 ||
            put_ascii(&t, ":\"", 2) < 0)
            goto error;
        if (l->unsorted)
            qsort(l->ids, (size_t)l->len, sizeof(uint32_t), compare_ids);
        /* The gaps, comma-separated: room for all of them (10 digits and a comma
         * each) made once, not checked per number. */
        if (grow((void **)&t.buf, &t.cap, t.len + 11 * l->len + 1, 1) < 0)
            goto error;
        char *w = t.buf + t.len;
        for (Py_ssize_t k = 0; k < l->len; k++) {
            if (k)
                *w++ = ',';
            w = write_uint(w, k ? l->ids[k] - l->ids[k - 1] : l->ids[k]);
        }
        *w++ = '"';
        t.len = w - t.buf;
        PyMem_Free(l->ids);
        l->ids = NULL;
        l->len = l->cap = 0;
    }
    if (put_ascii(&t, "});\n", 4) < 0)
        goto error;
    PyObject *out = PyBytes_FromStringAndSize(t.buf, t.len);
    PyMem_Free(t.buf);
    PyMem_Free(seg_chars);
    return out;
error:
    PyMem_Free(t.buf);
    PyMem_Free(seg_chars);
    return NULL;
}

/* take(part=0, parts=1) -> bytes: the lists k with k % parts == part, for
 * merge() in another process on this machine (native byte order), and their
 * ids are dropped here: a worker hands its postings over in parts, so that
 * neither side holds them twice (100,000 posts: ~80 million postings). Per
 * list, uint32s: term length, id count, unsorted flag, the term's code
 * points, the ids. Lists without ids are left out. */
static PyObject *
Postings_take(Postings *self, PyObject *args)
{
    Py_ssize_t part = 0, parts = 1;
    if (!PyArg_ParseTuple(args, "|nn", &part, &parts))
        return NULL;
    if (parts < 1 || part < 0 || part >= parts) {
        PyErr_SetString(PyExc_ValueError, "part out of range");
        return NULL;
    }
    Py_ssize_t words = 0;
    for (Py_ssize_t k = part; k < self->nlists; k += parts)
        if (self->lists[k].len)
            words += 3 + self->lists[k].text_len + self->lists[k].len;
    PyObject *out = PyBytes_FromStringAndSize(NULL, words * (Py_ssize_t)sizeof(uint32_t));
    if (out == NULL)
        return NULL;
    uint32_t *w = (uint32_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t k = part; k < self->nlists; k += parts) {
        PostingList *l = &self->lists[k];
        if (l->len == 0)
            continue;
        *w++ = (uint32_t)l->text_len;
        *w++ = (uint32_t)l->len;
        *w++ = (uint32_t)l->unsorted;
        memcpy(w, self->chars + l->text, (size_t)l->text_len * sizeof(uint32_t));
        w += l->text_len;
        memcpy(w, l->ids, (size_t)l->len * sizeof(uint32_t));
        w += l->len;
        self->postings -= l->len;
        PyMem_Free(l->ids);
        l->ids = NULL;
        l->len = l->cap = 0;
        l->unsorted = 0;
    }
    return out;
}

/* Add ids[0:n] to `l`; two sorted runs are merged, so the list stays sorted. */
static int
append_ids(PostingList *l, const uint32_t *ids, Py_ssize_t n, int sorted)
{
    if (n == 0)
        return 0;
    if (l->len && !l->unsorted && sorted && ids[0] < l->last) {
        uint32_t *merged = PyMem_Malloc((size_t)(l->len + n) * sizeof(uint32_t));
        if (merged == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        Py_ssize_t a = 0, b = 0, m = 0;
        while (a < l->len && b < n)
            merged[m++] = l->ids[a] <= ids[b] ? l->ids[a++] : ids[b++];
        while (a < l->len)
            merged[m++] = l->ids[a++];
        while (b < n)
            merged[m++] = ids[b++];
        PyMem_Free(l->ids);
        l->ids = merged;
        l->len = l->cap = m;
        l->last = merged[m - 1];
        return 0;
    }
    if (l->len + n > l->cap) { /* exactly: a term's list is merged once per worker */
        uint32_t *grown = PyMem_Realloc(l->ids, (size_t)(l->len + n) * sizeof(uint32_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        l->ids = grown;
        l->cap = l->len + n;
    }
    if (!sorted || (l->len && ids[0] < l->last))
        l->unsorted = 1;
    memcpy(l->ids + l->len, ids, (size_t)n * sizeof(uint32_t));
    l->len += n;
    l->last = ids[n - 1];
    return 0;
}

/* merge(data): add the lists of another Postings' take(). */
static PyObject *
Postings_merge(Postings *self, PyObject *arg)
{
    Py_buffer view;
    if (self->grouped_for) {
        PyErr_SetString(PyExc_RuntimeError, "Postings.merge after shard_js");
        return NULL;
    }
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const uint32_t *r = view.buf;
    Py_ssize_t left = view.len / (Py_ssize_t)sizeof(uint32_t);
    int ok = view.len % (Py_ssize_t)sizeof(uint32_t) == 0;
    while (ok && left > 0) {
        if (left < 3 || r[0] == 0 || (Py_ssize_t)r[0] + r[1] > left - 3) {
            ok = 0;
            break;
        }
        Py_ssize_t len = r[0], n = r[1];
        int sorted = !r[2];
        PostingList *l = list_for(self, r + 3, len);
        if (l == NULL || append_ids(l, r + 3 + len, n, sorted) < 0) {
            PyBuffer_Release(&view);
            return NULL;
        }
        self->postings += n;
        r += 3 + len + n;
        left -= 3 + len + n;
    }
    PyBuffer_Release(&view);
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "not a Postings.take()");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef postings_methods[] = {
    {"add", (PyCFunction)Postings_add, METH_VARARGS,
     "add(pid, terms): pid for each whitespace-separated term."},
    {"add_text", (PyCFunction)Postings_add_text, METH_VARARGS,
     "add_text(pid, title, rest): add(pid, index_terms(title, rest)), title and rest prepared."},
    {"count", (PyCFunction)Postings_count, METH_NOARGS, "count() -> number of postings added."},
    {"take", (PyCFunction)Postings_take, METH_VARARGS,
     "take(part=0, parts=1) -> bytes of every parts-th list, which are emptied here; "
     "for merge() in another process on this machine."},
    {"merge", (PyCFunction)Postings_merge, METH_O, "merge(data): add the lists of a take()."},
    {"shard_js", (PyCFunction)Postings_shard_js, METH_VARARGS,
     "shard_js(seg, i, shards) -> the JavaScript of shard i, UTF-8 (its ids are then freed)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject PostingsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "newsmirror.site._textscan.Postings",
    .tp_basicsize = sizeof(Postings),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "term -> post ids, for one search segment's shard files",
    .tp_new = Postings_new,
    .tp_dealloc = (destructor)Postings_dealloc,
    .tp_methods = postings_methods,
};

static PyMethodDef methods[] = {
    {"set_scripts", set_scripts, METH_VARARGS,
     "set_scripts(simplified_only, traditional_only): the characters script_counts looks for."},
    {"set_fold", set_fold, METH_VARARGS,
     "set_fold(from, to): from[i] folds to to[i] before terms are cut (scriptfold.py)."},
    {"script_counts", script_counts, METH_O,
     "script_counts(text) -> (letters, cjk, simplified_only, traditional_only)."},
    {"fold_fullwidth", fold_fullwidth, METH_O,
     "fold_fullwidth(text) -> text with fullwidth ASCII forms and U+3000 made ASCII."},
    {"collapse_spaces", collapse_spaces, METH_O,
     "collapse_spaces(text) -> \" \".join(text.split())."},
    {"index_terms", index_terms, METH_VARARGS,
     "index_terms(title, rest) -> distinct search terms, space-separated."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_textscan", "Search terms, script counts and postings for the site build.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__textscan(void)
{
    if (PyType_Ready(&PostingsType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Postings", (PyObject *)&PostingsType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
