"""Training data and fine-tuning of the neural music model (LoRA)."""
