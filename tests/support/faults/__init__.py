"""What the fault tests share: the quick/full switches, delivery, the truth and the checks."""
