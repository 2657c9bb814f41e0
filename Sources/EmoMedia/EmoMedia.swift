// EmoMedia: see docs/architecture.md. (module contents arrive with their issue)
