/* CPU detection, OpenBLAS core choice and the late-bound CBLAS calls (CEmoBLAS.h says why). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "CEmoBLAS.h"

/* ---- CPU features ------------------------------------------------------------------------------------------ */

#if defined(__x86_64__) || defined(__i386__)
static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}
#endif

void emo_cpu_detect(EmoCpuFeatures *out) {
    memset(out, 0, sizeof *out);
#if defined(__x86_64__) || defined(__i386__)
    unsigned int a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    unsigned int max_leaf = a;
    memcpy(out->vendor, &b, 4);
    memcpy(out->vendor + 4, &d, 4);
    memcpy(out->vendor + 8, &c, 4);
    out->vendor[12] = '\0';
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    int base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
    out->family = base_family + (base_family == 0xf ? (int)((a >> 20) & 0xff) : 0);
    out->model = base_model + ((base_family == 0x6 || base_family == 0xf) ? (int)((a >> 16) & 0xf) << 4 : 0);
    out->sse3 = (c >> 0) & 1;
    out->ssse3 = (c >> 9) & 1;
    out->fma = (c >> 12) & 1;
    out->sse4_2 = (c >> 20) & 1;
    int osxsave = (c >> 27) & 1;
    out->avx = (c >> 28) & 1;
    if (osxsave) {
        unsigned long long xcr0 = read_xcr0();
        out->os_ymm = (xcr0 & 0x6) == 0x6;      /* SSE + AVX state */
        out->os_zmm = (xcr0 & 0xe6) == 0xe6;    /* + opmask, ZMM_Hi256, Hi16_ZMM */
    }
    if (max_leaf >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        out->avx2 = (b >> 5) & 1;
        out->avx512f = (b >> 16) & 1;
        out->avx512dq = (b >> 17) & 1;
        out->avx512cd = (b >> 28) & 1;
        out->avx512bw = (b >> 30) & 1;
        out->avx512vl = (b >> 31) & 1;
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) out->avx512_bf16 = (a >> 5) & 1;
    }
#endif
}

const char *emo_blas_choose_core(const EmoCpuFeatures *f) {
    int amd = strcmp(f->vendor, "AuthenticAMD") == 0 || strcmp(f->vendor, "HygonGenuine") == 0;
    if (f->os_zmm && f->avx512f && f->avx512cd && f->avx512bw && f->avx512dq && f->avx512vl && f->avx2 && f->fma)
        return "SkylakeX";
    if (f->os_ymm && f->avx2 && f->fma && f->avx) return amd ? "Zen" : "Haswell";
    if (f->os_ymm && f->avx) return "SandyBridge";
    return NULL;
}

void emo_cpu_flags_string(const EmoCpuFeatures *f, char *buf, size_t len) {
    struct { const char *name; int on; } flags[] = {
        {"sse3", f->sse3}, {"ssse3", f->ssse3}, {"sse4_2", f->sse4_2}, {"avx", f->avx}, {"avx2", f->avx2},
        {"fma", f->fma}, {"avx512f", f->avx512f}, {"avx512cd", f->avx512cd}, {"avx512bw", f->avx512bw},
        {"avx512dq", f->avx512dq}, {"avx512vl", f->avx512vl}, {"avx512_bf16", f->avx512_bf16},
        {"os-ymm", f->os_ymm}, {"os-zmm", f->os_zmm},
    };
    if (len == 0) return;
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (!flags[i].on) continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? " " : "", flags[i].name);
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
}

/* ---- Loading ----------------------------------------------------------------------------------------------- */

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
typedef void (*cgemm_fn)(int, int, int, int, int, int, const void *, const void *, int, const void *, int,
                         const void *, void *, int);

static struct {
    EmoBlasInfo info;
    sgemm_fn sgemm;
    cgemm_fn cgemm;
    char *(*corename)(void);
    char *(*config)(void);
    int (*get_threads)(void);
    void (*set_threads)(int);
    char cpu[96];
    char flags[256];
    char error[768];
    char library[512];
} state;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static const char *source_text(EmoBlasCoreSource s) {
    switch (s) {
    case EMO_BLAS_CORE_CHOSEN: return "chosen by EmoKit from the CPU flags";
    case EMO_BLAS_CORE_USER: return "OPENBLAS_CORETYPE set by the user";
    case EMO_BLAS_CORE_OPENBLAS: return "OpenBLAS's own detection";
    case EMO_BLAS_CORE_PRELOADED: return "library already loaded in the process";
    case EMO_BLAS_CORE_NOT_OPENBLAS: return "not OpenBLAS";
    }
    return "unknown";
}

