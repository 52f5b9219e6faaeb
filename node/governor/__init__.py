"""IF.governor: who may take what. Sans-IO, folded by the board's reducer, alike on every node."""
