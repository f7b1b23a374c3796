"""What the tests share: factories, readers of the broker and the stores, the hub under test.

Test modules import their helpers from here and never from one another;
``tests/test_architecture.py`` checks it. Fixtures stay in the ``conftest.py`` files, where
pytest finds them.
"""
