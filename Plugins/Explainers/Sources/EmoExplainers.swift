// EmoExplainers: attribution methods that work on any chain the host can run, through `ExplainableModel` only.
//
//   integrated-gradients  IntegratedGradients/  gradients along a straight path from a baseline (Captum's IG)
//   occlusion             Occlusion/            sliding-window perturbation, model-agnostic (Captum's Occlusion)
//   modality-masking      Groups/               drop one feature group, re-predict (Captum's FeatureAblation
//                                               with a group mask); plus per-group totals of any attribution
//
// Dimension legend: docs/numerics.md. Used here: B rows (batch), Y classes, E elements of one row, C the last
// dimension, G feature groups; n_steps (points on the integration path) is a count, not a dimension.
// Definitions and their sources: Plugins/Explainers/README.md.
