# SPDX-License-Identifier: GPL-3.0-or-later
"""The one base class of every error a user is meant to read.

Every stage, format and backend raises a subclass of `ImageToRigError` for a
problem with the user's input or request (a file that is not an image, a face
too small, an unwritable folder ...), with a message that says what was wrong
and what to do.  Anything else escaping is a bug: the CLI and the Blender
operators report it as an internal problem with a log file.  It derives from
ValueError, so code that catches ValueError keeps working.
"""


class ImageToRigError(ValueError):
    """A problem with the user's input or request, told in plain words."""


class DocumentError(ImageToRigError):
    """A rig document (or a runtime JSON file) is not well formed."""
