"""The inspection pipeline (docs/design.md section 7); no Qt, ui, app or ledger_core imports.

sources (frame sources, capture thread) -> mailbox (latest frame wins) -> engine (Inspector:
preprocess -> model -> quality -> records + history) ; train/dataset/augment/evaluate/perturb
for the model; orders for quality requirements; canonical for digests.
"""
