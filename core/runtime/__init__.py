# SPDX-License-Identifier: GPL-3.0-or-later
"""Evaluating, rendering and simulating a rig document (depends on core.model only)."""
