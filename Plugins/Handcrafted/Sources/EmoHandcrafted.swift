// EmoHandcrafted: arrives with its issue.
