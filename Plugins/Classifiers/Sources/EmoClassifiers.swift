// EmoClassifiers: arrives with its issue.
