// EmoTextEncoders: arrives with its work.
