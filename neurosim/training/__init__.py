"""The training loop: epochs of batches through a controller, observed from outside."""
