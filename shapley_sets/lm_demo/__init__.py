"""shapley-sets demo-lm."""
