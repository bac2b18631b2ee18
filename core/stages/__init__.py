# SPDX-License-Identifier: GPL-3.0-or-later
"""The pipeline stages, each a plain function over images and the rig document."""
