# SPDX-License-Identifier: GPL-3.0-or-later
"""Image to Rig core: the rig document and the pipeline stages. Never imports bpy."""
