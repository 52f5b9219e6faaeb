"""The pieces scripts/make_board_corpus.py writes the board-reading corpus from."""
