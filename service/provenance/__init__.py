"""What was said and where it came from: messages, tags, observation, policies, the Redis store."""
