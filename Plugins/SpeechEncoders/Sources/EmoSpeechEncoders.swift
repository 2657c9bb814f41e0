// EmoSpeechEncoders: arrives with its issue.
