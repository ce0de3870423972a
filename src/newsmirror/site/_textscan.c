/* Search terms and script counts for the site build, in C.
 *
 * textutil.py holds the reference implementations (search_tokens, the
 * counting loop of detect_lang) and uses them when this module is not
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

/* textutil._CJK: the character class of CJK runs. */
static int
in_cjk_class(Py_UCS4 c)
{
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0x3040 && c <= 0x30ff) ||
           (c >= 0xac00 && c <= 0xd7af);
}

/* textutil._is_cjk: a run starting with such a character is indexed by bigrams. */
static int
starts_cjk_run(Py_UCS4 c)
{
    return (c >= 0x3040 && c <= 0xd7af) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0xf900 && c <= 0xfaff);
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

static void
add_term(TermSet *set, const Py_UCS4 *start, Py_ssize_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (Py_ssize_t k = 0; k < len; k++)
        h = (h ^ start[k]) * 0x100000001b3u;
    Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)set->mask);
    for (;;) {
        Term *slot = &set->slots[i];
        if (slot->start == NULL) {
            slot->start = start;
            slot->len = len;
            set->order[set->count++] = *slot;
            set->chars += len;
            return;
        }
        if (slot->len == len && memcmp(slot->start, start, (size_t)len * sizeof(Py_UCS4)) == 0)
            return;
        i = (i + 1) & set->mask;
    }
}

/* The terms of textutil.search_tokens over text[0:n]. */
static void
add_text_terms(TermSet *set, const Py_UCS4 *text, Py_ssize_t n, int unigrams)
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
        if (starts_cjk_run(c)) {
            if (len == 1 || unigrams)
                for (Py_ssize_t k = i; k < j; k++)
                    add_term(set, text + k, 1);
            for (Py_ssize_t k = i; k + 1 < j; k++)
                add_term(set, text + k, 2);
        }
        else if (len > 1 || Py_UNICODE_ISDIGIT(c)) {
            add_term(set, text + i, len);
        }
        i = j;
    }
}

/* index_terms(title, rest) -> the distinct terms of both, space-separated:
 * search_tokens(title, unigrams=True) | search_tokens(rest). Both arguments
 * already NFKC-normalised and lower-cased (textutil.index_terms). */
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
    add_text_terms(&set, t, nt, 1);
    add_text_terms(&set, r, nr, 0);
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

static PyMethodDef methods[] = {
    {"set_scripts", set_scripts, METH_VARARGS,
     "set_scripts(simplified_only, traditional_only): the characters script_counts looks for."},
    {"script_counts", script_counts, METH_O,
     "script_counts(text) -> (letters, cjk, simplified_only, traditional_only)."},
    {"fold_fullwidth", fold_fullwidth, METH_O,
     "fold_fullwidth(text) -> text with fullwidth ASCII forms and U+3000 made ASCII."},
    {"index_terms", index_terms, METH_VARARGS,
     "index_terms(title, rest) -> distinct search terms, space-separated."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_textscan", "Search terms and script counts for the site build.",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__textscan(void)
{
    return PyModule_Create(&module);
}
