"""The view store: SQLAlchemy models and the data functions over them."""
