// EmoFusion: arrives with its issue.
