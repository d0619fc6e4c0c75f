"""Planning: the problem instance, the CP-SAT model, the greedy baseline, the validator."""
