"""What is simulated: topologies and the networks built on them."""
