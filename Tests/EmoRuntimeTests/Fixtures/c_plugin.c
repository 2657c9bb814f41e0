/*
 * A plugin written in plain C against emo_plugin.h, compiled by the runtime tests with -DVARIANT_<NAME>:
 *   GOOD     one component "c-scale" (forward y = 2x, backward dx = 2 dy); proves the ABI is language-neutral
 *   MAJOR    descriptor claims ABI major EMO_ABI_VERSION_MAJOR + 1
 *   MINOR    descriptor claims ABI minor EMO_ABI_VERSION_MINOR + 1
 *   CRASH    entry point dereferences NULL
 *   HANG     entry point sleeps forever
 *   NOENTRY  exports no entry symbol
 *   NULLDESC entry point returns NULL
 *   FORK     a load-time constructor forks a child that ignores SIGTERM and sleeps (its pid written to
 *            $EMO_TEST_PIDFILE), then the entry point hangs
 *   FORKGOOD the same child, then the entry point answers as GOOD does
 *   CREATECRASH / CREATEHANG  loads and probes as GOOD, but create() dereferences NULL / sleeps forever
 * COMPONENT_ID may be defined to rename the component (duplicate-id test).
 */
#include "emo_plugin.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef COMPONENT_ID
#define COMPONENT_ID "c-scale"
#endif

typedef struct { float *out; size_t cap; emo_tensor tensor; } scale_state;

static emo_status scale_create(const char *config, emo_instance **out, char **error) {
    (void)config; (void)error;
#if defined(VARIANT_CREATECRASH)
    *(volatile int *)0 = 1;
#elif defined(VARIANT_CREATEHANG)
    for (;;) sleep(1);
#endif
    scale_state *s = calloc(1, sizeof(scale_state));
    *out = (emo_instance *)s;
    return EMO_OK;
}

static void scale_destroy(emo_instance *inst) {
    scale_state *s = (scale_state *)inst;
    free(s->out);
    free(s);
}

static const char *scale_describe(emo_instance *inst) { (void)inst; return "{\"config\":{}}"; }

static emo_status scale_apply(emo_instance *inst, const emo_tensor *in, size_t count, emo_tensor_list *out, char **error) {
    scale_state *s = (scale_state *)inst;
    if (count != 1 || in[0].dtype != EMO_DTYPE_F32) { *error = strdup("c-scale: expected one float32 tensor"); return EMO_ERR_INVALID_ARGUMENT; }
    size_t n = 1;
    for (int i = 0; i < in[0].rank; i++) n *= (size_t)in[0].shape[i];
    if (n > s->cap) { free(s->out); s->out = malloc(n * sizeof(float)); s->cap = n; }
    const float *x = (const float *)in[0].data;
    for (size_t i = 0; i < n; i++) s->out[i] = 2.0f * x[i];
    s->tensor = in[0];
    s->tensor.data = s->out;
    out->items = &s->tensor;
    out->count = 1;
    return EMO_OK;
}

static void free_string(char *p) { free(p); }
static void free_bytes(uint8_t *p) { free(p); }

static emo_component scale_component = {
    .struct_size = sizeof(emo_component),
    .abi_major = EMO_ABI_VERSION_MAJOR,
    .abi_minor = EMO_ABI_VERSION_MINOR,
    .kind = EMO_KIND_FUSION,
    .id = COMPONENT_ID,
    .version = "1.0.0",
    .display_name = "C scale-by-two",
    .manifest_json = "{\"description\":\"y = 2x\",\"config\":{}}",
    .create = scale_create,
    .destroy = scale_destroy,
    .describe = scale_describe,
    .forward = scale_apply,
    .backward = scale_apply,
};

static const emo_component *components[] = { &scale_component };

static emo_plugin_descriptor descriptor = {
    .struct_size = sizeof(emo_plugin_descriptor),
    .abi_major = EMO_ABI_VERSION_MAJOR,
    .abi_minor = EMO_ABI_VERSION_MINOR,
    .plugin_id = "c-fixture",
    .plugin_version = "1.0.0",
    .component_count = 1,
    .components = components,
    .free_string = free_string,
    .free_bytes = free_bytes,
};

#if defined(VARIANT_FORK) || defined(VARIANT_FORKGOOD)
#include <stdio.h>
__attribute__((constructor)) static void fork_a_stubborn_child(void) {
    pid_t child = fork();
    if (child == 0) {
        signal(SIGTERM, SIG_IGN);
        for (;;) sleep(1);
    }
    const char *file = getenv("EMO_TEST_PIDFILE");
    if (file && child > 0) {
        FILE *f = fopen(file, "w");
        if (f) { fprintf(f, "%d\n", (int)child); fclose(f); }
    }
}
#endif

#ifndef VARIANT_NOENTRY
const emo_plugin_descriptor *emo_plugin_entry(uint32_t major, uint32_t minor) {
    (void)major; (void)minor;
#if defined(VARIANT_MAJOR)
    descriptor.abi_major = EMO_ABI_VERSION_MAJOR + 1;
#elif defined(VARIANT_MINOR)
    descriptor.abi_minor = EMO_ABI_VERSION_MINOR + 1;
#elif defined(VARIANT_CRASH)
    *(volatile int *)0 = 1;  /* a real fault, not raise(): the crash the host must survive */
#elif defined(VARIANT_HANG) || defined(VARIANT_FORK)
    for (;;) sleep(1);
#elif defined(VARIANT_NULLDESC)
    return NULL;
#endif
    return &descriptor;
}
#else
int not_a_plugin(void) { return 42; }
#endif
