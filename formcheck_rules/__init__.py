"""Built-in form rules for the deadlift: one plugin module per rule.

They are registered by :mod:`formcheck_core.plugins` exactly like third-party plugins (each
module implements the ``register_rules`` hook). Every rule's ``check`` docstring says what it can
and cannot see; each module's docstring records how its default thresholds were chosen.
"""
