# SPDX-License-Identifier: GPL-3.0-or-later
"""Development fixtures that are not product: the sample character, the synthetic
character generator, the tearing check and tiny test models.  Left out of the extension zip."""
