"""The ``shapley-sets`` command line."""
