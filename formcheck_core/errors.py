"""Errors a user can act on. Each message says what happened and what to do next."""

from __future__ import annotations


class FormcheckError(Exception):
    """Base class: the CLI prints ``str(error)`` on one line and exits with ``exit_code``."""

    exit_code = 1


class VideoError(FormcheckError):
    """The file is missing, not a video, empty, truncated or otherwise undecodable."""

    exit_code = 2


class ModelMissingError(FormcheckError):
    """A model file is needed but not provisioned; the message names the command that provisions it."""

    exit_code = 3


class ModelInvalidError(FormcheckError):
    """A model file exists but is corrupt or of the wrong kind."""

    exit_code = 3


class PluginError(FormcheckError):
    """A plugin could not be loaded, or implements a hook formcheck does not have."""

    exit_code = 4


class RuleConfigError(FormcheckError):
    """A threshold setting names an unknown rule, preset or threshold, or has a bad value."""

    exit_code = 4
