"""Per-feed quality scorecards: pure tallies and their figures, the consumer that keeps them."""
