# SPDX-License-Identifier: GPL-3.0-or-later
"""The rig document and pure document maths (no I/O, no pipeline)."""
