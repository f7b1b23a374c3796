"""What the fault tests share: the quick/full switches, delivery, the expected views, the checks."""
