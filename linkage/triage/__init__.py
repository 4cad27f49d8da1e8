"""Triage (非警务类警情甄别): the rules' reading, the learned model, the decision, and training."""
