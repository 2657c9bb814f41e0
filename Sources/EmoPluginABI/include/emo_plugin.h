/*
 * emo_plugin.h — the whole binary contract between the EmoKit host and its plugins.
 *
 * Usage (host side, what EmoRuntime does):
 *
 *     void *lib = dlopen("/abs/path/libEmoPluginX.so", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
 *     emo_plugin_entry_fn entry = (emo_plugin_entry_fn)dlsym(lib, EMO_PLUGIN_ENTRY_SYMBOL);
 *     const emo_plugin_descriptor *d = entry(EMO_ABI_VERSION_MAJOR, EMO_ABI_VERSION_MINOR);
 *     const emo_component *c = d->components[0];
 *     emo_instance *inst = NULL; char *err = NULL;
 *     if (c->create("{\"hidden\":[256]}", &inst, &err) != EMO_OK) { puts(err); d->free_string(err); }
 *     emo_tensor x = { .data = xs, .dtype = EMO_DTYPE_F32, .rank = 2, .shape = { 32, 60 } };
 *     emo_tensor_list out = {0};
 *     c->forward(inst, &x, 1, &out, &err);      // out.items[0] is owned by inst
 *     c->destroy(inst);                          // never dlclose a Swift library
 *
 * Plugin side, a Swift author writes one line with EmoPluginSDK:
 *
 *     @_cdecl("emo_plugin_entry")
 *     public func emo_plugin_entry(_ major: UInt32, _ minor: UInt32) -> UnsafeRawPointer? {
 *         PluginExport.entry(major, minor, plugin: "my-plugin", version: "1.0.0", components: [MyFusion.self])
 *     }
 *
 * Versioning rules (docs/plugin-abi.md has the long form):
 *   - EMO_ABI_VERSION_MAJOR changes only when an existing field or call changes meaning or layout.
 *     A host refuses any plugin whose major differs from its own.
 *   - EMO_ABI_VERSION_MINOR grows when fields are appended at the end of a struct (taking a reserved slot or
 *     growing struct_size). A host refuses a plugin built against a newer minor than its own (the plugin may
 *     rely on host behaviour the host lacks); a newer host accepts older-minor plugins and reads only the
 *     fields that struct_size says are present.
 *   - Structs are append-only. Every struct starts with struct_size so either side can tell which fields exist.
 *
 * Ownership and lifetime (every pointer in this header):
 *   - Descriptor, component and every string in them: owned by the plugin, static for the life of the process.
 *   - Input tensors passed to a call: owned by the caller, borrowed only for the duration of that call.
 *   - Output tensors written into an emo_tensor_list by a call: owned by the instance; valid until the next
 *     call on the same instance or its destroy, whichever comes first. The host copies what it keeps.
 *   - Parameter buffers (emo_param.value / .grad): owned by the instance; the addresses are stable from
 *     create to destroy, so the host's optimiser updates them in place.
 *   - Error strings (char **error): allocated by the plugin, released by the host with descriptor->free_string.
 *   - Byte blobs from save_state: allocated by the plugin, released with descriptor->free_bytes.
 *   - The buffer given to save_state_into (ABI 1.1): owned by the host, borrowed for that call.
 *   - Strings returned by describe: owned by the instance, valid until the next describe or destroy.
 *
 * Threading: one instance is used by one thread at a time. Different instances may run concurrently.
 *
 * Dimension legend used in manifests and shape comments: B batch, T frames or samples, C channels/features,
 * G feature groups, K classes.
 */
#ifndef EMO_PLUGIN_H
#define EMO_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EMO_ABI_VERSION_MAJOR 1
#define EMO_ABI_VERSION_MINOR 1

/** The one symbol every plugin library exports. */
#define EMO_PLUGIN_ENTRY_SYMBOL "emo_plugin_entry"

/** Maximum tensor rank that crosses the boundary. */
#define EMO_MAX_RANK 8

/** Status codes returned by every call. */
typedef enum emo_status {
    EMO_OK = 0,
    EMO_ERR_INVALID_ARGUMENT = 1, /**< bad config, shape or dtype; *error says which */
    EMO_ERR_UNSUPPORTED = 2,      /**< the component does not implement this call */
    EMO_ERR_INTERNAL = 3,         /**< the component failed; *error says why */
    EMO_ERR_IO = 4                /**< a file the component needed could not be read or written */
} emo_status;

