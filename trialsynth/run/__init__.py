"""Running trials: the pipeline (one trial), the sequence of its steps, isolation in a child
process, and the comparison of methods on one trial."""
