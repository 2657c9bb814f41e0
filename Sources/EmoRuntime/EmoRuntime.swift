// EmoRuntime