/** The five component kinds. */
typedef enum emo_kind {
    EMO_KIND_EXTRACTOR = 1,  /**< clip → handcrafted vector, or clip → transcript text */
    EMO_KIND_ENCODER = 2,    /**< clip or text → embedding (pretrained network) */
    EMO_KIND_FUSION = 3,     /**< G feature groups → one fused representation (trainable) */
    EMO_KIND_CLASSIFIER = 4, /**< representation → K logits (trainable) */
    EMO_KIND_EXPLAINER = 5   /**< model + input → attributions */
} emo_kind;

/** Element types. */
typedef enum emo_dtype {
    EMO_DTYPE_F32 = 1,  /**< float32, the type of every numeric tensor */
    EMO_DTYPE_I64 = 2,  /**< int64: token ids, labels */
    EMO_DTYPE_UTF8 = 3  /**< UTF-8 bytes, rank 1, not NUL-terminated: text (transcripts) */
} emo_dtype;

/** A dense, contiguous, row-major tensor: pointer + shape + dtype. */
typedef struct emo_tensor {
    void *data;                     /**< first element; see the ownership rules above */
    int32_t dtype;                  /**< an emo_dtype */
    int32_t rank;                   /**< 0 ... EMO_MAX_RANK */
    int64_t shape[EMO_MAX_RANK];    /**< shape[0 ..< rank]; the rest is ignored */
} emo_tensor;

/** A list of tensors written by a call; items owned by the instance (see ownership rules). */
typedef struct emo_tensor_list {
    const emo_tensor *items;
    size_t count;
} emo_tensor_list;

/** One trainable parameter buffer. value and grad are float32, contiguous, of `shape`. */
typedef struct emo_param {
    uint32_t struct_size;
    const char *name;      /**< stable machine name, e.g. "branch0.linear1.weight"; owned by the instance */
    float *value;          /**< owned by the instance; address stable from create to destroy */
    float *grad;           /**< owned by the instance; backward accumulates into it, the host zeroes it */
    int32_t rank;
    int64_t shape[EMO_MAX_RANK];
    float weight_decay;    /**< the L2 coefficient the component asks the host to apply (0 = none) */
    uint32_t flags;        /**< bit 0: a statistic, not a learnable weight (e.g. batch-norm running mean) */
} emo_param;

#define EMO_PARAM_FLAG_BUFFER 1u

/** Opaque per-instance state, created by a component. */
typedef struct emo_instance emo_instance;

/**
 * The model an explainer attributes: a callable the host builds from any chain of plugins.
 * All tensors are borrowed for the duration of the call; outputs are written into caller-sized buffers.
 */
typedef struct emo_model {
    uint32_t struct_size;
    void *context;  /**< the host's; passed back to every call */
    /** Batched forward: inputs [B, ...] → scores [B, K] (caller provides `scores` with B*K floats). */
    emo_status (*forward)(void *context, const emo_tensor *inputs, float *scores, char **error);
    /**
     * d scores[b, target[b]] / d inputs for every b: writes grad with the same shape as inputs.
     * NULL when some component in the chain has no backward: gradient-based explainers must then say so.
     */
    emo_status (*gradient)(void *context, const emo_tensor *inputs, const int64_t *targets, float *grad,
                           char **error);
    int64_t num_classes;  /**< K */
    void (*free_string)(char *s); /**< releases strings the model's calls returned in *error */
    void *reserved[4];
} emo_model;

/**
 * One component: kind, identity, manifest and calls.
 * Calls a component does not support are NULL (backward, params, explain, ...).
 */