static void do_load(void) {
    EmoCpuFeatures f;
    emo_cpu_detect(&f);
    snprintf(state.cpu, sizeof state.cpu, "%s family %d model %d", f.vendor[0] ? f.vendor : "unknown", f.family,
             f.model);
    emo_cpu_flags_string(&f, state.flags, sizeof state.flags);
    const char *chosen = emo_blas_choose_core(&f);

    const char *lib_env = getenv("EMOKIT_BLAS_LIBRARY");
    const char *library = (lib_env && lib_env[0]) ? lib_env : "libopenblas.so.0";
    snprintf(state.library, sizeof state.library, "%s", library);

    state.info.library = state.library;
    state.info.cpu = state.cpu;
    state.info.flags = state.flags;
    state.info.chosen = chosen ? chosen : "none";
    state.info.core = "n/a";
    state.info.config = "n/a";
    state.info.error = "";
    state.error[0] = '\0';

    const char *user_core = getenv("OPENBLAS_CORETYPE");
    const char *policy = getenv("EMOKIT_BLAS_CORE");
    int leave_to_openblas = policy && strcmp(policy, "openblas") == 0;

    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    EmoBlasCoreSource source;
    if (handle) {
        source = EMO_BLAS_CORE_PRELOADED;
    } else if (user_core && user_core[0]) {
        source = EMO_BLAS_CORE_USER;
        handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    } else if (leave_to_openblas || chosen == NULL) {
        source = EMO_BLAS_CORE_OPENBLAS;
        handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    } else {
        source = EMO_BLAS_CORE_CHOSEN;
        setenv("OPENBLAS_CORETYPE", chosen, 1);
        handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
        unsetenv("OPENBLAS_CORETYPE");
    }
    state.info.source = source;
    state.info.source_text = source_text(source);
    if (!handle) {
        const char *why = dlerror();
        snprintf(state.error, sizeof state.error,
                 "EmoKit cannot load its BLAS library '%s' (%s). Install OpenBLAS (Debian/Ubuntu: apt-get install "
                 "libopenblas0-pthread) or set EMOKIT_BLAS_LIBRARY to the path of a CBLAS library.",
                 library, why ? why : "dlopen failed");
        state.info.error = state.error;
        return;
    }
    state.sgemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    state.cgemm = (cgemm_fn)dlsym(handle, "cblas_cgemm");
    if (!state.sgemm || !state.cgemm) {
        snprintf(state.error, sizeof state.error,
                 "EmoKit loaded '%s' but it has no cblas_sgemm/cblas_cgemm: it is not a CBLAS library. Set "
                 "EMOKIT_BLAS_LIBRARY to OpenBLAS (libopenblas.so.0) or another CBLAS.", library);
        state.info.error = state.error;
        return;
    }
    state.corename = (char *(*)(void))dlsym(handle, "openblas_get_corename");
    state.config = (char *(*)(void))dlsym(handle, "openblas_get_config");
    state.get_threads = (int (*)(void))dlsym(handle, "openblas_get_num_threads");
    state.set_threads = (void (*)(int))dlsym(handle, "openblas_set_num_threads");
    if (!state.corename) source = EMO_BLAS_CORE_NOT_OPENBLAS;
    if (state.corename && state.corename()) state.info.core = state.corename();
    /* Loaded before this copy of CEmoBLAS ran (each plugin links its own copy; the first one in the process
       loads the library): OpenBLAS read the environment then, so name the source the running core implies. */
    if (source == EMO_BLAS_CORE_PRELOADED && state.corename) {
        if (user_core && user_core[0] && strcasecmp(state.info.core, user_core) == 0)
            source = EMO_BLAS_CORE_USER;
        else if (!(user_core && user_core[0]) && chosen && !leave_to_openblas && strcasecmp(state.info.core, chosen) == 0)
            source = EMO_BLAS_CORE_CHOSEN;
    }
    if (state.config && state.config()) state.info.config = state.config();
    state.info.source = source;
    state.info.source_text = source_text(source);
    state.info.loaded = 1;
}

int emo_blas_load(char *err, size_t errlen) {
    pthread_once(&load_once, do_load);
    if (state.info.loaded) return 0;
    if (err && errlen) snprintf(err, errlen, "%s", state.error);
    return -1;
}

const EmoBlasInfo *emo_blas_info(void) {
    pthread_once(&load_once, do_load);
    return &state.info;
}

static void require_loaded(void) {
    pthread_once(&load_once, do_load);
    if (state.info.loaded) return;
    fprintf(stderr, "%s\n", state.error);
    abort();
}

/* CBLAS enum values (cblas.h): CblasRowMajor 101, CblasNoTrans 111, CblasTrans 112, CblasConjTrans 113. */
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112, CONJ_TRANS = 113 };

void emo_blas_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc) {
    require_loaded();
    state.sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb,
                beta, c, ldc);
}

static int complex_trans(int t) { return t == 2 ? CONJ_TRANS : (t ? TRANS : NO_TRANS); }

void emo_blas_cgemm(int trans_a, int trans_b, int m, int n, int k, const float *alpha, const float *a, int lda,
                    const float *b, int ldb, const float *beta, float *c, int ldc) {
    require_loaded();
    state.cgemm(ROW_MAJOR, complex_trans(trans_a), complex_trans(trans_b), m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

int emo_blas_get_num_threads(void) {
    require_loaded();
    return state.get_threads ? state.get_threads() : 1;
}

void emo_blas_set_num_threads(int n) {
    require_loaded();
    if (state.set_threads) state.set_threads(n < 1 ? 1 : n);
}
