// EmoExplainers: arrives with its issue.
