"""Stands in for IPython in the processes the tests start (``tests/conftest.py``).

Keras imports IPython when it is installed, only to show things in a notebook; that
costs each process 0.5 s of the 5 s it takes to load TensorFlow here, and no test
uses it. Keras treats the ImportError as "not installed".
"""

raise ImportError("IPython is hidden from the processes the tests start")
