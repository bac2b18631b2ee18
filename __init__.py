# SPDX-License-Identifier: GPL-3.0-or-later
"""Image to Rig: one illustration to a 2D rig (Blender extension entry point)."""


def register():
    from . import registration

    registration.register()


def unregister():
    from . import registration

    registration.unregister()
