# SPDX-License-Identifier: GPL-3.0-or-later
"""Layer materials: the layer's image, unlit, straight alpha, in draw order.

Each layer gets a packed sRGB image (straight alpha) and a material that emits
its colour and mixes with a transparent BSDF by its alpha, as core/runtime/render.py
composites.  The alpha is multiplied by the layer's opacity: a constant, or,
for layers with opacity keyforms, the mesh object's driven ``K.ALPHA``
(an Object attribute; scene/drivers.py makes the driver).  Clip masks add
their nodes later (scene/clip.py).
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core.model.document import Layer
from . import compat
from . import keys as K


def layer_material(layer: Layer, index: int, faded: bool, track=lambda block: block):
    """(image, material) of one layer; `faded`: its alpha follows the object's K.ALPHA.

    `track` is called on each new data-block as soon as it exists (the builder
    removes them again when the build fails)."""
    h, w = layer.image.shape[:2]
    img = track(bpy.data.images.new(layer.id, max(w, 1), max(h, 1), alpha=True))
    img.alpha_mode = "STRAIGHT"
    img.colorspace_settings.name = "sRGB"
    if w and h:
        pixels = np.ascontiguousarray(layer.image[::-1], np.float32).ravel() / 255.0
        img.pixels.foreach_set(pixels)
    img.pack()
    img[K.LAYER] = layer.id
    mat = track(bpy.data.materials.new(layer.id))
    nt = compat.material_node_tree(mat)
    nt.nodes.clear()
    tex = nt.nodes.new("ShaderNodeTexImage")
    tex.image = img
    tex.interpolation = "Linear"
    tex.extension = "CLIP"
    tex.location = (-600, 0)
    emit = nt.nodes.new("ShaderNodeEmission")
    emit.inputs["Strength"].default_value = 1.0
    emit.location = (-300, -100)
    transparent = nt.nodes.new("ShaderNodeBsdfTransparent")
    transparent.location = (-300, 100)
    mix = nt.nodes.new("ShaderNodeMixShader")
    mix.location = (0, 0)
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    out.location = (250, 0)
    links = nt.links
    links.new(tex.outputs["Color"], emit.inputs["Color"])
    alpha = tex.outputs["Alpha"]
    if faded:
        # Per-object driven opacity (layer opacity included): see build_opacity.
        attr = nt.nodes.new("ShaderNodeAttribute")
        attr.attribute_type = "OBJECT"
        attr.attribute_name = K.ALPHA
        attr.location = (-600, 250)
        mult = nt.nodes.new("ShaderNodeMath")
        mult.operation = "MULTIPLY"
        mult.location = (-300, 250)
        links.new(alpha, mult.inputs[0])
        links.new(attr.outputs["Fac"], mult.inputs[1])
        alpha = mult.outputs[0]
        mat[K.OPACITY_ATTRIBUTE] = K.ALPHA
    elif layer.opacity != 1.0:
        mult = nt.nodes.new("ShaderNodeMath")
        mult.operation = "MULTIPLY"
        mult.inputs[1].default_value = float(layer.opacity)
        mult.location = (-300, 250)
        links.new(alpha, mult.inputs[0])
        alpha = mult.outputs[0]
    links.new(alpha, mix.inputs["Fac"])
    links.new(transparent.outputs[0], mix.inputs[1])
    links.new(emit.outputs[0], mix.inputs[2])
    links.new(mix.outputs[0], out.inputs["Surface"])
    mat.surface_render_method = "BLENDED"
    mat.use_backface_culling = False
    mat[K.LAYER] = layer.id
    mat[K.LAYER_INDEX] = index
    return img, mat