typedef struct emo_component {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    int32_t kind;                 /**< an emo_kind */
    const char *id;               /**< stable machine name, [a-z0-9-]+, unique across all plugins */
    const char *version;          /**< semantic version of the component's numerics; part of feature cache keys */
    const char *display_name;     /**< for people */
    /**
     * JSON manifest: {"inputs":[{"name","modality","dims"}], "outputs":[...], "config":{JSON-schema-like
     * properties with defaults}, "trainable":bool, "differentiable":bool, "description":string}.
     */
    const char *manifest_json;

    /** Creates an instance from a JSON config object ("{}" means all defaults). */
    emo_status (*create)(const char *config_json, emo_instance **out, char **error);
    /** Destroys an instance and everything it owns. */
    void (*destroy)(emo_instance *instance);
    /** The instance's resolved config and output spec as JSON (dims may depend on config). */
    const char *(*describe)(emo_instance *instance);

    /** Runs the component on `count` inputs; writes outputs owned by the instance. */
    emo_status (*forward)(emo_instance *instance, const emo_tensor *inputs, size_t count,
                          emo_tensor_list *outputs, char **error);
    /**
     * Vector-Jacobian product of the last forward: given d loss/d outputs (same shapes as the outputs),
     * accumulates d loss/d params into the parameter grads and writes d loss/d inputs (instance-owned).
     * NULL for black-box components.
     */
    emo_status (*backward)(emo_instance *instance, const emo_tensor *grad_outputs, size_t count,
                           emo_tensor_list *grad_inputs, char **error);

    /** Training mode on (dropout, batch statistics) or off. NULL when the component has no such mode. */
    emo_status (*set_training)(emo_instance *instance, int32_t training);
    /** Number of parameter buffers (0 for non-trainable). */
    size_t (*param_count)(emo_instance *instance);
    /** Fills *out with parameter `index` (0 ..< param_count). */
    emo_status (*param_at)(emo_instance *instance, size_t index, emo_param *out);
    /** Serialises everything needed to restore the instance (weights + statistics). */
    emo_status (*save_state)(emo_instance *instance, uint8_t **bytes, size_t *length, char **error);
    /** Restores state written by save_state of the same component id and major version. */
    emo_status (*load_state)(emo_instance *instance, const uint8_t *bytes, size_t length, char **error);

    /**
     * Explainers only: attributions of `model` for `input` [B, ...] (B rows explained independently)
     * towards targets [B]; `baseline` may be NULL (the explainer's configured baseline).
     * Writes attributions (same shape as input) and, when the method has one, a convergence delta per row
     * (outputs[1], shape [B]).
     */
    emo_status (*explain)(emo_instance *instance, const emo_model *model, const emo_tensor *input,
                          const emo_tensor *baseline, const int64_t *targets, emo_tensor_list *outputs,
                          char **error);

    /**
     * ABI 1.1, optional (NULL, or a plugin built for 1.0: use save_state). The size of the state save_state_into
     * writes now. The host calls it, then save_state_into with a buffer of exactly that size and no other call on
     * the instance in between.
     */
    emo_status (*state_size)(emo_instance *instance, size_t *length, char **error);
    /**
     * ABI 1.1, optional, with state_size: writes save_state's bytes into `bytes` (`length` from state_size), memory
     * the host owns. One copy of the state fewer than save_state + free_bytes, which matters for the hundreds of
     * megabytes of a fine-tuned encoder.
     */
    emo_status (*save_state_into)(emo_instance *instance, uint8_t *bytes, size_t length, char **error);

    void *reserved[6];
} emo_component;

/** What emo_plugin_entry returns: the plugin's identity and its components. */
typedef struct emo_plugin_descriptor {
    uint32_t struct_size;
    uint16_t abi_major;           /**< the ABI the plugin was built against */
    uint16_t abi_minor;
    const char *plugin_id;        /**< stable machine name of the library, [a-z0-9-]+ */
    const char *plugin_version;
    size_t component_count;
    const emo_component *const *components;
    /** Releases an error string returned by any call of this plugin. */
    void (*free_string)(char *s);
    /** Releases a byte blob returned by save_state. */
    void (*free_bytes)(uint8_t *bytes);
    void *reserved[8];
} emo_plugin_descriptor;

/**
 * The entry point. The host passes its own ABI version; the plugin returns its descriptor, or NULL when it
 * cannot serve a host of that major version. The descriptor is static: calling entry twice returns the same one.
 */
typedef const emo_plugin_descriptor *(*emo_plugin_entry_fn)(uint32_t host_abi_major, uint32_t host_abi_minor);

/** The ABI version compiled into this module (the macros above, as callable values for Swift). */
uint32_t emo_abi_version_major(void);
uint32_t emo_abi_version_minor(void);

#ifdef __cplusplus
}
#endif

#endif /* EMO_PLUGIN_H */
