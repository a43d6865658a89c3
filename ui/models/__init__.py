"""The Models perspective: train the inspection model on a worker, show model cards."""
