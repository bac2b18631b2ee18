# SPDX-License-Identifier: GPL-3.0-or-later
"""Files: model.json, Cubism files, PSD in and out, images, atlas, the export folder."""
